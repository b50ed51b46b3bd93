"""The one message catalogue of Tsunagu: pages, the command line and the libraries.

Messages are written in the code in English (the gettext msgid); the catalogue under
``directory/translations/<lang>/LC_MESSAGES/messages.po`` gives the Japanese (the default
language) and the English (msgstr = msgid, so it can be reworded without touching code).
The ``.po`` files are read and compiled in memory once per language, so there is no
build step and no binary in the repository. Flask-Babel (:mod:`web.i18n`) and the
``tsunagu`` command line read the same catalogue through :func:`translations`.

Python code formats with ``str.format`` placeholders (``{name}``), Jinja templates with
``%(name)s`` (Jinja's i18n convention). Mark a message that is translated later with
:func:`N_` so the extractor finds it.

This is the lowest layer: it imports neither Flask nor :mod:`web`.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

__all__ = [
    "DEFAULT_LANG",
    "DOMAIN",
    "LANGUAGES",
    "N_",
    "TRANSLATIONS_DIR",
    "LocalisedError",
    "LocalisedText",
    "gettext",
    "ngettext",
    "normalise",
    "po_path",
    "translate",
    "translations",
]

DOMAIN = "messages"
DEFAULT_LANG = "ja"
LANGUAGES = ("ja", "en")
TRANSLATIONS_DIR = Path(__file__).resolve().parent / "translations"


def N_(msgid: str) -> str:
    """Mark ``msgid`` for the catalogue without translating it now."""
    return msgid


def normalise(lang: str | None) -> str:
    """'en', 'en_US', 'en-GB.UTF-8' → 'en'; anything not in :data:`LANGUAGES` → 'ja'."""
    code = (lang or "").replace("-", "_").split("_")[0].split(".")[0].lower()
    return code if code in LANGUAGES else DEFAULT_LANG


def po_path(lang: str) -> Path:
    return TRANSLATIONS_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def translations(lang: str = DEFAULT_LANG) -> NullTranslations:
    """The compiled catalogue of ``lang`` (cached; fuzzy entries are left out)."""
    lang = normalise(lang)
    path = po_path(lang)
    if not path.exists():  # pragma: no cover - the package ships both languages
        return NullTranslations()
    with path.open("rb") as fp:
        catalog = read_po(fp, locale=lang, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def translate(msgid: str, lang: str = DEFAULT_LANG, /, **params: Any) -> str:
    """``msgid`` in ``lang``, its ``{placeholders}`` filled with ``params``."""
    text = translations(lang).gettext(msgid)
    return text.format(**params) if params else text


def ngettext(singular: str, plural: str, n: int, lang: str = DEFAULT_LANG, /, **params: Any) -> str:
    """The singular or plural form for ``n`` in ``lang`` (``{n}`` is available)."""
    text = translations(lang).ngettext(singular, plural, n)
    return text.format(n=n, **params)


def gettext(lang: str = DEFAULT_LANG) -> Callable[..., str]:
    """A ``_(msgid, **params)`` bound to ``lang``: ``_ = gettext(lang)``."""

    def _(msgid: str, /, **params: Any) -> str:
        return translate(msgid, lang, **params)

    return _


class LocalisedText(str):
    """A catalogue message that can still be told in another language: ``str()`` is its
    Japanese (the default language), :meth:`describe` any language. Used where a text
    crosses a layer as a plain string (an exception's message, an HTTP description)."""

    msgid: str
    params: dict[str, Any]

    def __new__(cls, msgid: str, /, **params: Any) -> LocalisedText:
        text = super().__new__(cls, translate(msgid, DEFAULT_LANG, **params))
        text.msgid = msgid
        text.params = params
        return text

    def describe(self, lang: str = DEFAULT_LANG) -> str:
        return translate(self.msgid, lang, **self.params)


class LocalisedError(Exception):
    """An error whose message is a catalogue msgid: ``str()`` is Japanese,
    :meth:`describe` gives any language (the CLI and the pages call it)."""

    def __init__(self, msgid: str, /, **params: Any) -> None:
        self.msgid = msgid
        self.params = params
        super().__init__(translate(msgid, DEFAULT_LANG, **params))

    def describe(self, lang: str = DEFAULT_LANG) -> str:
        return translate(self.msgid, lang, **self.params)

"""The pages' language: Flask-Babel over the one catalogue of :mod:`directory.i18n`.

The language of a request is ``?lang=`` (remembered in a ``lang`` cookie), else the
``lang`` cookie, else the browser's Accept-Language, else Japanese. Templates use
``_("English msgid", name=value)`` (Jinja's ``%(name)s`` placeholders); Python code in
``web`` uses :func:`_` (``{name}`` placeholders, like the libraries).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from babel.support import NullTranslations
from flask import Flask, Response, current_app, g, has_request_context, request
from flask_babel import (  # type: ignore[import-untyped]
    Babel,
    Domain,
    get_translations,
)
from jinja2.runtime import Context
from jinja2.utils import pass_context
from markupsafe import Markup

from directory.i18n import (
    DEFAULT_LANG,
    LANGUAGES,
    TRANSLATIONS_DIR,
    normalise,
    translate,
    translations,
)

COOKIE = "lang"


def select_lang() -> str:
    """The language of this request (see the module's docstring)."""
    asked = request.args.get("lang") or request.cookies.get(COOKIE)
    if asked in LANGUAGES:
        return asked
    return request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LANG) or DEFAULT_LANG


def current_lang() -> str:
    """The language of the current request ('ja' outside a request)."""
    if not has_request_context():
        return DEFAULT_LANG
    lang = g.get("_lang")  # every message on a page asks: decide once per request
    if lang is None:
        # select_lang itself, not Flask-Babel's get_locale (which parses a babel Locale
        # from it only for us to turn it back into the same code)
        lang = g._lang = normalise(select_lang())
    return lang


def _(msgid: str, /, **params: Any) -> str:
    """``msgid`` in the request's language, ``{placeholders}`` filled with ``params``."""
    return translate(msgid, current_lang(), **params)


class CatalogueDomain(Domain):
    """Flask-Babel's domain reading :mod:`directory.i18n`'s compiled-in-memory catalogue
    (there is no ``.mo`` on disk)."""

    def get_translations(self) -> NullTranslations:
        return translations(current_lang())


class _Babel(Babel):
    @cached_property
    def domain_instance(self) -> Domain:
        return CatalogueDomain()


#: The template context's name for the request's catalogue (put there with ``current_lang``).
CATALOGUE = "tsunagu_catalogue"


def _page_translations(context: Context) -> NullTranslations:
    """The request's catalogue: from the page's context (one dict lookup), else the
    request's (a macro of a template imported without context), else Flask-Babel's
    (outside a request)."""
    found: NullTranslations | None = context.get(CATALOGUE)
    if found is not None:
        return found
    if has_request_context():
        return translations(current_lang())
    found = get_translations()
    assert found is not None
    return found


# Templates call ``_()`` a few hundred times a page. Flask-Babel's callables reach the
# catalogue through three ``Context.call``s and its domain and locale lookups each time;
# these do what Jinja's newstyle gettext does (escape unless autoescape is off, then always
# ``%``-format, so ``%%`` is ``%`` and ``%(name)s`` takes an escaped value) in one step.
@pass_context
def _template_gettext(context: Context, string: str, /, **variables: Any) -> str:
    rv = _page_translations(context).gettext(string)
    if context.eval_ctx.autoescape:
        rv = Markup(rv)
    if not variables and "%" not in rv:
        return rv  # what ``rv % {}`` gives, without the formatting
    return rv % variables


@pass_context
def _template_ngettext(
    context: Context, singular: str, plural: str, num: int, /, **variables: Any
) -> str:
    variables.setdefault("num", num)
    rv = _page_translations(context).ngettext(singular, plural, num)
    if context.eval_ctx.autoescape:
        rv = Markup(rv)
    return rv % variables


def remember_choice(response: Response, cookie: str, choices: tuple[str, ...]) -> None:
    """A display choice made with ``?cookie=value`` (language, text size) kept for a year
    in a cookie of that name, so the next page needs no query."""
    asked = request.args.get(cookie)
    if asked in choices and request.cookies.get(cookie) != asked:
        response.set_cookie(
            cookie,
            asked,
            max_age=365 * 24 * 3600,
            samesite="Lax",
            httponly=True,
            secure=bool(current_app.config.get("HTTPS")),
        )


def _remember(response: Response) -> Response:
    remember_choice(response, COOKIE, tuple(LANGUAGES))
    response.headers.add("Content-Language", current_lang())
    response.vary.update(("Accept-Language", "Cookie"))
    return response


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANG)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    _Babel(app, locale_selector=select_lang)
    app.jinja_env.globals.update(
        _=_template_gettext, gettext=_template_gettext, ngettext=_template_ngettext
    )
    app.after_request(_remember)

    @app.context_processor
    def _lang() -> dict[str, Any]:
        lang = current_lang()
        return {"current_lang": lang, CATALOGUE: translations(lang)}

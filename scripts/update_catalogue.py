"""Bring the message catalogue up to date with the code (``python scripts/update_catalogue.py``).

Extracts every msgid used in ``directory``, ``matching``, ``maps`` and ``web`` (Python:
``_``, ``N_``, ``translate``, ``ngettext``; Jinja templates: ``_``, ``gettext``,
``{% trans %}``) and click's own messages, then rewrites
``directory/translations/{ja,en}/LC_MESSAGES/messages.po``: existing translations are
kept, new msgids are added (English: the msgid itself; Japanese: from ``--pairs
FILE.json`` ``{msgid: 日本語}`` if given, else empty, and listed), msgids no longer used
are dropped. ``--check`` changes nothing and fails when the catalogue is not current.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import click
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from directory.i18n import DOMAIN, po_path  # noqa: E402

HEADER = """\
# The Tsunagu message catalogue ({lang}): pages, the command line and the libraries.
# msgid is the English source text. Edit msgstr here; after changing messages in the code
# run `python scripts/update_catalogue.py` (tests/test_i18n.py checks this file is complete).
#"""
KEYWORDS = {"_": None, "N_": None, "translate": (1,), "ngettext": (1, 2), "gettext": None}
PACKAGES = ("directory", "matching", "maps", "web")
METHODS = [
    ("**/templates/**.html", "jinja2"),
    ("**.py", "python"),
]
CLICK_DIR = Path(click.__file__).resolve().parent
CLICK_MODULES = (
    "core.py",
    "decorators.py",
    "exceptions.py",
    "formatting.py",
    "parser.py",
    "termui.py",
    "types.py",
    "utils.py",
)


@dataclass
class Entry:
    msgid: str | tuple[str, str]
    locations: list[tuple[str, None]] = field(default_factory=list)
    python_format: bool = False


def _extract(
    dirname: Path, prefix: str, only: tuple[str, ...] | None = None
) -> Iterator[tuple[str, str | tuple[str, ...]]]:
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        str(dirname),
        METHODS,
        keywords=KEYWORDS,
        options_map={"**/templates/**.html": {"extensions": "jinja2.ext.i18n"}},
    ):
        if only is not None and filename not in only:
            continue
        yield f"{prefix}/{filename}", message


def extract() -> dict[str | tuple[str, str], Entry]:
    """Every msgid of the code, templates and click, in a stable order."""
    found: dict[str | tuple[str, str], Entry] = {}
    sources = [(ROOT / p, p, None) for p in PACKAGES]
    sources.append((CLICK_DIR, "click", CLICK_MODULES))
    for dirname, prefix, only in sources:
        for filename, message in _extract(dirname, prefix, only):
            parts = message if isinstance(message, tuple) else (message,)
            if not parts or not parts[0]:
                continue  # a call with a non-literal argument, e.g. translate(MESSAGES[c])
            key: str | tuple[str, str] = (
                (parts[0], parts[1]) if len(parts) > 1 and parts[1] else parts[0]
            )
            entry = found.setdefault(key, Entry(key))
            if (filename, None) not in entry.locations:
                entry.locations.append((filename, None))
    for msgid in cli_help():
        entry = found.setdefault(msgid, Entry(msgid))
        if (CLI_HELP, None) not in entry.locations:
            entry.locations.append((CLI_HELP, None))
    return found


#: The location noted for the command line's help texts (docstrings, ``help="…"``).
CLI_HELP = "web/cli (--help)"


def cli_help() -> list[str]:
    """The help texts of every ``tsunagu`` command and option, as :func:`web.cli._common.
    localise_help` looks them up (docstrings are not calls, so babel does not see them)."""
    from web.cli import main as cli
    from web.cli._common import help_msgids

    return help_msgids(cli)


def _load(lang: str) -> Catalog | None:
    path = po_path(lang)
    if not path.exists():
        return None
    with path.open("rb") as fp:
        return read_po(fp, locale=lang, domain=DOMAIN)


def build(
    lang: str, entries: dict[str | tuple[str, str], Entry], pairs: dict[str, str | list[str]]
) -> tuple[Catalog, list[str]]:
    old = _load(lang)
    dates = (
        {}
        if old is None
        else {"creation_date": old.creation_date, "revision_date": old.revision_date}
    )
    catalog = Catalog(
        locale=lang,
        domain=DOMAIN,
        project="Tsunagu",
        version="0.1",
        header_comment=HEADER.format(lang=lang),
        charset="utf-8",
        fuzzy=False,
        last_translator="Tsunagu",
        language_team=lang,
        **dates,
    )
    missing: list[str] = []
    for key, entry in entries.items():
        msgid = key if isinstance(key, str) else key[0]
        before = old.get(msgid) if old is not None else None
        string: str | tuple[str, ...]
        if before is not None and before.string and not before.fuzzy:
            string = before.string
        elif lang == "en":
            string = key
        elif msgid in pairs:
            given = pairs[msgid]
            string = tuple(given) if isinstance(given, list) else given
        else:
            string = "" if isinstance(key, str) else ("",)
            missing.append(msgid)
        if isinstance(key, tuple) and isinstance(string, str):
            string = (string,) * catalog.num_plurals
        catalog.add(key, string, locations=entry.locations)
    return catalog, missing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=Path, help="JSON {msgid: Japanese} for new msgids")
    parser.add_argument("--check", action="store_true", help="fail if the catalogue is stale")
    args = parser.parse_args()
    pairs = json.loads(args.pairs.read_text(encoding="utf-8")) if args.pairs else {}
    entries = extract()
    status = 0
    for lang in ("ja", "en"):
        catalog, missing = build(lang, entries, pairs)
        path = po_path(lang)
        buffer = io.BytesIO()
        write_po(
            buffer,
            catalog,
            include_lineno=False,
            width=100,
            omit_header=False,
            no_location=False,
            include_previous=False,
        )
        text = buffer.getvalue()
        if args.check:
            if not path.exists() or path.read_bytes() != text:
                print(f"{path}: not up to date (run scripts/update_catalogue.py)", file=sys.stderr)
                status = 1
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(text)
        for msgid in missing:
            print(f"{lang}: no translation: {msgid!r}", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())

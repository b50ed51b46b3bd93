"""The category taxonomy: what the 16 categories are called, how they nest, how they look.

``directory/data/taxonomy.json`` is the single source of truth (DATA_FORMATS.md §1): import,
search, matching, maps and the UI all read it through :func:`load_taxonomy`, and
``tsunagu db upgrade`` mirrors it into the ``category`` table. Users write categories in
many spellings (サロン, ｻﾛﾝ, さろん, salon, ふれあい・いきいきサロン), so every code, label
and synonym is indexed by its :func:`directory.text.normalize` key *and* by its
:func:`directory.text.reading`, and :meth:`Taxonomy.resolve` is a dict lookup.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from rapidfuzz import fuzz, process

from directory.errors import DirectoryError, UnknownCategoryError
from directory.text import normalize, reading

__all__ = [
    "DEFAULT_PATH",
    "Category",
    "Taxonomy",
    "TaxonomyError",
    "load_taxonomy",
    "meets",
    "resolve",
    "resolve_many",
    "split_categories",
]

DEFAULT_PATH = Path(__file__).with_name("data") / "taxonomy.json"

_FIELDS = ("code", "label_ja", "label_en", "parent", "synonyms", "colour", "icon")
_OPTIONAL = ("reference",)
_COLOUR = re.compile(r"#[0-9A-Fa-f]{6}")
# Separators between categories in one cell. Never ・: it is part of labels
# (見守り・安否確認, ふれあい・いきいきサロン). ､ is the half-width 、.
_SEPARATORS = re.compile(r"[;；、､,，\r\n]")
_SUGGESTION_CUTOFF = 60.0
_MAX_SUGGESTIONS = 3


class TaxonomyError(DirectoryError, ValueError):
    """The taxonomy file is broken. Raised at load time, naming the offending entry."""


@dataclass(frozen=True)
class Category:
    """One category. ``colour`` (#rrggbb) and ``icon`` (a Font Awesome 4 name) are for maps."""

    code: str
    label_ja: str
    label_en: str
    parent: str | None
    synonyms: tuple[str, ...]
    colour: str
    icon: str
    # A reference category (DATA_FORMATS §1: 相談窓口, 介護保険の施設・事業所, 医療機関…):
    # imported, searched and mapped, but a need is matched to it only when it names it.
    reference: bool = False

    def label(self, lang: str = "ja") -> str:
        """The label in ``lang`` ('ja' or 'en'; anything else gives Japanese)."""
        return self.label_en if lang == "en" else self.label_ja

    def spellings(self) -> tuple[str, ...]:
        """Every text that names this category: code, labels and synonyms."""
        return (self.code, self.label_ja, self.label_en, *self.synonyms)


def split_categories(cell: str | None) -> list[str]:
    """Split a 種別 cell into category texts: on ; ； 、 , ， and line breaks, never on ・.

    Items are stripped (including the ideographic space) and empty items dropped, so
    "サロン、 見守り・安否確認;;" gives ["サロン", "見守り・安否確認"].
    """
    if not cell:
        return []
    return [part for part in (p.strip() for p in _SEPARATORS.split(cell)) if part]


class Taxonomy:
    """The categories by code, their tree, and an index from every spelling to a code.

    Built from :class:`Category` objects (normally by :func:`load_taxonomy`); validates
    that codes are unique, parents exist and form no cycle, and that no spelling (by key
    or by reading) names two categories, so :meth:`resolve` can never be ambiguous.
    """

    def __init__(self, categories: Iterable[Category]):
        by_code: dict[str, Category] = {}
        for cat in categories:
            if cat.code in by_code:
                raise TaxonomyError(f"duplicate code {cat.code!r}")
            by_code[cat.code] = cat
        self.categories: Mapping[str, Category] = MappingProxyType(by_code)

        colours: dict[str, str] = {}
        for cat in by_code.values():
            other = colours.setdefault(cat.colour.upper(), cat.code)
            if other != cat.code:
                raise TaxonomyError(
                    f"categories {other!r} and {cat.code!r} have the same colour {cat.colour}"
                )

        children: dict[str, list[str]] = {code: [] for code in by_code}
        for cat in by_code.values():
            if cat.parent is None:
                continue
            if cat.parent not in by_code:
                raise TaxonomyError(f"category {cat.code!r} has an unknown parent {cat.parent!r}")
            children[cat.parent].append(cat.code)
        self._children = {code: tuple(kids) for code, kids in children.items()}

        self._ancestors: dict[str, tuple[str, ...]] = {}
        for code in by_code:
            path: list[str] = []
            parent = by_code[code].parent
            while parent is not None:
                if parent == code or parent in path:
                    raise TaxonomyError(f"the parents of {code!r} form a cycle")
                path.append(parent)
                parent = by_code[parent].parent
            self._ancestors[code] = tuple(path)

        self.reference_codes = frozenset(c.code for c in by_code.values() if c.reference)
        descendants: dict[str, set[str]] = {code: {code} for code in by_code}
        for code, chain in self._ancestors.items():
            for ancestor in chain:
                # A reference category meets only a need that names it (§1): it is not
                # among the descendants of its parent (介護予防 is not met by 通所型サービス).
                if code not in self.reference_codes and not (
                    set(chain[: chain.index(ancestor)]) & self.reference_codes
                ):
                    descendants[ancestor].add(code)
        self._descendants = {code: frozenset(codes) for code, codes in descendants.items()}

        self.keys: Mapping[str, str] = MappingProxyType(self._build_index(by_code.values()))
        self._key_list = tuple(self.keys)

    @staticmethod
    def _build_index(categories: Iterable[Category]) -> dict[str, str]:
        index: dict[str, str] = {}
        named_by: dict[str, str] = {}  # key → the spelling that produced it, for messages
        for cat in categories:
            for spelling in cat.spellings():
                key = normalize(spelling)
                if not key:
                    raise TaxonomyError(f"category {cat.code!r} has an empty label or synonym")
                # A label written with its ・ dropped (見守り安否確認) names it too.
                keys = {key, reading(spelling)}
                keys |= {k.replace("・", "") for k in keys if "・" in k}
                for k in sorted(keys):
                    other = index.setdefault(k, cat.code)
                    if other != cat.code:
                        raise TaxonomyError(
                            f"{spelling!r} of {cat.code!r} and {named_by[k]!r} of {other!r} "
                            f"are the same key {k!r}; a spelling may name one category only"
                        )
                    named_by.setdefault(k, spelling)
        return index

    # --- lookup ---------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.categories)

    def __iter__(self) -> Iterator[Category]:
        return iter(self.categories.values())

    def __contains__(self, code: object) -> bool:
        return code in self.categories

    def __getitem__(self, code: str) -> Category:
        """The category with this exact code (use :meth:`resolve` for user input)."""
        self._require(code)
        return self.categories[code]

    def _require(self, code: str) -> None:
        if code not in self.categories:
            raise UnknownCategoryError(code, self.suggest(code))

    def resolve(self, text: str) -> Category:
        """The category named by ``text``: any code, label or synonym in any spelling.

        Width, katakana/hiragana, case and spaces do not matter, nor a ・ left out of a
        label (a key lookup); a kanji spelling not listed is tried by its reading
        (みまもり, 見守り). Unknown text raises
        :class:`UnknownCategoryError` with up to three labels that look alike.
        """
        code = self.keys.get(normalize(text))
        if code is None and text:
            code = self.keys.get(reading(text))
        if code is None:
            raise UnknownCategoryError(text, self.suggest(text))
        return self.categories[code]

    def resolve_many(self, cell: str | None) -> list[Category]:
        """Resolve every category in a cell (see :func:`split_categories`), once each, in order.

        Raises :class:`UnknownCategoryError` for the first item that is not a category.
        """
        found: dict[str, Category] = {}
        for item in split_categories(cell):
            cat = self.resolve(item)
            found.setdefault(cat.code, cat)
        return list(found.values())

    def suggest(self, text: str, limit: int = _MAX_SUGGESTIONS) -> list[str]:
        """Japanese labels of up to ``limit`` categories whose spellings look like ``text``."""
        queries = {normalize(text), reading(text)} - {""}
        best: dict[str, float] = {}
        for query in queries:
            for key, score, _ in process.extract(
                query,
                self._key_list,
                scorer=fuzz.WRatio,
                limit=None,
                score_cutoff=_SUGGESTION_CUTOFF,
            ):
                code = self.keys[key]
                best[code] = max(best.get(code, 0.0), score)
        order = {code: i for i, code in enumerate(self.categories)}
        ranked = sorted(best, key=lambda code: (-best[code], order[code]))
        return [self.categories[code].label_ja for code in ranked[:limit]]

    # --- tree -----------------------------------------------------------------------

    def roots(self) -> tuple[str, ...]:
        """Codes of the top-level categories, in file order."""
        return tuple(cat.code for cat in self if cat.parent is None)

    def children(self, code: str) -> tuple[str, ...]:
        """Codes of the direct children of ``code``, in file order."""
        self._require(code)
        return self._children[code]

    def ancestors(self, code: str) -> tuple[str, ...]:
        """Codes of the parent, grandparent… of ``code`` (nearest first, itself excluded)."""
        self._require(code)
        return self._ancestors[code]

    def descendants(self, code: str) -> frozenset[str]:
        """Codes of ``code`` and everything below it that meets a need for it: reference
        categories below ``code`` are left out (they meet only a need naming them)."""
        self._require(code)
        return self._descendants[code]

    def meets(self, need_code: str, resource_code: str) -> bool:
        """Whether a resource of ``resource_code`` meets a need for ``need_code``.

        DATA_FORMATS §1: a need for a parent category is met by any child (or grandchild:
        介護予防 by a サロン); a need for a child is met by that child only (a サロン need is
        not met by a 通いの場 or a ミニデイ resource).
        """
        self._require(resource_code)
        return resource_code in self.descendants(need_code)


# --- loading -----------------------------------------------------------------------------


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """Read and validate a taxonomy file; the default file is read once per process."""
    if path is None:
        return _default_taxonomy()
    return _read(Path(path))


@lru_cache(maxsize=1)
def _default_taxonomy() -> Taxonomy:
    return _read(DEFAULT_PATH)


def _read(path: Path) -> Taxonomy:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise TaxonomyError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    entries = data.get("categories") if isinstance(data, dict) else data
    if not isinstance(entries, list):
        raise TaxonomyError(f'{path}: expected a list of categories or {{"categories": [...]}}')
    try:
        return Taxonomy(_category(entry, i) for i, entry in enumerate(entries))
    except TaxonomyError as exc:
        raise TaxonomyError(f"{path}: {exc}") from None


def _category(entry: Any, index: int) -> Category:
    where = f"category #{index + 1}"
    if not isinstance(entry, dict):
        raise TaxonomyError(f"{where} is not an object")
    if isinstance(entry.get("code"), str):
        where = f"category {entry['code']!r}"
    missing = [name for name in _FIELDS if name not in entry]
    unknown = sorted(set(entry) - set(_FIELDS) - set(_OPTIONAL))
    if missing or unknown:
        raise TaxonomyError(f"{where}: missing fields {missing}, unknown fields {unknown}")
    for name in ("code", "label_ja", "label_en", "icon"):
        if not isinstance(entry[name], str) or not entry[name].strip():
            raise TaxonomyError(f"{where}: {name} must be a non-empty string")
    parent = entry["parent"]
    if parent is not None and not isinstance(parent, str):
        raise TaxonomyError(f"{where}: parent must be a code or null")
    synonyms = entry["synonyms"]
    if not isinstance(synonyms, list) or not all(isinstance(s, str) for s in synonyms):
        raise TaxonomyError(f"{where}: synonyms must be a list of strings")
    reference = entry.get("reference", False)
    if not isinstance(reference, bool):
        raise TaxonomyError(f"{where}: reference must be true or false")
    colour = entry["colour"]
    if not isinstance(colour, str) or not _COLOUR.fullmatch(colour):
        raise TaxonomyError(f"{where}: colour {colour!r} is not #rrggbb")
    return Category(
        code=entry["code"],
        label_ja=entry["label_ja"],
        label_en=entry["label_en"],
        parent=parent,
        synonyms=tuple(synonyms),
        colour=colour.upper(),
        icon=entry["icon"],
        reference=reference,
    )


# --- the default taxonomy, for convenience -------------------------------------------------


def resolve(text: str) -> Category:
    """:meth:`Taxonomy.resolve` on the default taxonomy."""
    return load_taxonomy().resolve(text)


def resolve_many(cell: str | None) -> list[Category]:
    """:meth:`Taxonomy.resolve_many` on the default taxonomy."""
    return load_taxonomy().resolve_many(cell)


def meets(need_code: str, resource_code: str) -> bool:
    """:meth:`Taxonomy.meets` on the default taxonomy."""
    return load_taxonomy().meets(need_code, resource_code)

"""Infer a need's categories from what the coordinator wrote at intake.

A need recorded as 「ゴミ置き場まで運べない。火曜と金曜の朝」 has no category; the matcher needs
``garbage``. Two data files supply the cues: the taxonomy (every label and synonym names its
own category: ゴミ出し, 雪かき, 見守り …) and ``matching/data/need_phrases.json``, the
everyday phrases the taxonomy does not hold (話し相手がほしい → gathering, 通院の足がない →
transport), with the negations that cancel them (買い物は自分でできる).

Why tokens, not plain substrings: the same word comes as ゴミ / ごみ / ｺﾞﾐ / 塵 and 掃除 /
そうじ, so cues are compared on the normalised surface *and* on the hiragana reading
(Sudachi ``reading_form()``: 塵 reads ゴミ). Readings alone would confuse homophones
(洗濯 / 選択 both read せんたく) and run across words (そうじ in そうじゃない), so a match must
start and end on a word boundary (a surface match also inside a kanji compound: 雪 in
雪掻き, 掃除 in 大掃除), and a reading match between two kanji spellings must share a kanji
(一人暮らし / 独り暮らし yes, 洗濯 / 選択 no).

The Sudachi dictionary is the one :mod:`directory.text` loads on first use, never at import.
The text is personal data: nothing here logs it or keeps it beyond the call.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from directory.taxonomy import Taxonomy, load_taxonomy
from directory.text import normalize, reading

__all__ = ["PHRASES_PATH", "Inference", "PhraseTableError", "infer", "infer_categories"]

PHRASES_PATH = Path(__file__).with_name("data") / "need_phrases.json"

_KANJI = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff々〆ヶ]")
# Sudachi refuses very long input; an intake note is short, a clause longer than this is
# cut into pieces (a cue split across two pieces is simply not found).
_MAX_PIECE = 2000


class PhraseTableError(ValueError):
    """The phrase table is broken; raised when it is first read, naming the entry."""


@dataclass(frozen=True)
class Inference:
    """One inferred category and the cues (taxonomy or phrase-table words) that named it."""

    code: str
    cues: tuple[str, ...]


@dataclass(frozen=True)
class _Cue:
    text: str  # as written in the data file (shown to coordinators as the evidence)
    surface: str  # normalize()
    reading: str  # hiragana reading key
    kanji: frozenset[str]


@dataclass(frozen=True)
class _Rule:
    code: str
    any: tuple[_Cue, ...]
    all: tuple[tuple[tuple[_Cue, ...], ...], ...]  # groups; one cue of each group


@dataclass(frozen=True)
class _Table:
    rules: tuple[_Rule, ...]
    breaks: re.Pattern[str]
    negations: tuple[str, ...]
    generic: frozenset[str]


# ------------------------------------------------------------------------------ loading


def _cue(text: str) -> _Cue:
    return _Cue(text, normalize(text), reading(text), frozenset(_KANJI.findall(text)))


def _strings(value: Any, where: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise PhraseTableError(f"{where} must be a list of non-empty strings")
    return value


@lru_cache(maxsize=4)
def _table(path: Path = PHRASES_PATH) -> _Table:
    """Read the phrase table and join it with the taxonomy's labels and synonyms."""
    taxonomy = load_taxonomy()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise PhraseTableError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    extra_any: dict[str, list[str]] = {code: [] for code in taxonomy.categories}
    extra_all: dict[str, list[list[list[str]]]] = {code: [] for code in taxonomy.categories}
    for i, entry in enumerate(data.get("rules", [])):
        code = entry.get("category") if isinstance(entry, dict) else None
        if not isinstance(code, str) or code not in taxonomy:
            raise PhraseTableError(f"{path}: rule #{i + 1} names an unknown category {code!r}")
        extra_any[code] += _strings(entry.get("any", []), f"{path}: rule {code!r} any")
        groups = entry.get("all", [])
        if not isinstance(groups, list):
            raise PhraseTableError(f"{path}: rule {code!r} all must be a list of groups")
        for group in groups:
            if not isinstance(group, list) or len(group) < 2:
                raise PhraseTableError(f"{path}: rule {code!r}: an 'all' needs two or more groups")
            extra_all[code].append([_strings(g, f"{path}: rule {code!r} all") for g in group])
    generic = frozenset(_strings(data.get("generic", []), f"{path}: generic"))
    unknown = generic - set(taxonomy.categories)
    if unknown:
        raise PhraseTableError(f"{path}: generic names unknown categories {sorted(unknown)}")
    breaks = _strings(data.get("clause_breaks", []), f"{path}: clause_breaks")
    rules = []
    for cat in taxonomy:
        if cat.reference:  # §1: matched only when a need names it; never inferred
            continue
        # Taxonomy spellings are cues of their own category; codes and English labels are
        # not (intake text is Japanese, and "tea" or "watch" in a note mean nothing here).
        words = dict.fromkeys([cat.label_ja, *cat.synonyms, *extra_any[cat.code]])
        rules.append(
            _Rule(
                cat.code,
                tuple(_cue(w) for w in words),
                tuple(
                    tuple(tuple(_cue(w) for w in g) for g in group) for group in extra_all[cat.code]
                ),
            )
        )
    pattern = "|".join(re.escape(unicodedata.normalize("NFKC", b)) for b in breaks)
    return _Table(
        rules=tuple(rules),
        breaks=re.compile(pattern) if pattern else re.compile(r"(?!)"),
        negations=tuple(
            normalize(n) for n in _strings(data.get("negations", []), f"{path}: negations")
        ),
        generic=generic,
    )


# ----------------------------------------------------------------------------- tokens


@dataclass
class _Clause:
    """One clause as two keys (surface, reading) with the offsets a match may start/end at."""

    surface: str
    reading: str
    surface_ok: frozenset[int]
    reading_ok: frozenset[int]
    # (start, end, kanji of the token's surface) per token, in reading offsets
    reading_tokens: tuple[tuple[int, int, frozenset[str]], ...]
    negated: bool


def _tokens(text: str) -> Iterable[tuple[str, str]]:
    """(surface, reading_form) of each short-unit word; Sudachi loaded on first use."""
    from sudachipy import SplitMode

    # The one process-wide dictionary that directory.text loads lazily (≈ 200 MB): loading
    # a second copy here would double start-up time and memory.
    from directory.text import _tokenizer

    tokenizer = _tokenizer()
    for start in range(0, len(text), _MAX_PIECE):
        for m in tokenizer.tokenize(text[start : start + _MAX_PIECE], SplitMode.A):
            yield m.surface(), m.reading_form()


def _clause(text: str, negations: Sequence[str]) -> _Clause:
    surface_parts: list[str] = []
    reading_parts: list[str] = []
    s_ok: set[int] = {0}
    r_ok: set[int] = {0}
    r_tokens: list[tuple[int, int, frozenset[str]]] = []
    s_pos = r_pos = 0
    for surface, read in _tokens(text):
        s_key = normalize(surface)
        kanji = frozenset(_KANJI.findall(surface))
        r_key = normalize(read) if kanji and read else s_key
        if not s_key:
            continue
        if kanji:
            # Inside a kanji compound a surface match may begin or end (雪|掻き, 大|掃除);
            # a reading match may not, as a reading's letters are not the kanji's
            # (たいへん holds いへん, the reading of 異変).
            s_ok.update(range(s_pos, s_pos + len(s_key)))
        r_tokens.append((r_pos, r_pos + len(r_key), kanji))
        surface_parts.append(s_key)
        reading_parts.append(r_key)
        s_pos += len(s_key)
        r_pos += len(r_key)
        s_ok.add(s_pos)
        r_ok.add(r_pos)
    surface_key = "".join(surface_parts)
    return _Clause(
        surface=surface_key,
        reading="".join(reading_parts),
        surface_ok=frozenset(s_ok),
        reading_ok=frozenset(r_ok),
        reading_tokens=tuple(r_tokens),
        negated=any(n in normalize(text) for n in negations),
    )


def _occurrences(haystack: str, needle: str) -> Iterable[int]:
    if not needle:
        return
    i = haystack.find(needle)
    while i >= 0:
        yield i
        i = haystack.find(needle, i + 1)


def _found(cue: _Cue, clause: _Clause) -> bool:
    for p in _occurrences(clause.surface, cue.surface):
        if p in clause.surface_ok and p + len(cue.surface) in clause.surface_ok:
            return True
    for p in _occurrences(clause.reading, cue.reading):
        q = p + len(cue.reading)
        if p not in clause.reading_ok or q not in clause.reading_ok:
            continue
        if not cue.kanji:
            return True  # a kana cue read in kanji text: ゴミ in 塵
        covered = [kanji for start, end, kanji in clause.reading_tokens if start < q and end > p]
        if not all(covered) or any(cue.kanji & k for k in covered):
            return True  # kana in the text (そうじ), or kanji in common (雪掻き)
    return False


# ---------------------------------------------------------------------------- inference


def infer(text: str | None, *, taxonomy: Taxonomy | None = None) -> list[Inference]:
    """The categories ``text`` names, each with the cues found, in taxonomy order.

    Clauses holding a negation (「問題ない」「自分でできる」「してもらっている」…) are
    skipped. A category that is an ancestor of another found one is dropped (生活支援 +
    買い物 → shopping), and so are the table's generic categories when anything more
    specific was found. Text naming nothing gives [].
    """
    if not text or not text.strip():
        return []
    table = _table()
    taxonomy = taxonomy or load_taxonomy()
    prepared = unicodedata.normalize("NFKC", text)
    clauses = [
        _clause(part, table.negations) for part in table.breaks.split(prepared) if part.strip()
    ]
    live = [c for c in clauses if not c.negated]
    found: dict[str, list[str]] = {}
    for rule in table.rules:
        cues = [cue.text for cue in rule.any if any(_found(cue, c) for c in live)]
        for group in rule.all:
            hits = [
                next((cue.text for cue in alternatives if any(_found(cue, c) for c in live)), None)
                for alternatives in group
            ]
            if all(hits):
                cues.append("＋".join(h for h in hits if h))
        if cues:
            found[rule.code] = cues
    # A reference category (§1: 相談窓口, 介護保険の施設・事業所 …) is never inferred from
    # intake text, even when the phrase table names one: only a need naming it gets it.
    codes = set(found) - taxonomy.reference_codes
    codes -= {a for code in codes for a in taxonomy.ancestors(code)}
    if codes - table.generic:
        codes -= table.generic
    return [Inference(code, tuple(found[code])) for code in taxonomy.categories if code in codes]


def infer_categories(text: str | None) -> list[str]:
    """The category codes ``text`` names (see :func:`infer`); [] when it names none."""
    return [i.code for i in infer(text)]

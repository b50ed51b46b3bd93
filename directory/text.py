"""Japanese text normalisation: the one place that decides when two spellings are "the same".

Coordinators' spreadsheets spell one thing many ways: ｻﾛﾝ / サロン / さろん, １０：００ / 10:00,
12月〜3月 / 12月～3月, いすゞ / いすず, 見守り / みまもり. Everything that compares text
(category resolution, district names, search, duplicate detection) compares the key from
:func:`normalize`, and keeps the original text for display.

Why not a library: ``jaconv.normalize`` turns ～ into ー ("12月～3月" → "12月ー3月") and
neologdn deletes ～ and spaces; nothing expands ゝゞヽヾ. So this is NFKC plus a few
translation tables of our own, with ``jaconv.kata2hira`` for the katakana → hiragana fold.

:func:`reading` adds SudachiPy readings (見守り → みまもり) for the few places where kanji and
kana spellings must meet. The dictionary (≈ 200 MB) is loaded on first use, never on import.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import TYPE_CHECKING

import jaconv

if TYPE_CHECKING:
    from sudachipy import Dictionary, Tokenizer

__all__ = ["normalize", "normalize_keys", "reading", "same_text"]

# --- tables, built once at import -------------------------------------------------------

# Applied *before* NFKC. The spacing voiced marks ゛゜ (U+309B/C) become the combining
# ones so NFKC composes ウ゛ → ヴ and か゛ → が (NFKC alone turns ゛ into " " + U+3099, and
# the space would then be removed, leaving a stray combining mark). Invisible characters
# that arrive from Excel or the web are dropped.
_PRE_NFKC = str.maketrans(
    {
        "\u309b": "\u3099",  # ゛
        "\u309c": "\u309a",  # ゜
        "\u200b": None,  # zero-width space
        "\u200c": None,  # zero-width non-joiner
        "\u200d": None,  # zero-width joiner
        "\u2060": None,  # word joiner
        "\ufeff": None,  # BOM / zero-width no-break space
    }
)

_KANA = "\u3041-\u3096\u309d\u309e\u30a1-\u30fa\u30fc-\u30fe\u31f0-\u31ff"  # not ・ U+30FB
# Dash-like characters after NFKC (‑ U+2011 → ‐ U+2010, － → -, ｰ → ー already).
_DASHES = "-\u2010\u2012\u2013\u2014\u2015\u2212\u2500\u2501"
# A dash right after a kana is a long-vowel mark typed with the wrong key (ミニデ-, コ―ヒ―),
# unless a digit follows (さくら-2 is a separator, like 2024-04-01).
_LONG_VOWEL_AFTER_KANA = re.compile(f"(?<=[{_KANA}])[{_DASHES}](?![0-9])")
# ー between digits is a hyphen typed in kana mode (090ー1234ー5678).
_CHOON_BETWEEN_DIGITS = re.compile("(?<=[0-9])\u30fc(?=[0-9])")
# The counter 箇 written as a full-size kana after a number (3ケ月, 1か所, 2カ国; already
# folded to hiragana when this runs) is the same as 3ヶ月.
_COUNTER_KA = re.compile("(?<=[0-9〇一二三四五六七八九十百千数何])[かけ](?=[月所国年条])")


def _katakana_to_hiragana() -> dict[int, str]:
    """jaconv's katakana → hiragana table, as one dict so a single ``translate`` does all."""
    table: dict[int, str] = {}
    for cp in range(0x30A1, 0x30FF):
        ch = chr(cp)
        folded = jaconv.kata2hira(ch)
        if folded != ch:
            table[cp] = folded
    return table


_POST_NFKC: dict[int, str] = {
    **_katakana_to_hiragana(),
    # ヶ/ヵ in 一ヶ月, 三ヵ所, 霞ヶ関 are abbreviations of 箇, not kana: keep one spelling (ヶ)
    # rather than folding them into the rare hiragana ゖ/ゕ that nobody types (jaconv does).
    0x30F6: "ヶ",
    0x30F5: "ヶ",
    0x3096: "ヶ",
    0x3095: "ヶ",
    # wave dashes: 〜 U+301C, 〰 U+3030, ∼ U+223C, ⁓ U+2053 (～ U+FF5E is already ~ by NFKC)
    0x301C: "~",
    0x3030: "~",
    0x223C: "~",
    0x2053: "~",
    # the remaining dashes (not after a kana) are hyphens
    **{ord(c): "-" for c in _DASHES if c != "-"},
    # middle dots: ･ U+FF65 is ・ after NFKC; · U+00B7, • U+2022, ‧ U+2027, ∙ U+2219, ⋅ U+22C5
    0x00B7: "・",
    0x2022: "・",
    0x2027: "・",
    0x2219: "・",
    0x22C5: "・",
}
_POST_TABLE = str.maketrans(_POST_NFKC)

_ITERATION_MARKS = frozenset("ゝゞ")  # ヽヾ are folded into these by the table above
_VOICED = "\u3099"
_DAKUTEN = frozenset("\u3099\u309a")


def _expand_iteration_marks(text: str) -> str:
    """Replace ゝ/ゞ with the kana before them: こゝろ → こころ, いすゞ → いすず.

    ゝ repeats the kana without its voicing mark, ゞ repeats it voiced. A mark with no kana
    before it (at the start, after a kanji) is left as it is. 々 (after kanji) is left alone:
    人々 and 人人 are both in use, and the reading handles them.
    """
    out: list[str] = []
    for ch in text:
        if ch in _ITERATION_MARKS and out and _is_hiragana(out[-1]):
            base = "".join(c for c in unicodedata.normalize("NFD", out[-1]) if c not in _DAKUTEN)
            if ch == "ゞ":
                voiced = unicodedata.normalize("NFC", base + _VOICED)
                base = voiced if len(voiced) == 1 else base
            out.append(base)
        else:
            out.append(ch)
    return "".join(out)


def _is_hiragana(ch: str) -> bool:
    return "\u3041" <= ch <= "\u3096"


# --- normalize ---------------------------------------------------------------------------


def normalize(text: str | None, *, keep_spaces: bool = False) -> str:
    """Return the comparison key of ``text``; display the original, compare this.

    NFKC (widths, ① → 1, ㈱ → (株), ： → :), one wave dash ``~``, one long-vowel mark ``ー``
    after kana (digits keep their hyphens: 2024-04-01), katakana → hiragana, ゝゞヽヾ
    expanded, one middle dot ``・``, casefold. Whitespace (including the ideographic space)
    is removed, or with ``keep_spaces`` collapsed to single ASCII spaces and stripped,
    for texts where word boundaries matter (search queries). ``None`` and "" give "".
    """
    if not text:
        return ""
    if text.isascii():  # most cells: codes, numbers, times, URLs; NFKC is the identity
        folded = text.casefold()
    else:
        folded = unicodedata.normalize("NFKC", text.translate(_PRE_NFKC))
        folded = _LONG_VOWEL_AFTER_KANA.sub("ー", folded)
        if "ー" in folded:
            folded = _CHOON_BETWEEN_DIGITS.sub("-", folded)
        folded = folded.translate(_POST_TABLE)
        if "か" in folded or "け" in folded:
            folded = _COUNTER_KA.sub("ヶ", folded)
        if "ゝ" in folded or "ゞ" in folded:
            folded = _expand_iteration_marks(folded)
        folded = folded.casefold()
    if keep_spaces:
        return " ".join(folded.split())
    return "".join(folded.split())


def normalize_keys(texts: Iterable[str | None]) -> set[str]:
    """The set of non-empty keys of ``texts`` (for "is this value one of these?")."""
    return {key for key in map(normalize, texts) if key}


# --- reading (SudachiPy) -----------------------------------------------------------------

# Loaded on first use: importing this module must stay cheap (CLI start-up, web workers).
_dictionary: Dictionary | None = None
_dictionary_lock = threading.Lock()
# A Sudachi Tokenizer must not be used by two threads at once (it raises SudachiError),
# so each thread gets its own, sharing the one Dictionary.
_local = threading.local()

# Characters whose reading only a dictionary knows. Text without any is its own reading.
_NEEDS_DICTIONARY = re.compile(
    "[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003ffff々〆ヶ]"
)
# Sudachi refuses input over 49,149 UTF-8 bytes; 4,000 characters is at most 16,000 bytes.
_MAX_CHUNK = 4000
_CHUNK_BREAK = re.compile(r"[\s。、．，,.!?！？]")


def _tokenizer() -> Tokenizer:
    tokenizer = getattr(_local, "tokenizer", None)
    if tokenizer is None:
        global _dictionary
        with _dictionary_lock:
            if _dictionary is None:
                from sudachipy import Dictionary

                _dictionary = Dictionary(dict="core")
            tokenizer = _dictionary.tokenizer()
        _local.tokenizer = tokenizer
    return tokenizer


def _chunks(text: str) -> Iterator[str]:
    """Split ``text`` into pieces Sudachi accepts, preferring whitespace and punctuation."""
    while len(text) > _MAX_CHUNK:
        cut = _MAX_CHUNK
        for match in _CHUNK_BREAK.finditer(text, _MAX_CHUNK // 2, _MAX_CHUNK):
            cut = match.end()
        yield text[:cut]
        text = text[cut:]
    if text:
        yield text


def reading(text: str | None) -> str:
    """Return the hiragana reading of ``text`` as a :func:`normalize` key (見守り → みまもり).

    Only words containing kanji are replaced by Sudachi's ``reading_form()``; kana, digits,
    Latin letters and symbols keep their surface (Sudachi reads "10:00" as イチレイキゴウ
    レイレイ and ABC as エービーシー, which would make unrelated texts collide). Words the
    dictionary does not know keep their surface. Text without kanji is returned normalised
    without tokenising. Readings of proper nouns are guesses: use them for matching and as
    editable suggestions, never as the only record.
    """
    if not text:
        return ""
    key = normalize(text)
    if not _NEEDS_DICTIONARY.search(key):
        return key
    return _reading_of(text)


@lru_cache(maxsize=8192)
def _reading_of(text: str) -> str:
    # Tokenise the NFKC text, not the key: Sudachi segments katakana words and spaced
    # words better than their hiragana, space-less folds.
    prepared = unicodedata.normalize("NFKC", text.translate(_PRE_NFKC))
    tokenizer = _tokenizer()
    parts: list[str] = []
    for chunk in _chunks(prepared):
        for morpheme in tokenizer.tokenize(chunk):
            surface = morpheme.surface()
            if _NEEDS_DICTIONARY.search(surface):
                parts.append(morpheme.reading_form() or surface)
            else:
                parts.append(surface)
    return normalize("".join(parts))


def same_text(a: str | None, b: str | None) -> bool:
    """True when ``a`` and ``b`` are the same words: equal keys, or else equal readings.

    Two empty texts are the same; an empty text is never the same as a non-empty one.
    """
    key_a, key_b = normalize(a), normalize(b)
    if key_a == key_b:
        return True
    if not key_a or not key_b:
        return False
    return reading(a) == reading(b)

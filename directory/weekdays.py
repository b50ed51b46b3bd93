"""The weekday vocabulary and the one parser of weekdays as people write them.

Weekdays are indexes 0 = Monday … 6 = Sunday (``datetime.date.weekday``) everywhere;
this module is the only place that names them. The schedule parser, the needs importer,
the matcher and the exports all import it, so 「火」, 「火曜」, 「火曜日」, ``TU`` and
``Tue`` mean the same day in every one of them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from directory.i18n import N_
from directory.text import normalize

__all__ = [
    "MONTH_EN",
    "WEEKDAY_CHARS",
    "WEEKDAY_CODES",
    "WEEKDAY_EN",
    "WEEKDAY_NAMES_EN",
    "WeekdayError",
    "parse_weekday",
    "parse_weekdays",
]

#: One kanji per day, Monday first (「月水金」 is read one character at a time).
WEEKDAY_CHARS = "月火水木金土日"
#: RFC 5545 BYDAY codes (RRULEs, iCalendar, HSDS, stored needs).
WEEKDAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
#: Short English names, as English descriptions print them.
#: They are also the catalogue's msgids for the short weekday words (Japanese: 月…日).
WEEKDAY_EN = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))
#: Short English month names, the catalogue's msgids for month words (Japanese: 1月…).
MONTH_EN = (
    N_("Jan"),
    N_("Feb"),
    N_("Mar"),
    N_("Apr"),
    N_("May"),
    N_("Jun"),
    N_("Jul"),
    N_("Aug"),
    N_("Sep"),
    N_("Oct"),
    N_("Nov"),
    N_("Dec"),
)
#: Full English names.
WEEKDAY_NAMES_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_KANA = ("げつ", "か", "すい", "もく", "きん", "ど", "にち")
_ALL = tuple(range(7))

_WORDS: dict[str, tuple[int, ...]] = {}
for _i in range(7):
    for _word in (
        WEEKDAY_CHARS[_i],
        _KANA[_i],
        WEEKDAY_NAMES_EN[_i],
        WEEKDAY_EN[_i],
        WEEKDAY_CODES[_i],
    ):
        _WORDS[normalize(_word)] = (_i,)
_WORDS |= {
    "tues": (1,),
    "thur": (3,),
    "thurs": (3,),
    "平日": (0, 1, 2, 3, 4),
    "土日": (5, 6),
    "週末": (5, 6),
    "毎日": _ALL,
    "全日": _ALL,
    "いつでも": _ALL,
}
_SUFFIXES = ("曜日", "曜", "ようび", "よう")
_DAY_WORD = re.compile("曜日?|ようび")
_RANGE = re.compile(rf"([{WEEKDAY_CHARS}])~([{WEEKDAY_CHARS}])")
_SEPARATORS = re.compile(r"[;；、､,，・/／\s]+")


class WeekdayError(ValueError):
    """A token that names no weekday; ``token`` is the text as written."""

    def __init__(self, token: object):
        super().__init__(f"曜日「{token}」を読めません（例: 火、火曜、月水金、平日、土日、TU）")
        self.token = token


def parse_weekday(token: str) -> tuple[int, ...]:
    """The weekdays one token names, sorted: 「火」「火曜」「火曜日」「かよう」 ``TU`` ``Tue``
    ``tuesday`` → (1,); 「月水金」「月曜水曜」 → (0, 2, 4); 「月~金」「月～金曜」 → a range
    (wrapping: 「土~月」); 「平日」「土日」「週末」「毎日」.

    Raises :class:`WeekdayError` for anything else, so a typo is reported, not dropped.
    """
    key = normalize(token).rstrip(".")
    if key in _WORDS:
        return _WORDS[key]
    for suffix in _SUFFIXES:
        if key.endswith(suffix) and key[: -len(suffix)] in _WORDS:
            return _WORDS[key[: -len(suffix)]]
    bare = _DAY_WORD.sub("", key)  # 月曜~金曜, 月曜水曜
    m = _RANGE.fullmatch(bare)
    if m:
        a, b = WEEKDAY_CHARS.index(m[1]), WEEKDAY_CHARS.index(m[2])
        return tuple(range(a, b + 1)) if a <= b else (*range(b + 1), *range(a, 7))
    bare = bare.replace("平日", "月火水木金")  # 平日土
    if bare and all(ch in WEEKDAY_CHARS for ch in bare):
        return tuple(sorted({WEEKDAY_CHARS.index(ch) for ch in bare}))
    raise WeekdayError(token)


def parse_weekdays(value: str | Iterable[str]) -> tuple[int, ...]:
    """The sorted weekdays of a text or a list of texts, each split on ; 、 , ・ / and
    spaces (「月・水・金」「火曜, 木曜」). Raises :class:`WeekdayError` on the first token
    that is not a weekday (a non-string item included)."""
    found: set[int] = set()
    for item in [value] if isinstance(value, str) else value:
        if not isinstance(item, str):
            raise WeekdayError(item)
        for token in _SEPARATORS.split(item.strip()):
            if token:
                found.update(parse_weekday(token))
    return tuple(sorted(found))

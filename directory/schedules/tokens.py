"""A schedule text cut into tokens: the text normalised unit by unit with a map back to
the coordinator's spelling (:func:`_keyed`), then the recognisers, tried in order at each
position (:func:`_tokenize`); what none recognises is an UNKNOWN token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from directory.schedules.times import _ATOM, _RANGE_SEP
from directory.schedules.values import _WEEKDAYS, AFTERNOON, MORNING
from directory.text import normalize
from directory.weekdays import WEEKDAY_CHARS

_KANJI_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7}


_COMBINING = frozenset("\u3099\u309a\u309b\u309c\uff9e\uff9f")


def _keyed(text: str) -> tuple[str, list[tuple[int, int]]]:
    """Normalise ``text`` unit by unit, remembering where each key character came from.

    Each unit is a character plus any voicing marks after it, normalised with
    :func:`directory.text.normalize` (``keep_spaces=True``), so a key span can be shown in
    the coordinator's own spelling. Whitespace collapses to one space.
    """
    chars: list[str] = []
    spans: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and text[j] in _COMBINING:
            j += 1
        unit = text[i:j]
        norm = " " if unit.isspace() else normalize(unit, keep_spaces=True)
        for ch in norm:
            if ch == " " and (not chars or chars[-1] == " "):
                continue
            chars.append(ch)
            spans.append((i, j))
        i = j
    while chars and chars[-1] == " ":
        chars.pop()
        spans.pop()
    return "".join(chars), spans


@dataclass
class _Tok:
    kind: str
    start: int
    end: int
    value: Any = None
    state: str = ""  # "closed" / "open" / "used" / "bad" after the semantic passes


_NUM = "[1-5一二三四五]"
_NTH_ITEM = rf"(?:第\s*{_NUM}(?![0-9])|最終|最後の?|月末の)(?:\s*週目?)?"
_NTH_MORE = (
    rf"(?:\s*(?:[・、,]|と|及び)\s*(?:第\s*{_NUM}(?![0-9])|{_NUM}(?![0-9]|\s*[:時日])|最終|最後)"
    r"(?:\s*週目?)?)"
)
_WD = f"[{WEEKDAY_CHARS}]"
# A weekday written as one bare character (月水金) must stand next to something that makes
# it a weekday; otherwise 月 in 月に1回 or 日 in 日程 would be read as Monday / Sunday.
_BARE_WD_AFTER = (
    r"(?=曜|[月火水木金土日祝]|[\s・、,/()\[\]~\-ー]|と|や|及|は|も|の|を|休|定|以|除|午"
    r"|\d{1,2}\s*(?::|時)|$)"
)
_CLOSED = (
    r"(?:(?:の場合|にあたる場合|に当たる場合|と重なる場合|と重なった場合|の時|のとき|の日)\s*)?"
    r"(?:は|を|も)?\s*(?:お休み|休み|休業日?|休館日?|休所日?|休診日?|休講|閉館|閉所|除く|除き|除いて"
    r"|以外|定休日?|なし|無し|中止|休止|(?:ご)?利用(?:でき|いただけ|出来)ません|利用不可|休(?!日))"
    r"(?:です|とします|となります|とする|となる|とさせていただきます)?"
)
_OPEN = (
    r"(?:を|も)?\s*(?:含む|含め(?:て)?)"
    r"|も\s*(?:実施|開催|営業|開所|開館|活動|利用可能?|可能?|対応)?(?:します|しています|です)?"
)
_SUFFIX_ONLY = r"(?:\s*(?:のみ|限定|だけ|中))?"
_FILLERS = (
    "頃|ごろ|位|くらい|ぐらい|程度|予定|要事前予約|事前予約|要予約|予約制|予約優先|要申し?込み?"
    "|申込制|雨天時は中止|雨天の場合は中止|雨天時中止|雨天中止|荒天時は中止|荒天の場合は中止|荒天時中止"
    "|荒天中止|悪天候時は中止|悪天候の場合は中止|悪天候時中止|のみ|だけ|限定|開催|実施"
    "|営業|活動|開所|開館|開始|終了|すたーと|通年|年間を通して|年間通して|一年中|終日|等|など|です"
    "|します|しています|ただし|但し|受付時間|診療時間|相談時間|利用時間|開所時間|開館時間|営業時間"
    "|曜日|時間|日時|開催日|活動日|まで|から|より|の|に|は|で|を"
)

_DATE_SEP = r"(?:~|-|ー|から)\s*(?:翌年?\s*)?"
_PERIOD_TAIL = r"(?:\s*(?:まで|の間|の期間|期間|のみ|限定))*"
_NOT_VAGUE = (
    r"(?!\s*(?:程度|位|くらい|ぐらい|ほど|前後|以上|以下|以内|未満|を?目安|から|より|まで|ずつ))"
)

# (kind, pattern, strong). A weak recogniser is not tried right after unknown text, so a
# particle or filler inside an unknown phrase (「月に1回程度」) stays part of that phrase.
_RECOGNISERS: list[tuple[str, re.Pattern[str], bool]] = [
    (kind, re.compile(pattern), strong)
    for kind, pattern, strong in [
        ("SEP:space", r"\s+", True),
        ("SEP:comma", r"[、,]", True),
        ("SEP:tight", r"[・/]", True),
        ("SEP:paren", r"[()\[\]{}「」『』【】<>]", True),
        ("SEP:other", r"[。.;:!?※*#=+]", True),
        (
            "PAUSE",
            r"(?:現在\s*)?(?:一時\s*)?(?:活動\s*)?(?:休止|休会)(?:\s*(?:中|しています|しております|している))?",
            True,
        ),
        (
            "YEAREND",
            r"年末年始(?:\s*\(?\s*(?:12/29|12月29日)\s*(?:~|-|から)\s*(?:翌年?)?(?:1/3|1月3日)"
            r"(?:\s*まで)?\s*\)?)?|(?:12/29|12月29日)\s*(?:~|-|から)\s*(?:翌年?)?(?:1/3|1月3日)(?:まで)?",
            True,
        ),
        # a date range (12月1日～3月31日, 12/1～3/31): a season when it runs from the first of
        # a month to the last day of a month, else not understood (seasons are whole months)
        (
            "DATERANGE",
            rf"(?<![0-9/])(\d{{1,2}})\s*月\s*(\d{{1,2}})\s*日\s*{_DATE_SEP}"
            rf"(\d{{1,2}})\s*月\s*(\d{{1,2}})\s*日{_PERIOD_TAIL}"
            rf"|(?<![0-9/])(\d{{1,2}})/(\d{{1,2}})\s*{_DATE_SEP}(\d{{1,2}})/(\d{{1,2}})(?![0-9/])"
            rf"{_PERIOD_TAIL}",
            True,
        ),
        (
            "HOLIDAY",
            r"国民の祝日に関する法律(?:\s*\(\s*昭和23年法律第178号\s*\))?\s*に\s*(?:規定|定め)"
            r"(?:する|られた|る)\s*休日|国民の祝日|祝祭日|祝休日|振替休日|祝日|祭日|祝",
            True,
        ),
        # 「時間外も対応可」: a remark that says nothing about the days, kept as written
        (
            "REMARK",
            r"(?:時間外|夜間|緊急時)\s*(?:も|は|の)?\s*(?:(?:要|応)相談|(?:対応|相談|受付)\s*"
            r"(?:可能?|します|いたします|あり)?)",
            True,
        ),
        ("ALLDAY", r"24\s*時間(?:\s*365\s*日)?(?:\s*(?:対応|受付|営業|体制|開所|開館))?", True),
        (
            "DAILY",
            r"(?:定休日|休館日|休業日|休所日|休み)\s*(?:は)?\s*(?:なし|無し|ありません)|365\s*日",
            True,
        ),
        # a date (6月3日(火), 2026年6月3日, 令和8年6月3日, 2026/6/3): one-off dates in a list
        # or the anchor of 隔週
        (
            "DATE",
            r"(?<![0-9/])(?:(?:(\d{4})\s*年|令和\s*(\d{1,2}|元)\s*年)\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*日"
            rf"(?:\s*\(\s*({_WD})(?:曜日?)?\s*\))?"
            r"|(?<![0-9/])(?:(\d{4})/)?(\d{1,2})/(\d{1,2})(?![0-9/])"
            rf"(?:\s*\(\s*({_WD})(?:曜日?)?\s*\))?",
            True,
        ),
        ("UNKNOWN", r"休日", True),  # 休日 = weekends and/or holidays: not guessed
        # 月2回・週1回: checked against the days written with it (see parse_schedule); a
        # vague count (月1回程度) is not recognised and stays unknown text
        (
            "COUNT",
            rf"(?:毎\s*)?(月|週|年)\s*(?:に\s*)?([1-7一二三四五六七](?![0-9])|1[0-2])\s*(?:回|度)"
            rf"{_NOT_VAGUE}",
            True,
        ),
        ("MONTHSET", r"(?:毎\s*)?(奇数|偶数)\s*月(?:\s*(?:のみ|だけ|限定))?", True),
        ("BIMONTHLY", r"隔月", True),  # understood only with the months it means (隔月（奇数月）)
        ("DIGITDAY", r"(?:毎月\s*)?([0-9])\s*の\s*(?:つく|付く)\s*日", True),  # 5のつく日
        ("CLOSED", _CLOSED, True),
        ("OPEN", _OPEN, True),
        (
            "WINTER",
            rf"(?:冬期間|冬季間|冬期|冬季|冬場|冬の間|降雪期間?|降雪時|積雪時|積雪期間?){_SUFFIX_ONLY}",
            True,
        ),
        (
            "SEASON",
            r"(?<![0-9/])(\d{1,2})\s*月?\s*(?:~|-|ー|から)\s*(?:翌年?\s*)?(\d{1,2})\s*月"
            r"(?!\s*\d{1,2}\s*日)(?:\s*末)?(?:\s*(?:まで|の間|の期間|期間|のみ|限定))*",
            True,
        ),
        ("MONTH", r"(?<![0-9/])(\d{1,2})\s*月(?!\s*\d{1,2}\s*日)(?:\s*(のみ|だけ|限定))?", True),
        ("AMPM", r"午前中|(?:午前|午後)(?!\s*\d{1,2}\s*(?::|時))", True),
        (
            "TIME",
            rf"{_ATOM}(?:\s*(?:頃|ごろ))?(?:\s*{_RANGE_SEP}\s*(?:{_ATOM}(?:\s*(?:頃|ごろ))?)?)?"
            rf"(?:\s*まで)?|(?:~|-|から)\s*{_ATOM}(?:\s*(?:頃|ごろ))?(?:\s*まで)?",
            True,
        ),
        ("WD", rf"毎週\s*({_WD})(?:曜日|曜)?|毎({_WD})(?:曜日|曜)", True),
        ("DAILY", r"年中無休|無休|毎日", True),
        ("MONTHEND", r"毎?月末(?:日)?(?!の)", True),
        ("MONTHLY", r"毎月", True),
        ("WEEKLY", r"毎週", True),
        ("BIWEEKLY", r"隔週(?:の)?|2週間?に1(?:回|度)|2週間?(?:ごと|毎)", True),
        ("NTH", rf"{_NTH_ITEM}{_NTH_MORE}*(?:\s*の)?", True),
        ("WEEKDAYS", r"平日", True),
        ("WEEKEND", r"週末", True),
        (
            "WDRANGE",
            rf"({_WD})(?:曜日|曜)\s*(?:~|-|ー|から)\s*({_WD})(?:曜日|曜)?(?:\s*まで)?",
            True,
        ),
        (
            "WDRANGE",
            rf"(?<![0-9])({_WD})\s*(?:~|-|ー|から)\s*({_WD})(?:曜日|曜)?(?:\s*まで)?",
            False,
        ),
        ("WD", rf"({_WD})(?:曜日|曜)", True),
        # after a digit only in 第2木 / 第2・4木 (12月 and 15日 are dates)
        ("WD", rf"(?:(?<![0-9])|(?<=第[1-5])|(?<=[・、,と][1-5]))({_WD}){_BARE_WD_AFTER}", False),
        ("MONTHDAY", r"(?<![0-9/])(\d{1,2}(?:\s*[・、,と]\s*\d{1,2})*)\s*日(?!\s*曜)", True),
        ("SEP:tight", r"と|や|及び|および|並びに|ならびに", False),
        ("SEP:other", r"[~\-ー]", False),
        ("FILLER", _FILLERS, False),
    ]
]


def _tokenize(key: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos, n = 0, len(key)
    unknown_from: int | None = None
    while pos < n:
        found: tuple[str, re.Match[str]] | None = None
        after_unknown = unknown_from is not None or (toks and toks[-1].kind == "UNKNOWN")
        for kind, rx, strong in _RECOGNISERS:
            if after_unknown and not strong:
                continue
            m = rx.match(key, pos)
            if m is not None and m.end() > pos:
                found = (kind, m)
                break
        if found is None:
            if unknown_from is None:
                unknown_from = pos
            pos += 1
            continue
        if unknown_from is not None:
            toks.append(_Tok("UNKNOWN", unknown_from, pos))
            unknown_from = None
        kind, m = found
        toks.append(_Tok(kind, pos, m.end(), _token_value(kind, m)))
        pos = m.end()
    if unknown_from is not None:
        toks.append(_Tok("UNKNOWN", unknown_from, n))
    return toks


def _date_range_window(m1: int, d1: int, m2: int, d2: int) -> tuple[int, int] | None:
    """12月1日～3月31日 → (12, 3); None unless it runs from a 1st to a month's last day."""
    if not (1 <= m1 <= 12 and 1 <= m2 <= 12) or d1 != 1:
        return None
    last = 29 if m2 == 2 else (30 if m2 in (4, 6, 9, 11) else 31)
    if d2 != last and not (m2 == 2 and d2 == 28):
        return None
    return (m1, m2)


def _weekday_range(a: str, b: str) -> frozenset[int]:
    i, j = WEEKDAY_CHARS.index(a), WEEKDAY_CHARS.index(b)
    return frozenset((i + k) % 7 for k in range((j - i) % 7 + 1))


def _token_value(kind: str, m: re.Match[str]) -> Any:
    text = m.group(0)
    if kind.startswith("SEP:"):
        return kind[4:]
    if kind == "WD":
        char = next(g for g in m.groups() if g)
        return frozenset({WEEKDAY_CHARS.index(char)})
    if kind == "WDRANGE":
        return _weekday_range(m.group(1), m.group(2))
    if kind == "WEEKDAYS":
        return _WEEKDAYS
    if kind == "WEEKEND":
        return frozenset({5, 6})
    if kind == "NTH":
        nths: list[int] = []
        for num, last in re.findall(rf"({_NUM})|(最終|最後|月末)", text):
            value = -1 if last else _KANJI_DIGITS.get(num) or int(num)
            if value not in nths:
                nths.append(value)
        return tuple(nths)
    if kind == "MONTHDAY":
        return tuple(int(d) for d in re.findall(r"\d{1,2}", m.group(1)))
    if kind == "SEASON":
        return (int(m.group(1)), int(m.group(2)))
    if kind == "MONTH":
        return (int(m.group(1)), bool(m.group(2)))
    if kind == "MONTHSET":
        return frozenset(range(1 if m.group(1) == "奇数" else 2, 13, 2))
    if kind == "DATERANGE":
        m1, d1, m2, d2 = (int(g) for g in m.groups() if g is not None)
        return _date_range_window(m1, d1, m2, d2)
    if kind == "DATE":
        g = m.groups()
        year, reiwa, month, day, wd = g[0] or g[5], g[1], g[2] or g[6], g[3] or g[7], g[4] or g[8]
        if reiwa:
            year = str(2018 + (1 if reiwa == "元" else int(reiwa)))
        weekday = WEEKDAY_CHARS.index(wd) if wd else None
        return (int(year) if year else None, int(month), int(day), weekday)
    if kind == "COUNT":
        return (m.group(1), _KANJI_DIGITS.get(m.group(2)) or int(m.group(2)))
    if kind == "DIGITDAY":
        digit = int(m.group(1))
        return tuple(d for d in range(1, 32) if d % 10 == digit)
    if kind == "AMPM":
        return AFTERNOON if text.startswith("午後") else MORNING
    return None

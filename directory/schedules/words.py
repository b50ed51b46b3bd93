""":func:`describe`: a parse in plain words for resource pages and printed maps, in
Japanese or English (every phrase is in the message catalogue).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from directory.i18n import N_, translate
from directory.schedules.values import (
    _EVEN_MONTHS,
    _ODD_MONTHS,
    _WEEKDAYS,
    HOLIDAY_CLOSED,
    ONE_DAY,
    ParsedSchedule,
    ScheduleParse,
    _windows,
)
from directory.weekdays import MONTH_EN, WEEKDAY_CODES, WEEKDAY_EN


def _time_words(s: ParsedSchedule, lang: str) -> str:
    dash = translate(N_("–"), lang)  # the range dash: ～ in Japanese
    start = f"{s.start_time.hour}:{s.start_time.minute:02d}" if s.start_time else ""
    end = f"{s.end_time.hour}:{s.end_time.minute:02d}" if s.end_time else ""
    if not start and not end:
        return ""
    return f"{start}{dash}{end}"


# Words that differ by more than a translation (ordinals, the names of days and months)
# are the languages' own forms, as CLDR data would be; every phrase is in the catalogue.
_NTH = N_("{n}th")
_NTH_DAY = N_("{n}th (day of the month)")
_ORDINAL_MSGIDS = {1: N_("{n}st"), 2: N_("{n}nd"), 3: N_("{n}rd")}
_MONTH_DAY_MSGIDS = {
    1: N_("{n}st (day of the month)"),
    2: N_("{n}nd (day of the month)"),
    3: N_("{n}rd (day of the month)"),
}


def _ordinal(n: int, lang: str) -> str:
    """「第2」「最終」 / 2nd, last (of a weekday in the month)."""
    if n == -1:
        return translate(N_("last"), lang)
    return translate(_ORDINAL_MSGIDS.get(n if n < 20 else n % 10, _NTH), lang, n=n)


def _month_day(n: int, lang: str) -> str:
    """「15日」「末日」 / 15th, last day."""
    if n == -1:
        return translate(N_("last day"), lang)
    return translate(_MONTH_DAY_MSGIDS.get(n if n < 20 else n % 10, _NTH_DAY), lang, n=n)


def _weekday(d: int, lang: str) -> str:
    return translate(WEEKDAY_EN[d], lang)


def _month(m: int, lang: str) -> str:
    return translate(MONTH_EN[m - 1], lang)


def _join(items: list[str], lang: str) -> str:
    """a, b, c (Japanese: a・b・c)."""
    text = items[0] if items else ""
    for item in items[1:]:
        text = translate(N_("{a}, {b}"), lang, a=text, b=item)
    return text


def _and(items: list[str], lang: str) -> str:
    """a, b and c (Japanese: a・b・c)."""
    if len(items) <= 1:
        return "".join(items)
    return translate(N_("{a} and {b}"), lang, a=_join(items[:-1], lang), b=items[-1])


def _day_words(rule: str, lang: str) -> str:
    parts = dict(p.split("=", 1) for p in rule.split(";"))
    freq = parts.get("FREQ")
    if freq == "DAILY":
        return translate(N_("Daily"), lang)
    if freq == "WEEKLY":
        days = [WEEKDAY_CODES.index(c) for c in parts.get("BYDAY", "").split(",") if c]
        every_other = parts.get("INTERVAL") == "2"
        if set(days) == _WEEKDAYS and not every_other:
            return translate(N_("Weekdays"), lang)
        names = _join([_weekday(d, lang) for d in days], lang)
        if every_other:
            return translate(N_("Every other week {days}"), lang, days=names)
        return translate(N_("Weekly {days}"), lang, days=names)
    if freq == "MONTHLY" and "BYDAY" in parts:
        by_day: dict[int, list[int]] = {}
        for item in parts["BYDAY"].split(","):
            n, code = int(item[:-2]), item[-2:]
            by_day.setdefault(WEEKDAY_CODES.index(code), []).append(n)
        words = [
            translate(
                N_("{ordinals} {weekday}"),
                lang,
                ordinals=_and([_ordinal(n, lang) for n in ns], lang),
                weekday=_weekday(d, lang),
            )
            for d, ns in by_day.items()
        ]
        text = words[0]
        for word in words[1:]:
            text = translate(N_("{a}; {b}"), lang, a=text, b=word)
        return translate(N_("Monthly {days}"), lang, days=text)
    if freq == "MONTHLY" and "BYMONTHDAY" in parts:
        monthdays = [int(d) for d in parts["BYMONTHDAY"].split(",")]
        return translate(
            N_("Monthly on the {days}"),
            lang,
            days=_and([_month_day(d, lang) for d in monthdays], lang),
        )
    return rule


def _month_words(months: frozenset[int], lang: str) -> str:
    """「12月～3月」「8月のみ」「奇数月」「5月・7月・9月・11月」「1月・8月休み」 (and English)."""

    def window(a: int, b: int) -> str:
        if a == b:
            return _month(a, lang)
        return translate(N_("{start}–{end}"), lang, start=_month(a, lang), end=_month(b, lang))

    if months == _ODD_MONTHS:
        return translate(N_("odd months"), lang)
    if months == _EVEN_MONTHS:
        return translate(N_("even months"), lang)
    if len(months) >= 10:  # 「8月休み」 rather than 「9月～7月」
        closed = [window(a, b) for a, b in _windows(frozenset(set(range(1, 13)) - months))]
        return translate(N_("closed in {months}"), lang, months=_and(closed, lang))
    windows = _windows(months)
    if len(windows) == 1 and windows[0][0] == windows[0][1]:
        return translate(N_("{month} only"), lang, month=_month(windows[0][0], lang))
    return _and([window(a, b) for a, b in windows], lang)


def _modifier_words(s: ParsedSchedule, lang: str, months: frozenset[int] | None) -> list[str]:
    words: list[str] = []
    if months:
        words.append(_month_words(months, lang))
    if s.holiday_rule == HOLIDAY_CLOSED:
        words.append(translate(N_("closed on public holidays"), lang))
    if s.year_end_closed:
        words.append(translate(N_("closed 29 Dec–3 Jan"), lang))
    return words


def _merge_seasons(
    schedules: Sequence[ParsedSchedule],
) -> list[tuple[ParsedSchedule, frozenset[int] | None]]:
    """Rows that differ only in their season window (「奇数月」 gives six) as one pattern
    with the union of their months (None: the whole year)."""
    merged: dict[ParsedSchedule, frozenset[int] | None] = {}
    for s in schedules:
        base = replace(s, season_start_month=None, season_end_month=None)
        season = s.season_months()
        months = None if season is None else frozenset(season)
        if base in merged:
            before = merged[base]
            months = None if before is None or months is None else before | months
        merged[base] = None if months is None or len(months) == 12 else months
    return list(merged.items())


def _wrap(words: list[str], lang: str) -> str:
    if not words:
        return ""
    text = words[0]
    for word in words[1:]:
        text = translate(N_(", "), lang).join((text, word))
    return translate(N_(" ({words})"), lang, words=text)


def describe(parse: ScheduleParse, lang: str = "ja") -> str:
    """The schedule in words for resource pages and printed maps (large text, plain words).

    「毎月 第2・第4木曜 10:00～12:00（12月～3月、祝日休み）」, 「毎週 月・水・金 9:00～11:00」,
    「休止中」; what was not understood is shown, never hidden:
    「（解釈できない記述: 不定期）」. ``lang="en"`` gives English (the catalogue's words).
    """
    bodies: list[str] = []
    patterns = _merge_seasons(parse.schedules)
    modifiers = [tuple(_modifier_words(s, lang, months)) for s, months in patterns]
    shared = len(set(modifiers)) == 1
    for (s, _months), mods in zip(patterns, modifiers, strict=True):
        if s.rrule == ONE_DAY and s.anchor_date is not None:
            days = translate(
                N_("{month} {day}, {year}"),
                lang,
                month=_month(s.anchor_date.month, lang),
                day=s.anchor_date.day,
                year=s.anchor_date.year,
            )
        else:
            days = _day_words(s.rrule, lang) if s.rrule else ""
        body = " ".join(p for p in (days, _time_words(s, lang)) if p)
        if not shared:
            body += _wrap(list(mods), lang)
        if body:
            bodies.append(body)
    text = " / ".join(dict.fromkeys(bodies))
    if shared and modifiers and modifiers[0]:
        mods_text = _wrap(list(modifiers[0]), lang)
        text = text + mods_text if text else mods_text.strip().strip("（）()")
    if parse.paused:
        text = (
            translate(N_("Paused: {schedule}"), lang, schedule=text)
            if text
            else translate(N_("Paused"), lang)
        )
    if not parse.understood:
        fragments = translate(N_(", "), lang).join(parse.not_understood)
        note = translate(N_("(not understood: {fragments})"), lang, fragments=fragments)
        text = translate(N_("{schedule} {note}"), lang, schedule=text, note=note) if text else note
    return text

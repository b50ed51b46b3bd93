"""Occurrences of parsed schedules: :func:`to_rrule_set` (the season as BYMONTH,
holidays and 年末年始 as EXDATEs, 隔週 counted from its anchor week) and :func:`expand`.
:func:`first_on_or_after` and :func:`fortnight_start` are public because the matcher's
snapshot computes the same days with numpy.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from typing import Any

import jpholiday
from dateutil.rrule import rrule, rruleset, rrulestr

from directory.schedules.values import (
    HOLIDAY_CLOSED,
    ONE_DAY,
    YEAR_END_DAYS,
    Occurrence,
    ParsedSchedule,
    ScheduleParse,
)
from directory.weekdays import WEEKDAY_CODES


def first_on_or_after(start: dt.date, weekdays: Sequence[int]) -> dt.date:
    return min(start + dt.timedelta(days=(w - start.weekday()) % 7) for w in weekdays)


def fortnight_start(anchor: dt.date, start: dt.date, interval: int) -> dt.date:
    """The first day on or after ``start`` from which an ``interval``-weekly rule counted
    from ``anchor``'s week (weeks start on Monday, RFC 5545's WKST=MO) is in step."""
    monday = start - dt.timedelta(days=start.weekday())
    weeks = (monday - (anchor - dt.timedelta(days=anchor.weekday()))).days // 7
    if weeks % interval == 0:
        return start
    return monday + dt.timedelta(weeks=interval - weeks % interval)


@functools.lru_cache(maxsize=512)
def _holidays(start: dt.date, end: dt.date) -> tuple[dt.date, ...]:
    """jpholiday's holidays in a range: worked out anew on every call (about 15 ms for a
    year), and every schedule of a page asks for the same range."""
    return tuple(day for day, _name in jpholiday.between(start, end))


def to_rrule_set(s: ParsedSchedule, start: dt.date, end: dt.date) -> rruleset:
    """The occurrences of ``s`` from ``start`` to ``end`` (both included) as an rruleset.

    DTSTART is ``start`` at the schedule's start time (midnight without one). 隔週
    (``INTERVAL=2`` weekly) counts its weeks from the week of ``s.anchor_date`` (WKST=MO), so
    every range gives the same dates. A one-off date (:data:`ONE_DAY`) is its anchor. A row
    stored before anchors existed (anchor None) is still counted from the first matching
    weekday on or after ``start``, as before; such text is reported as not understood when
    parsed again. The season becomes BYMONTH; 祝日休み adds every jpholiday holiday
    (including 振替休日 and 国民の休日) as an EXDATE, 年末年始休み 12/29–1/3.
    """
    rs = rruleset()
    if s.rrule is None or end < start:
        return rs
    at = s.start_time or dt.time(0)
    if s.rrule == ONE_DAY:
        if s.anchor_date is not None and start <= s.anchor_date <= end:
            once = s.anchor_date
            shut = (s.holiday_rule == HOLIDAY_CLOSED and jpholiday.is_holiday(once)) or (
                s.year_end_closed and (once.month, once.day) in YEAR_END_DAYS
            )
            in_season = s.season_months()
            if not shut and (not in_season or once.month in in_season):
                rs.rdate(dt.datetime.combine(once, at))
        return rs
    rule = rrulestr(s.rrule, dtstart=dt.datetime.combine(start, at))
    if not isinstance(rule, rrule):  # pragma: no cover - one RRULE body gives one rrule
        raise TypeError(f"not a single RRULE: {s.rrule!r}")
    changes: dict[str, Any] = {"until": dt.datetime.combine(end, at)}
    parts = dict(p.split("=", 1) for p in s.rrule.split(";"))
    interval = int(parts.get("INTERVAL", "1"))
    if parts.get("FREQ") == "WEEKLY" and interval > 1:
        weekdays = [WEEKDAY_CODES.index(c) for c in parts.get("BYDAY", "").split(",") if c]
        if s.anchor_date is not None:
            first = fortnight_start(s.anchor_date, start, interval)
            changes["dtstart"] = dt.datetime.combine(first, at)
            changes["wkst"] = 0
        elif weekdays:
            changes["dtstart"] = dt.datetime.combine(first_on_or_after(start, weekdays), at)
    months = s.season_months()
    if months:
        changes["bymonth"] = months
    rs.rrule(rule.replace(**changes))
    if s.holiday_rule == HOLIDAY_CLOSED:
        for holiday in _holidays(start, end):
            rs.exdate(dt.datetime.combine(holiday, at))
    if s.year_end_closed:
        for year in range(start.year - 1, end.year + 1):
            for month, day in YEAR_END_DAYS:
                closed = dt.date(year if month == 12 else year + 1, month, day)
                if start <= closed <= end:
                    rs.exdate(dt.datetime.combine(closed, at))
    return rs


def expand(
    parse: ScheduleParse | ParsedSchedule | Sequence[ParsedSchedule],
    start: dt.date,
    end: dt.date,
) -> list[Occurrence]:
    """Every occurrence from ``start`` to ``end`` (both included), sorted and without repeats.

    A date-only ``start`` (and ``end`` None) when the schedule has no start time. Schedules
    without an RRULE have no occurrences. A paused parse is expanded like any other (the
    resource's status decides whether it is offered). Deterministic for a given range;
    see :func:`to_rrule_set` for how 隔週 is anchored.
    """
    if isinstance(parse, ScheduleParse):
        schedules: Sequence[ParsedSchedule] = parse.schedules
    elif isinstance(parse, ParsedSchedule):
        schedules = (parse,)
    else:
        schedules = parse
    found: set[Occurrence] = set()
    for s in schedules:
        for when in to_rrule_set(s, start, end):
            day = when.date()
            finish = dt.datetime.combine(day, s.end_time) if s.end_time else None
            found.add(Occurrence(when if s.start_time else day, finish))
    return sorted(found, key=Occurrence.sort_key)

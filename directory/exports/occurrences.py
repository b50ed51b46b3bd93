"""The occurrences of stored schedule rows in an export's window, exactly as
:func:`directory.schedules.expand` computes them, and which rows an RRULE can carry (with
their EXDATEs): shared by the iCalendar and HSDS exports, cached per distinct rule.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from functools import lru_cache
from typing import Any

from directory import schedules as sched
from directory.exports.common import _source_text, stored_schedule
from directory.models import Resource


@lru_cache(maxsize=8192)
def _rule_occurrences(
    ps: sched.ParsedSchedule, start: dt.date, end: dt.date
) -> tuple[tuple[dt.datetime, ...], tuple[dt.datetime, ...]]:
    """(every occurrence of the bare rule, the occurrences left after holidays and
    年末年始) in the window, exactly as :func:`directory.schedules.expand` computes them.

    Cached: schedule texts repeat heavily across a directory.
    """
    bare = replace(ps, holiday_rule=sched.HOLIDAY_OPEN, year_end_closed=False)
    return (tuple(sched.to_rrule_set(bare, start, end)), tuple(sched.to_rrule_set(ps, start, end)))


def _key(ps: sched.ParsedSchedule, when: dt.datetime) -> tuple[Any, ...]:
    """What makes two occurrences the same for :func:`directory.schedules.expand`."""
    return (when if ps.start_time else when.date(), ps.end_time)


def _expressible(
    r: Resource, start: dt.date, end: dt.date
) -> tuple[
    list[tuple[int, sched.ParsedSchedule, list[dt.datetime], list[dt.datetime]]], str | None
]:
    """The schedule rows an RRULE can carry, each with its kept occurrences and EXDATEs,
    or the reason why nothing can be written.

    An occurrence already given by an earlier row of the same resource is excluded from
    the later row, because ``expand`` returns each occurrence once.
    """
    rows = list(r.schedules)
    if not rows:
        return [], None
    if any(not s.understood for s in rows):
        parse = sched.parse_schedule(_source_text(r))
        return [], "解釈できない記述: " + "、".join(parse.not_understood or (_source_text(r),))
    out, reason = _expressible_rules(tuple(stored_schedule(s) for s in rows), start, end)
    return [(n, ps, list(keep), list(exdates)) for n, ps, keep, exdates in out], reason


@lru_cache(maxsize=4096)
def _expressible_rules(
    rules: tuple[sched.ParsedSchedule, ...], start: dt.date, end: dt.date
) -> tuple[
    tuple[tuple[int, sched.ParsedSchedule, tuple[dt.datetime, ...], tuple[dt.datetime, ...]], ...],
    str | None,
]:
    """:func:`_expressible` for understood rows, cached by the rules: a directory has few
    distinct schedules, and walking two years of occurrences per resource is what made a
    national calendar slow."""
    out = []
    seen: set[tuple[Any, ...]] = set()
    for n, ps in enumerate(rules):
        if ps.rrule is None:
            continue
        bare, kept = _rule_occurrences(ps, start, end)
        keep = [w for w in kept if _key(ps, w) not in seen]
        seen.update(_key(ps, w) for w in keep)
        if not keep:
            continue
        keep_set = set(keep)
        exdates = tuple(w for w in bare if w > keep[0] and w not in keep_set)
        out.append((n, ps, tuple(keep), exdates))
    if out:
        return tuple(out), None
    if all(ps.rrule is None for ps in rules):
        return (), "繰り返す曜日・日付の記載がありません"
    return (), f"{start.isoformat()}～{end.isoformat()} に該当する日がありません"

""":func:`parse_schedule`: one text read into schedules, every fragment not understood
reported in the coordinator's own spelling (see the conventions in
:mod:`directory.schedules`).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

from directory.schedules.reader import _CLOSURE_HINT, _DAY_SUBJECTS, _TRANSPARENT, _Reader
from directory.schedules.rules import _Days, _Group, _rrules
from directory.schedules.tokens import _keyed, _Tok, _tokenize
from directory.schedules.values import (
    _ALL_DAYS,
    DEFAULT_LENGTH,
    HOLIDAY_CLOSED,
    HOLIDAY_OPEN,
    ONE_DAY,
    ParsedSchedule,
    ScheduleParse,
    _windows,
)


def _is_bad(tok: _Tok) -> bool:
    return tok.state == "bad" or (tok.kind == "UNKNOWN" and tok.state != "label")


def _fragments(
    text: str,
    key: str,
    spans: list[tuple[int, int]],
    toks: list[_Tok],
    extra: list[tuple[int, int]],
) -> tuple[str, ...]:
    """The not-understood parts, in the original spelling.

    Bad tokens (unknown text, words that could not be placed) joined by nothing, fillers,
    ・ or と form one fragment (「月に1回程度」, 「祝日の場合は翌日」, 「5月・7月」).
    """
    joining = _TRANSPARENT | {"SEP:tight"}
    runs: list[tuple[int, int]] = []
    current: list[_Tok] = []

    def flush() -> None:
        bad = [t for t in current if _is_bad(t)]
        if bad:
            runs.append((current[0].start, current[-1].end))
        current.clear()

    for tok in toks:
        if _is_bad(tok) or tok.kind in joining:
            if current and current[-1].end != tok.start:
                flush()
            current.append(tok)
        else:
            flush()
    flush()
    # trim fillers hanging at either end of a run that has unknown text in the middle
    trimmed: list[tuple[int, int]] = []
    for a, b in runs:
        inner = [t for t in toks if a <= t.start and t.end <= b]
        while inner and inner[0].kind in joining and inner[0].state != "bad":
            inner.pop(0)
        while inner and inner[-1].kind in joining and inner[-1].state != "bad":
            inner.pop()
        trimmed.append((inner[0].start, inner[-1].end))
    # ambiguous closure lists cover several tokens; they replace the runs inside them
    merged: list[tuple[int, int]] = []
    for a, b in sorted(trimmed + extra):
        if merged and a < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    out: list[str] = []
    for a, b in merged:
        fragment = text[spans[a][0] : spans[b - 1][1]].strip()
        if fragment and fragment not in out:
            out.append(fragment)
    return tuple(out)


def _default_end(start: dt.time) -> dt.time:
    """「13:30～」: an event written with a start only lasts :data:`DEFAULT_LENGTH` (until
    23:59 at the latest), so calendars and exports never get a zero-length event."""
    end = dt.datetime.combine(dt.date(2000, 1, 1), start) + DEFAULT_LENGTH
    return end.time() if end.date().day == 1 else dt.time(23, 59)


def parse_schedule(text: str | None, anchor_from: dt.date | None = None) -> ScheduleParse:
    """Read one schedule written in ordinary Japanese.

    ``anchor_from`` is the day the text is imported: 隔週 with no date in the text is
    anchored on its first occurrence on or after it, and a date written without a year
    (「6月3日」) is the one nearest it. Without it such a 隔週 is reported, not guessed.
    Cached: the importer calls this for up to 150,000 rows whose schedule texts repeat
    heavily, and the result (frozen dataclasses) is safe to share. Never raises on odd
    input: whatever is not understood is reported in ``not_understood``.
    """
    return _parse_schedule(text or "", anchor_from)


@lru_cache(maxsize=65_536)
def _parse_schedule(source: str, anchor_from: dt.date | None) -> ScheduleParse:
    key, spans = _keyed(source)
    if not key:
        return ScheduleParse(source, (), paused=False, understood=True)
    toks = _tokenize(key)
    reader = _Reader(key, toks)
    reader.apply_exceptions()
    reader.apply_verbs()
    reader.apply_subjects()
    # 「土日祝日も営業」: 「も」 says "as well as the other days", which the text does not
    # name; with no other open days written it is not read as "only on those days"
    also = [i for i, t in enumerate(toks) if t.kind in _DAY_SUBJECTS and t.state == "open"]
    named = _DAY_SUBJECTS | {"DAILY", "NTH", "BIWEEKLY", "MONTHDAY", "MONTHEND", "DIGITDAY"}
    if also and not any(t.kind in named and t.state == "" for t in toks):
        reader._bad(also)
    season = reader.season()
    groups = reader.groups()
    had_open_days = any(
        not g.days.empty() or g.days.bare_nth or g.days.bare_fortnight for g in groups
    )
    groups = reader.refine(groups)
    allday = [t for t in toks if t.kind == "ALLDAY"]
    if allday and not had_open_days:  # 「24時間」 alone: every day, all day
        groups.append(_Group(days=_Days(weekly=set(_ALL_DAYS)), has_day_items=True))
        had_open_days = True
    groups = reader.close_days(groups, had_open_days)
    groups = reader.half_days(groups)
    # 「月～日 7:00～21:00 年中無休」: days with no time that a timed group already has add
    # nothing (one occurrence a day, not two)
    timed_days = set().union(*(g.days.weekly for g in groups if g.time is not None))
    groups = [
        g
        for g in groups
        if g.time is not None
        or not g.days.weekly
        or g.days.fortnightly
        or g.days.nth
        or g.days.monthdays
        or not g.days.weekly <= timed_days
    ]
    dates, fortnight_anchor = reader.dates(groups, anchor_from)
    if dates and not groups:  # 「7月20日(月)」: a date with no time
        groups.append(_Group())

    holiday_closed = reader.holiday_closed
    holiday_rule = HOLIDAY_CLOSED if holiday_closed else HOLIDAY_OPEN
    year_end_closed = reader.year_end_closed
    # months that are not one window (「奇数月」「1月・8月休み」) give one row per window
    windows: list[tuple[int | None, int | None]] = list(_windows(season)) or [(None, None)]
    schedules: list[ParsedSchedule] = []
    rules: list[str] = []
    for group in groups:
        start, end = group.time or (None, None)
        if start is not None and end is None:
            end = _default_end(start)
        day_rules: list[str | None] = [*_rrules(group.days)] or [None]  # None: times only
        if day_rules == [None] and dates:
            day_rules = [ONE_DAY] * len(dates)
        for n, rule in enumerate(day_rules):
            if rule is None and start is None and end is None:
                continue
            if rule is None and group.time_tok is not None:
                group.time_tok.state = "bad"  # 「9時～17時」 alone: hours with no days
            if rule is not None and "INTERVAL=2" in rule and fortnight_anchor is None:
                continue  # 隔週 with no anchor: reported, not guessed
            if rule is not None and rule not in rules:
                rules.append(rule)
            anchor = None
            if rule == ONE_DAY:
                anchor = dates[n]
            elif rule is not None and "INTERVAL=2" in rule:
                anchor = fortnight_anchor
            for first, last in windows:
                schedule = ParsedSchedule(
                    rule,
                    start,
                    end,
                    first,
                    last,
                    holiday_rule=holiday_rule,
                    year_end_closed=year_end_closed,
                    anchor_date=anchor,
                )
                if schedule not in schedules:
                    schedules.append(schedule)
    if not schedules and (season or holiday_closed or reader.year_end_closed):
        schedules += [
            ParsedSchedule(
                None, None, None, a, b, holiday_rule=holiday_rule, year_end_closed=year_end_closed
            )
            for a, b in windows
        ]
    reader.check_counts(rules, len(season) if season else 12)
    if schedules or reader.paused:
        reader.accept_labels()

    bad = _fragments(source, key, spans, toks, reader.extra_bad)
    if any(t.kind == "CLOSED" and t.state == "bad" for t in toks) or any(
        _CLOSURE_HINT.search(fragment) for fragment in bad
    ):
        # a closure that could not be placed: what remains would read as "open then"
        schedules = []
    return ScheduleParse(
        source_text=source,
        schedules=tuple(schedules),
        paused=reader.paused,
        understood=not bad,
        not_understood=bad,
    )

"""What a schedule parse gives: :class:`ParsedSchedule` (one row of
:class:`~directory.models.Schedule`), :class:`ScheduleParse`, :class:`Occurrence`, and the
constants the conventions of :mod:`directory.schedules` stand for (午前, 午後, 冬期, 年末年始,
a one-off date, the length of an event written with a start only).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

HOLIDAY_OPEN = "open"
HOLIDAY_CLOSED = "closed"

#: 午前中 / 午前 and 午後 written without a time (see :mod:`directory.schedules`).
MORNING = (dt.time(9), dt.time(12))
AFTERNOON = (dt.time(13), dt.time(17))
#: The seasons 冬期, 降雪時 … stand for.
WINTER = (12, 3)
#: 年末年始: 29 December – 3 January.
YEAR_END_DAYS = ((12, 29), (12, 30), (12, 31), (1, 1), (1, 2), (1, 3))

#: The RRULE of a one-off date (「6月3日(火)」): one occurrence on the schedule's anchor.
ONE_DAY = "FREQ=DAILY;COUNT=1"
#: An event written with a start only (「13:30～」) lasts this long (see :func:`expand`).
DEFAULT_LENGTH = dt.timedelta(hours=1)

_ALL_DAYS = frozenset(range(7))
_WEEKDAYS = frozenset(range(5))
_ODD_MONTHS = frozenset(range(1, 13, 2))
_EVEN_MONTHS = frozenset(range(2, 13, 2))


@dataclass(frozen=True)
class ParsedSchedule:
    """One recurring pattern; the fields are the columns of :class:`~directory.models.Schedule`.

    ``rrule`` is an RFC 5545 RRULE body without DTSTART (``FREQ=WEEKLY;BYDAY=MO,WE,FR``,
    ``FREQ=MONTHLY;BYDAY=2TH,4TH``, ``FREQ=MONTHLY;BYMONTHDAY=15``,
    ``FREQ=WEEKLY;INTERVAL=2;BYDAY=TU``, ``FREQ=DAILY``); ``None`` when the text gives no
    days (only a time, or only 祝日休み). The season is kept out of the RRULE in its own
    columns (it may wrap the year end: 12, 3); :func:`to_rrule_set` adds it as BYMONTH.
    """

    rrule: str | None
    start_time: dt.time | None = None
    end_time: dt.time | None = None
    season_start_month: int | None = None
    season_end_month: int | None = None
    holiday_rule: str = HOLIDAY_OPEN
    year_end_closed: bool = False
    anchor_date: dt.date | None = None

    def season_months(self) -> tuple[int, ...] | None:
        """The months of the season in calendar order of the window (12, 1, 2, 3), or None."""
        if self.season_start_month is None or self.season_end_month is None:
            return None
        return _window_months(self.season_start_month, self.season_end_month)


@dataclass(frozen=True)
class ScheduleParse:
    """What :func:`parse_schedule` made of one text.

    ``understood`` is False as soon as one meaningful fragment was not understood; the
    fragments are in ``not_understood`` as the coordinator wrote them. ``schedules`` may be
    empty (empty text, 「休止中」 alone, 「不定期」).
    """

    source_text: str
    schedules: tuple[ParsedSchedule, ...]
    paused: bool
    understood: bool
    not_understood: tuple[str, ...] = ()

    def as_rows(self) -> list[dict[str, Any]]:
        """Keyword arguments for :class:`~directory.models.Schedule`, one dict per row.

        A non-empty text that gave no schedule still gives one row (``rrule`` None) so that
        ``source_text`` and ``understood`` are stored and the coordinator can see them.
        """
        schedules = self.schedules
        if not schedules and self.source_text.strip():
            schedules = (ParsedSchedule(rrule=None),)
        return [
            {
                "rrule": s.rrule,
                "start_time": s.start_time,
                "end_time": s.end_time,
                "season_start_month": s.season_start_month,
                "season_end_month": s.season_end_month,
                "holiday_rule": s.holiday_rule,
                "year_end_closed": s.year_end_closed,
                "anchor_date": s.anchor_date,
                "source_text": self.source_text,
                "understood": self.understood,
            }
            for s in schedules
        ]


@dataclass(frozen=True, order=True)
class Occurrence:
    """One occurrence: a datetime start, or a date when the schedule has no start time.

    ``end`` is None when no end time is known. Occurrences from schedules with and without
    times cannot be compared with ``<`` (like dates and datetimes); :func:`expand` sorts them
    by :meth:`sort_key`.
    """

    start: dt.datetime | dt.date
    end: dt.datetime | None = None

    @property
    def day(self) -> dt.date:
        return self.start.date() if isinstance(self.start, dt.datetime) else self.start

    def sort_key(self) -> tuple[dt.date, int, dt.time, int, dt.datetime]:
        timed = isinstance(self.start, dt.datetime)
        at = self.start.time() if isinstance(self.start, dt.datetime) else dt.time(0)
        return (self.day, int(timed), at, int(self.end is not None), self.end or dt.datetime.min)


def _window_months(first: int, last: int) -> tuple[int, ...]:
    return tuple((first - 1 + k) % 12 + 1 for k in range((last - first) % 12 + 1))


def _windows(months: frozenset[int] | None) -> list[tuple[int, int]]:
    """The months as windows in calendar order of their first month: {12, 1, 2, 3, 8} →
    [(8, 8), (12, 3)]; [] for the whole year (None)."""
    if months is None or len(months) == 12:
        return []
    out: list[tuple[int, int]] = []
    for first in sorted(m for m in months if (m - 2) % 12 + 1 not in months):
        last = first
        while last % 12 + 1 in months:
            last = last % 12 + 1
        out.append((first, last))
    return out

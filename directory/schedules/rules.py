"""The days a group of the text names (:class:`_Days`, with its time in
:class:`_Group`) and the RFC 5545 RRULEs they become; how many days a week or a month
those rules give (月2回 and 週2回 are checked against it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from directory.schedules.tokens import _Tok
from directory.schedules.values import _ALL_DAYS
from directory.weekdays import WEEKDAY_CODES


@dataclass
class _Days:
    """The day items of one group of the text (before they become RRULEs)."""

    weekly: set[int] = field(default_factory=set)
    fortnightly: set[int] = field(default_factory=set)
    nth: set[tuple[int, int]] = field(default_factory=set)  # (n, weekday); n = -1 is last
    monthdays: set[int] = field(default_factory=set)
    bare_nth: list[_Tok] = field(default_factory=list)  # 「第2・第4」 with no weekday
    bare_fortnight: list[_Tok] = field(default_factory=list)  # 「隔週」 with no weekday

    def empty(self) -> bool:
        return not (self.weekly or self.fortnightly or self.nth or self.monthdays)

    def copy(self) -> _Days:
        return _Days(set(self.weekly), set(self.fortnightly), set(self.nth), set(self.monthdays))


@dataclass
class _Group:
    days: _Days = field(default_factory=_Days)
    time: tuple[dt.time | None, dt.time | None] | None = None
    time_after_days: bool = False
    has_day_items: bool = False
    time_tok: _Tok | None = None


def _count_of(rules: list[str], per: str) -> int | None:
    """How many days a week (per 週) or a month (per 月) the rules give, when every week or
    every month has the same number; None otherwise (隔週, 第5, 31日, a weekly rule in 月N回)."""
    items: set[tuple[str, int]] = set()
    for rule in rules:
        parts = dict(p.split("=", 1) for p in rule.split(";"))
        freq = parts.pop("FREQ")
        if per == "週" and freq == "DAILY" and not parts:
            items |= {("WD", d) for d in range(7)}
        elif per == "週" and freq == "WEEKLY" and set(parts) == {"BYDAY"}:
            items |= {("WD", WEEKDAY_CODES.index(c)) for c in parts["BYDAY"].split(",")}
        elif per == "月" and freq == "MONTHLY" and set(parts) == {"BYDAY"}:
            for item in parts["BYDAY"].split(","):
                n = int(item[:-2])
                if not (1 <= n <= 4 or n == -1):
                    return None
                items.add((item[-2:], n))
        elif per == "月" and freq == "MONTHLY" and set(parts) == {"BYMONTHDAY"}:
            for day in map(int, parts["BYMONTHDAY"].split(",")):
                if not (1 <= day <= 28 or day == -1):
                    return None
                items.add(("DAY", day))
        else:
            return None
    return len(items) or None


def _rrules(days: _Days) -> list[str]:
    rules: list[str] = []
    if days.weekly == _ALL_DAYS:
        rules.append("FREQ=DAILY")
    elif days.weekly:
        rules.append(f"FREQ=WEEKLY;BYDAY={_byday(days.weekly)}")
    if days.fortnightly:
        rules.append(f"FREQ=WEEKLY;INTERVAL=2;BYDAY={_byday(days.fortnightly)}")
    if days.nth:
        ordered = sorted(days.nth, key=lambda nd: (nd[1], nd[0] if nd[0] > 0 else 9))
        rules.append("FREQ=MONTHLY;BYDAY=" + ",".join(f"{n}{WEEKDAY_CODES[d]}" for n, d in ordered))
    if days.monthdays:
        ordered_days = sorted(days.monthdays, key=lambda d: d if d > 0 else 99)
        rules.append("FREQ=MONTHLY;BYMONTHDAY=" + ",".join(map(str, ordered_days)))
    return rules


def _byday(weekdays: set[int]) -> str:
    return ",".join(WEEKDAY_CODES[d] for d in sorted(weekdays))

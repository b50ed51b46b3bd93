"""The four schedule cells of a row (利用可能曜日, 開始時間, 終了時間, 利用可能日時特記事項,
plus a closed-days column) joined into the one text :func:`directory.schedules.parse_schedule`
reads: time cells that must be times, schedule words written in a time column, closed days
read as 「…休み」.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from directory import schedules as sched
from directory.resources.cells import CellError
from directory.text import normalize


@lru_cache(maxsize=65536)
def _time_cell(cell: str) -> tuple[dt.time, dt.time | None]:
    """開始時間/終了時間: one time, or a whole range written in one cell."""
    try:
        return sched.parse_time(cell), None
    except ValueError:
        try:
            start, end = sched.parse_time_range(cell)
        except ValueError:
            raise CellError("not_a_time", value=cell) from None
        return start, end


def _fmt_time(t: dt.time) -> str:
    return f"{t.hour}:{t.minute:02d}"


def schedule_text(days: str | None, start: str | None, end: str | None, note: str | None) -> str:
    """The one text the schedule parser reads: weekdays, times, then the special notes."""
    times = ""
    if start and end:
        times = f"{start}～{end}"
    elif start:
        times = f"{start}～"
    elif end:
        times = f"～{end}"
    return " ".join(part for part in (days, times, note) if part)


@dataclass(frozen=True)
class _RowSchedule:
    """What one combination of the four schedule cells gives (the same for every row)."""

    errors: list[tuple[str, str, dict[str, Any]]]  # (column key, code, params)
    rows: tuple[dict[str, Any], ...]
    understood: bool
    paused: bool
    not_understood: str | None  # the warning's text, when some of it is not understood


def _row_schedule(
    days: str | None,
    start: str | None,
    end: str | None,
    note: str | None,
    *,
    anchor_from: dt.date | None = None,
) -> _RowSchedule:
    errors: list[tuple[str, str, dict[str, Any]]] = []

    def time_cell(key: str, cell: str | None) -> tuple[dt.time, dt.time | None] | None:
        if cell is None:
            return None
        try:
            return _time_cell(cell)
        except CellError as exc:
            errors.append((key, exc.code, exc.params))
            return None

    words: list[str] = []  # schedule words written in a time column (§3a)
    if start is not None and _schedule_words(start):
        words.append(start)
        start = None
    if end is not None and _schedule_words(end):
        words.append(end)
        end = None
    start_cell, end_cell = time_cell("start", start), time_cell("end", end)
    start_time = start_cell[0] if start_cell else None
    end_time = start_cell[1] if start_cell and start_cell[1] else None
    if end_cell is not None:
        if end_cell[1] is not None:
            errors.append(("end", "not_a_time", {"value": end}))
        elif end_time is None:
            end_time = end_cell[0]
    if start_time is not None and end_time is not None and end_time <= start_time:
        errors.append(("end", "end_before_start", {"start": start, "end": end or start}))
    source = schedule_text(
        days,
        _fmt_time(start_time) if start_time else None,
        _fmt_time(end_time) if end_time else None,
        " ".join(p for p in (*words, note) if p) or None,
    )
    if not source:
        return _RowSchedule(errors, (), True, False, None)
    parsed = sched.parse_schedule(source, anchor_from=anchor_from)
    not_understood = None
    if not parsed.understood:
        not_understood = "、".join(parsed.not_understood) or source
    return _RowSchedule(
        errors, tuple(parsed.as_rows()), parsed.understood, parsed.paused, not_understood
    )


_TIME_LIKE = re.compile(r"[\d:.時分半頃ごろ~〜～\-ー－‐午前後am pm]+")
_NO_CLOSED_DAYS = frozenset(
    normalize(w)
    for w in (
        "なし",
        "無し",
        "無休",
        "年中無休",
        "-",
        "ー",
        "―",
        "特になし",
        "定休日なし",
        "休館日なし",
    )
)
_CLOSED_SEPARATORS = re.compile(r"[、,，､/／]\s*|\s+")
_CLOSED_TAIL = re.compile(r"(?:休み|休館日?|休業日?|定休日?|休所日?|休日|閉館)$")


@lru_cache(maxsize=4096)
def _schedule_words(cell: str) -> bool:
    """Whether a time cell holds schedule words (「休止中」, 「毎月第4水曜日」) rather than a
    time: not a time, and not digits and time marks that merely fail to be one (25:99,
    10時～ 9時 stay errors in their column)."""
    try:
        _time_cell(cell)
        return False
    except CellError:
        pass
    return not _TIME_LIKE.fullmatch(normalize(cell))


@lru_cache(maxsize=4096)
def _closed_phrase(cell: str | None) -> str | None:
    """A closed-days cell as the schedule parser reads closures: 「土日祝」 → 「土日祝休み」,
    「土曜日、日曜日、祝日」 → 「土曜日・日曜日・祝日休み」; None when it says there are none."""
    if not cell:
        return None
    text = cell.strip()
    if normalize(text) in _NO_CLOSED_DAYS:
        return None
    text = _CLOSED_TAIL.sub("", text).strip()
    text = "・".join(p for p in _CLOSED_SEPARATORS.split(text) if p)
    return f"{text}休み" if text else None

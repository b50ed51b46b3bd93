"""An in-memory, column-oriented snapshot of the directory, built once, matched many times.

Why: matching must answer in about a millisecond against a national directory (300,000
resources). Asking the database per need, or scoring resources one by one in Python,
cannot do that; numpy over a few arrays can. So everything the engine asks of a resource
is precomputed here into one array per fact (one row per resource, rows ordered by
external ID so ties break deterministically) plus three indexes:

* **served districts → rows** (CSR ``served_ptr`` / ``served_rows``): a need in district D
  gathers the rows serving D, its area and its municipality (全域) with three slices;
* **a lat/lon grid of open venues** — resources that list no 対象地区 and so serve whoever
  reaches them (``grid_keys`` / ``grid_rows``, cells of 0.01° × 0.0125°, about 1 km; a
  second grid holds those offering 送迎): "venues within r metres" is a handful of
  ``searchsorted`` calls followed by an exact great-circle test on the few rows returned;
* **schedule patterns**: resources share a small number of distinct schedules (「月水金
  10:00～12:00」 is written thousands of times), so each distinct tuple of
  :class:`~directory.schedules.ParsedSchedule` is expanded once, over the days from ``on``
  to ``on + horizon_days + 365``, into one uint64 per day whose 48 bits are the 30-minute
  slots of that day (bit i = i×30 … i×30+30 minutes). A resource only stores its pattern
  number. A need's wanted weekdays, times and months then become a column selection and a
  bit mask: schedule fit is a gather and an AND.

Schedules are expanded with numpy rules equivalent to :func:`directory.schedules.to_rrule_set`
(weekly, fortnightly, nth weekday, day of month, daily, seasons, 祝日休み via jpholiday,
年末年始休み); any other RRULE falls back to dateutil through ``to_rrule_set`` itself.
A resource whose schedule was not understood (``schedule_understood`` False) or names no
days at all has pattern −1: the engine never treats it as available.

A snapshot is immutable once built (``version`` records which directory version it
reflects). When the directory changes, :func:`update_snapshot` makes the next one from it
by re-reading only the resources the change log names (:func:`directory.state.bump`) and
splicing their rows into copies of the arrays and indexes — milliseconds at 300,000
resources, where a rebuild takes seconds; a change that did not say which resources it
touched (an import, a district or category edit) is rebuilt whole.
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jpholiday
import numpy as np
from sqlalchemy import String, Text, bindparam, cast, func, select
from sqlalchemy.orm import Session

from directory.attributes import ATTRIBUTES
from directory.fiscal import today_in_japan
from directory.models import (
    District,
    Resource,
    Schedule,
    Venue,
    resource_category,
    resource_district,
)

# 隔週's in-step week: the helpers to_rrule_set uses, so the rule lives in one place
from directory.schedules import ParsedSchedule, to_rrule_set
from directory.schedules import first_on_or_after as _first_weekday
from directory.schedules import fortnight_start as _fortnight_start
from directory.taxonomy import Taxonomy, load_taxonomy
from directory.text import normalize
from directory.weekdays import WEEKDAY_CODES

__all__ = [
    "ALL_SLOTS",
    "MAX_UPDATE",
    "SLOT_MINUTES",
    "STATUS_CODES",
    "DirectorySnapshot",
    "DistrictRecord",
    "ResourceRecord",
    "build_snapshot",
    "expand_ranges",
    "slot_mask",
    "snapshot_from_records",
    "update_snapshot",
    "with_changes",
]

#: Resource status → the code stored in :attr:`DirectorySnapshot.status`.
STATUS_CODES: Mapping[str, int] = {"active": 0, "paused": 1, "ended": 2}
SLOT_MINUTES = 30
SLOTS_PER_DAY = 24 * 60 // SLOT_MINUTES  # 48: fits one uint64 per day
ALL_SLOTS = (1 << SLOTS_PER_DAY) - 1
#: A start time without an end (「10:00～」) is taken to last this long.
OPEN_ENDED_MINUTES = 60
#: Days in the "months" window (a need for 12月～3月 recorded in June looks a year ahead).
YEAR_DAYS = 365

# schedule_state values
SCHEDULE_KNOWN, SCHEDULE_NOT_WRITTEN, SCHEDULE_NOT_UNDERSTOOD = 0, 1, 2

# Grid of venues: cell size in degrees, keys iy * _NX + ix with the origin at (-90, -180).
_CELL_LAT = 0.01
_CELL_LON = 0.0125
_NX = 1 << 15
_M_PER_DEG_LAT = 111_194.9  # great-circle metres per degree on the 6,371,008.8 m sphere

_UNKNOWN_DAY = np.iinfo(np.int32).min


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class DistrictRecord:
    """One district of the hierarchy: enough to walk up to the municipality and to place a
    need without coordinates at the district's centroid."""

    id: int
    parent_id: int | None = None
    level: str = "district"
    code: str = ""
    name: str = ""
    lat: float | None = None  # centroid
    lon: float | None = None


@dataclass(frozen=True)
class ResourceRecord:
    """One resource as plain data (what :func:`build_snapshot` reads from the schema).

    ``lat``/``lon`` are the venue's (the resource's own coordinates when it has no
    venue); ``district_ids`` are the served districts (対象地区; 全域 = the municipality).
    A resource listing none is an *open venue*: it serves whoever can reach its venue.
    ``attributes`` use the words of :data:`ATTRIBUTES`; others are ignored.
    """

    id: int
    external_id: str
    name: str
    categories: tuple[str, ...]
    description: str | None = None
    district_ids: tuple[int, ...] = ()
    lat: float | None = None
    lon: float | None = None
    status: str = "active"
    public: bool = True
    capacity: int | None = None
    seats_left: int | None = None
    accepts_new: bool | None = None
    min_age: int | None = None
    attributes: tuple[str, ...] = ()
    transport: bool | None = None
    last_verified_on: dt.date | None = None
    schedules: tuple[ParsedSchedule, ...] = ()
    schedule_understood: bool = True


# --------------------------------------------------------------------------- calendar


@dataclass(frozen=True)
class _Calendar:
    """Per-day facts of the snapshot's window, as arrays indexed by day offset."""

    start: dt.date
    weekday: np.ndarray  # int8, 0 = Monday
    month: np.ndarray  # int8, 1–12
    dom: np.ndarray  # int8, day of month
    dim: np.ndarray  # int8, days in that month
    holiday: np.ndarray  # bool (jpholiday: 祝日, 振替休日, 国民の休日)
    year_end: np.ndarray  # bool (12/29–1/3)

    @classmethod
    def of(cls, start: dt.date, days: int) -> _Calendar:
        d64 = np.datetime64(start, "D") + np.arange(days)
        month_start = d64.astype("datetime64[M]")
        month = (month_start.astype(np.int64) % 12 + 1).astype(np.int8)
        dom = ((d64 - month_start.astype("datetime64[D]")).astype(np.int64) + 1).astype(np.int8)
        dim = (
            (month_start + 1).astype("datetime64[D]") - month_start.astype("datetime64[D]")
        ).astype(np.int8)
        weekday = ((np.arange(days) + start.weekday()) % 7).astype(np.int8)
        end = start + dt.timedelta(days=days - 1)
        holidays = np.array(
            [np.datetime64(d, "D") for d, _ in jpholiday.between(start, end)], dtype="datetime64[D]"
        )
        holiday = np.isin(d64, holidays)
        year_end = ((month == 12) & (dom >= 29)) | ((month == 1) & (dom <= 3))
        return cls(start, weekday, month, dom, dim, holiday, year_end)

    def __len__(self) -> int:
        return len(self.weekday)


_BYDAY_ITEM = re.compile(rf"([+-]?\d{{1,2}})?({'|'.join(WEEKDAY_CODES)})")


def _rule_days(rule: str, cal: _Calendar, anchor: dt.date | None = None) -> np.ndarray | None:
    """Days of ``rule`` (an RRULE body) in the window, or None when not one of our shapes.

    Equivalent to dateutil for the shapes the schedule parser writes; DTSTART is the
    window's first day. 隔週 counts its weeks from the week of ``anchor`` (the stored
    ``anchor_date``), whatever the window; a row stored before anchors existed (None) from
    the first matching weekday on or after the window's first day. The in-step day is
    computed by the helpers :func:`directory.schedules.to_rrule_set` itself uses.
    """
    try:
        parts = dict(p.split("=", 1) for p in rule.split(";") if p)
    except ValueError:
        return None
    freq = parts.pop("FREQ", None)
    interval = int(parts.pop("INTERVAL", "1")) if parts.get("INTERVAL", "1").isdigit() else 0
    byday = parts.pop("BYDAY", None)
    bymonthday = parts.pop("BYMONTHDAY", None)
    if parts or interval < 1:
        return None
    n = len(cal)
    if freq == "DAILY" and interval == 1 and byday is None and bymonthday is None:
        return np.ones(n, dtype=bool)
    if freq == "WEEKLY" and byday and bymonthday is None:
        items = byday.split(",")
        if not all(item in WEEKDAY_CODES for item in items):
            return None
        weekdays = [WEEKDAY_CODES.index(item) for item in items]
        mask = np.isin(cal.weekday, weekdays)
        if interval > 1:
            in_step = (
                _fortnight_start(anchor, cal.start, interval)
                if anchor is not None
                else _first_weekday(cal.start, weekdays)
            )  # DTSTART of to_rrule_set: a day of a week in step, on or after the window
            first = (in_step - cal.start).days
            monday = first - in_step.weekday()
            index = np.arange(n)
            mask &= (index >= first) & (((index - monday) // 7) % interval == 0)
        return mask
    if freq == "MONTHLY" and interval == 1 and byday and bymonthday is None:
        mask = np.zeros(n, dtype=bool)
        nth_from_start = (cal.dom - 1) // 7 + 1
        nth_from_end = (cal.dim - cal.dom) // 7 + 1
        for item in byday.split(","):
            m = _BYDAY_ITEM.fullmatch(item)
            if m is None:
                return None
            day = cal.weekday == WEEKDAY_CODES.index(m[2])
            if m[1] is None:
                mask |= day
            elif int(m[1]) > 0:
                mask |= day & (nth_from_start == int(m[1]))
            elif int(m[1]) < 0:
                mask |= day & (nth_from_end == -int(m[1]))
            else:
                return None
        return mask
    if freq == "MONTHLY" and interval == 1 and bymonthday and byday is None:
        mask = np.zeros(n, dtype=bool)
        for item in bymonthday.split(","):
            try:
                value = int(item)
            except ValueError:
                return None
            if value > 0:
                mask |= cal.dom == value
            elif value < 0:
                mask |= cal.dom == cal.dim + value + 1
            else:
                return None
        return mask
    return None


def _schedule_days(s: ParsedSchedule, cal: _Calendar) -> np.ndarray:
    """Which days of the window ``s`` occurs on (bool array)."""
    if s.rrule is None:
        return np.zeros(len(cal), dtype=bool)
    mask = _rule_days(s.rrule, cal, s.anchor_date)
    if mask is None:  # an RRULE shape we do not vectorise: let dateutil expand it
        end = cal.start + dt.timedelta(days=len(cal) - 1)
        mask = np.zeros(len(cal), dtype=bool)
        for when in to_rrule_set(s, cal.start, end):
            mask[(when.date() - cal.start).days] = True
        return mask
    months = s.season_months()
    if months:
        mask &= np.isin(cal.month, months)
    if s.holiday_rule == "closed":
        mask &= ~cal.holiday
    if s.year_end_closed:
        mask &= ~cal.year_end
    return mask


def slot_mask(start_minute: int, end_minute: int) -> int:
    """The 30-minute slots that [start, end) minutes touch, as bits of one uint64."""
    lo = max(0, start_minute // SLOT_MINUTES)
    hi = min(SLOTS_PER_DAY, -(-end_minute // SLOT_MINUTES))
    if hi <= lo:
        return 0
    return ((1 << hi) - 1) ^ ((1 << lo) - 1)


def _minutes(t: dt.time) -> int:
    return t.hour * 60 + t.minute


def _schedule_slots(s: ParsedSchedule) -> tuple[int, bool]:
    """(slot bits, timeless): a schedule without times covers the whole day, flagged."""
    if s.start_time is None and s.end_time is None:
        return ALL_SLOTS, True
    if s.start_time is None:
        assert s.end_time is not None
        end = _minutes(s.end_time)
        return slot_mask(end - OPEN_ENDED_MINUTES, end), False
    start = _minutes(s.start_time)
    end = _minutes(s.end_time) if s.end_time is not None else start + OPEN_ENDED_MINUTES
    return slot_mask(start, end), False


# --------------------------------------------------------------------------- snapshot


class DirectorySnapshot:
    """The directory as numpy columns (one row per resource) plus the indexes above.

    Built by :func:`build_snapshot` or :func:`snapshot_from_records`; treat as read-only.
    Schedules can be evaluated for needs whose date ``on`` lies in
    ``[self.on, self.on + horizon_days]`` (:meth:`day_offset`).
    """

    # (the attributes are assigned by _build; listed here for readers and type checkers)
    version: int
    on: dt.date
    horizon_days: int
    days: int
    taxonomy: Taxonomy
    category_codes: tuple[str, ...]
    category_bit: dict[str, int]
    category_masks: dict[str, tuple[tuple[int, int], ...]]  # code → ((depth, mask), …)
    ids: np.ndarray
    external_ids: list[str]
    names: list[str]
    descriptions: list[str]
    cat_bits: np.ndarray
    lat: np.ndarray
    lon: np.ndarray
    lat_rad: np.ndarray
    lon_rad: np.ndarray
    cos_lat: np.ndarray
    status: np.ndarray
    public: np.ndarray
    capacity: np.ndarray
    seats_left: np.ndarray
    accepts_new: np.ndarray
    min_age: np.ndarray
    attr_bits: np.ndarray
    transport: np.ndarray
    verified_day: np.ndarray
    district_ptr: np.ndarray
    district_idx: np.ndarray
    district_ids: np.ndarray
    district_parent: np.ndarray
    district_lat: np.ndarray
    district_lon: np.ndarray
    district_level: list[str]
    served_ptr: np.ndarray
    served_rows: np.ndarray
    grid_keys: np.ndarray
    grid_rows: np.ndarray
    pickup_grid_keys: np.ndarray
    pickup_grid_rows: np.ndarray
    pattern: np.ndarray
    schedule_state: np.ndarray
    pattern_table: np.ndarray
    pattern_schedules: list[tuple[ParsedSchedule, ...]]
    pattern_season_only: np.ndarray
    pattern_timeless: np.ndarray
    day_weekday: np.ndarray
    day_month: np.ndarray
    cap_code: np.ndarray
    live_bits: np.ndarray
    lists_districts: np.ndarray
    cat_combo: np.ndarray
    cat_combo_bits: np.ndarray
    geo: np.ndarray
    packed: np.ndarray
    _texts: list[str | None]
    _fresh_cache: dict[tuple[float, ...], np.ndarray]
    _reason_cache: dict[tuple[Any, ...], str]
    _wish_cache: dict[tuple[object, ...], Any]
    _category_fit_cache: dict[tuple[object, ...], np.ndarray]
    _calendar: _Calendar
    _pattern_of: dict[tuple[ParsedSchedule, ...], int]  # every schedule seen → pattern (−1)

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return (
            f"<DirectorySnapshot v{self.version} {len(self)} resources on {self.on} "
            f"{len(self.pattern_schedules)} schedule patterns>"
        )

    # --- lookups -------------------------------------------------------------------

    def district_positions(self, district_ids: np.ndarray) -> np.ndarray:
        """Dense indexes of district ids (−1 for ids the snapshot does not know)."""
        if len(self.district_ids) == 0:
            return np.full(len(district_ids), -1, dtype=np.int64)
        pos = np.minimum(
            np.searchsorted(self.district_ids, district_ids), len(self.district_ids) - 1
        )
        return np.where(self.district_ids[pos] == district_ids, pos, -1)

    def district_chains(self, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(k, chain)``: the dense indexes of district ``pos[k]`` (−1 = none) and of its
        ancestors, nearest first, walked up one level at a time for all of them at once.
        A parent loop (the importer refuses them) repeats districts but ends: a chain has
        at most as many levels as there are districts."""
        owners, chains = [], []
        index = np.flatnonzero(pos >= 0)
        current = pos[index]
        for _ in range(len(self.district_ids)):
            if len(current) == 0:
                break
            owners.append(index)
            chains.append(current)
            current = self.district_parent[current].astype(np.int64)
            up = current >= 0
            index, current = index[up], current[up]
        if not owners:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
        return np.concatenate(owners), np.concatenate(chains)

    def rows_near_many(
        self, lat: np.ndarray, lon: np.ndarray, radius_m: np.ndarray, *, pickup_only: bool = False
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows whose venue lies in the grid cells covering each circle (a superset; the
        caller applies the exact distance): ``(owner, rows)``, ``owner[k]`` the index of the
        circle that found ``rows[k]``, sorted by owner. ``pickup_only``: only resources
        offering 送迎 (a second grid, so a wide pick-up radius stays cheap). One set of
        array operations for a whole batch of needs. Radii must not be negative."""
        keys, rows = (
            (self.pickup_grid_keys, self.pickup_grid_rows)
            if pickup_only
            else (self.grid_keys, self.grid_rows)
        )
        if len(keys) == 0 or len(lat) == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int32)
        dlat = radius_m / _M_PER_DEG_LAT
        cos_edge = np.cos(np.radians(np.minimum(89.0, np.abs(lat) + dlat)))
        dlon = np.minimum(180.0, radius_m / (_M_PER_DEG_LAT * np.maximum(cos_edge, 1e-6)))
        iy0 = np.floor((lat - dlat + 90.0) / _CELL_LAT).astype(np.int64)
        iy1 = np.floor((lat + dlat + 90.0) / _CELL_LAT).astype(np.int64)
        ix0 = np.maximum(0, np.floor((lon - dlon + 180.0) / _CELL_LON).astype(np.int64))
        ix1 = np.minimum(_NX - 1, np.floor((lon + dlon + 180.0) / _CELL_LON).astype(np.int64))
        # one (circle, row of cells) pair per latitude band, then a key range per pair
        circle, band = expand_ranges(iy0, iy1 + 1)
        ys = band * _NX
        lo = np.searchsorted(keys, ys + ix0[circle], side="left")
        hi = np.searchsorted(keys, ys + ix1[circle], side="right")
        pair, index = expand_ranges(lo, hi)
        return circle[pair], rows[index]

    def day_offset(self, on: dt.date | None) -> int:
        """Offset of ``on`` in the schedule table; ValueError when outside the snapshot."""
        offset = 0 if on is None else (on - self.on).days
        if not 0 <= offset <= self.horizon_days:
            raise ValueError(
                f"日付 {on} はこのスナップショット（{self.on}から{self.horizon_days}日）の範囲外です。"
                f"build_snapshot(on=...) で作り直してください"
            )
        return offset

    def text(self, row: int) -> str:
        """Normalised name + description of a row (computed on first use, then kept)."""
        value = self._texts[row]
        if value is None:
            value = normalize(f"{self.names[row]} {self.descriptions[row]}")
            self._texts[row] = value
        return value

    def nbytes(self) -> int:
        """Approximate memory held: numpy arrays plus the Python strings."""
        total = sum(v.nbytes for v in vars(self).values() if isinstance(v, np.ndarray))
        for strings in (self.external_ids, self.names, self.descriptions):
            total += sys.getsizeof(strings) + sum(sys.getsizeof(s) for s in strings)
        total += sys.getsizeof(self._texts)
        return total


def expand_ranges(start: np.ndarray, stop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every ``range(start[k], stop[k])`` at once: ``(owner, values)`` with ``owner`` the
    ``k`` each value came from (empty ranges contribute nothing)."""
    counts = np.maximum(stop - start, 0)
    owner = np.repeat(np.arange(len(counts)), counts)
    firsts = np.cumsum(counts) - counts
    values = np.arange(len(owner), dtype=np.int64) + np.repeat(start - firsts, counts)
    return owner, values


# --------------------------------------------------------------------------- builders

_RESOURCE_FIELDS = (
    "id",
    "external_id",
    "name",
    "categories",
    "description",
    "district_ids",
    "lat",
    "lon",
    "status",
    "public",
    "capacity",
    "seats_left",
    "accepts_new",
    "min_age",
    "attributes",
    "transport",
    "last_verified_on",
    "schedules",
    "schedule_understood",
)


class _Columns:
    """The resources as one list per :class:`ResourceRecord` field, sorted by external
    ID. Both builders fill it; building 300,000 frozen records would cost seconds."""

    def __init__(self, columns: dict[str, list[Any]]):
        n = len(columns["external_id"])
        if any(len(values) != n for values in columns.values()):
            raise ValueError("resource columns differ in length")
        ext = columns["external_id"]
        if any(ext[i] > ext[i + 1] for i in range(n - 1)):
            order = sorted(range(n), key=ext.__getitem__)
            columns = {k: [v[i] for i in order] for k, v in columns.items()}
        self.n = n
        self.c = columns

    @classmethod
    def of_records(cls, records: Iterable[ResourceRecord]) -> _Columns:
        rows = list(records)
        return cls({f: [getattr(r, f) for r in rows] for f in _RESOURCE_FIELDS})


def snapshot_from_records(
    resources: Iterable[ResourceRecord],
    districts: Iterable[DistrictRecord] = (),
    *,
    on: dt.date,
    horizon_days: int = 28,
    version: int = 0,
    taxonomy: Taxonomy | None = None,
) -> DirectorySnapshot:
    """Build a snapshot from plain records: the pure core of :func:`build_snapshot`.

    Tests and the benchmark use it without a database. Districts referenced by resources
    but not listed are added as parentless districts without a centroid.
    """
    return _build(
        _Columns.of_records(resources),
        list(districts),
        on=on,
        horizon_days=horizon_days,
        version=version,
        taxonomy=taxonomy,
    )


def _build(
    cols: _Columns,
    districts: list[DistrictRecord],
    *,
    on: dt.date,
    horizon_days: int,
    version: int,
    taxonomy: Taxonomy | None,
) -> DirectorySnapshot:
    if horizon_days < 1 or horizon_days > YEAR_DAYS:
        raise ValueError("horizon_days must be between 1 and 365")
    taxonomy = taxonomy or load_taxonomy()
    snap = DirectorySnapshot()
    snap.version = int(version)
    snap.on = on
    snap.horizon_days = horizon_days
    snap.days = horizon_days + YEAR_DAYS
    _categories(snap, taxonomy, cols)
    _columns(snap, cols)
    _districts(snap, districts, cols)
    _grid(snap)
    _patterns(snap, cols)
    _pack(snap)
    return snap


#: Columns of :attr:`DirectorySnapshot.packed`, gathered together for the candidates.
PACKED = ("status", "transport", "cap_code", "attr_bits", "min_age", "pattern")


def _pack(snap: DirectorySnapshot) -> None:
    """Copies laid out for one gather per need: numpy's cost on a few dozen candidates
    is per call, not per element, so one (n × k) gather beats k gathers."""
    _pack_rows(snap)
    # resources share a few category sets: the category factor is looked up per set
    snap.cat_combo_bits, combo = np.unique(snap.cat_bits, return_inverse=True)
    snap.cat_combo = combo.astype(np.int32).reshape(-1)
    _empty_caches(snap)


def _pack_rows(snap: DirectorySnapshot) -> None:
    """The per-row copies of :func:`_pack` (an update computes them for its rows only)."""
    snap.live_bits = np.where(
        snap.status == STATUS_CODES["ended"], np.uint64(0), snap.cat_bits
    ).astype(np.uint64)
    snap.lists_districts = np.diff(snap.district_ptr) > 0
    snap.geo = np.column_stack([snap.lat_rad, snap.lon_rad, snap.cos_lat])
    snap.packed = np.column_stack([getattr(snap, name).astype(np.int32) for name in PACKED])


def _empty_caches(snap: DirectorySnapshot) -> None:
    snap._fresh_cache = {}
    snap._reason_cache = {}
    snap._wish_cache = {}
    snap._category_fit_cache = {}


def _categories(snap: DirectorySnapshot, taxonomy: Taxonomy, cols: _Columns) -> None:
    codes = tuple(cat.code for cat in taxonomy)
    if len(codes) > 64:
        raise ValueError("the category bitmask holds at most 64 categories")
    bit = {code: i for i, code in enumerate(codes)}
    snap.taxonomy = taxonomy
    snap.category_codes = codes
    snap.category_bit = bit
    masks: dict[str, tuple[tuple[int, int], ...]] = {}
    for code in codes:
        by_depth: dict[int, int] = {}
        for d in taxonomy.descendants(code):
            depth = 0 if d == code else taxonomy.ancestors(d).index(code) + 1
            by_depth[depth] = by_depth.get(depth, 0) | (1 << bit[d])
        masks[code] = tuple(sorted(by_depth.items()))
    snap.category_masks = masks
    memo: dict[tuple[str, ...], int] = {}
    values = []
    for ext, categories in zip(cols.c["external_id"], cols.c["categories"], strict=True):
        value = memo.get(categories)
        if value is None:
            value = 0
            for code in categories:
                if code not in bit:
                    raise ValueError(f"resource {ext}: unknown category {code!r}")
                value |= 1 << bit[code]
            memo[categories] = value
        values.append(value)
    snap.cat_bits = np.array(values, dtype=np.uint64)


def _opt(values: Iterable[Any], dtype: type, missing: int) -> np.ndarray:
    return np.array([missing if v is None else v for v in values], dtype=dtype)


def _columns(snap: DirectorySnapshot, cols: _Columns) -> None:
    c, n = cols.c, cols.n
    snap.ids = np.array(c["id"], dtype=np.int64)
    snap.external_ids = list(c["external_id"])
    snap.names = list(c["name"])
    snap.descriptions = [(d or "")[:200] for d in c["description"]]
    snap._texts = [None] * n
    snap.lat = np.array([np.nan if v is None else v for v in c["lat"]], dtype=np.float64)
    snap.lon = np.array([np.nan if v is None else v for v in c["lon"]], dtype=np.float64)
    bad = np.isnan(snap.lat) != np.isnan(snap.lon)
    snap.lat[bad] = np.nan
    snap.lon[bad] = np.nan
    snap.lat_rad = np.radians(snap.lat)
    snap.lon_rad = np.radians(snap.lon)
    snap.cos_lat = np.cos(snap.lat_rad)
    try:
        snap.status = np.array([STATUS_CODES[v] for v in c["status"]], dtype=np.int8)
    except KeyError as exc:
        raise ValueError(f"unknown resource status {exc.args[0]!r}") from None
    snap.public = np.array([bool(v) for v in c["public"]], dtype=bool)
    snap.capacity = _opt(c["capacity"], np.int32, -1)
    snap.seats_left = _opt(c["seats_left"], np.int32, -1)
    snap.accepts_new = _opt((None if v is None else int(v) for v in c["accepts_new"]), np.int8, -1)
    snap.min_age = _opt(c["min_age"], np.int16, 0)
    attr_bit = {a: 1 << i for i, a in enumerate(ATTRIBUTES)}
    memo: dict[tuple[str, ...], int] = {}
    bits = []
    for attributes in c["attributes"]:
        key = tuple(attributes or ())
        value = memo.get(key)
        if value is None:
            value = memo[key] = sum(attr_bit.get(a, 0) for a in set(key))
        bits.append(value)
    snap.attr_bits = np.array(bits, dtype=np.uint8)
    # capacity: 0 full (空きなし or 0 seats), 1 seats known free, 2 not recorded
    snap.cap_code = np.where(
        (snap.accepts_new == 0) | (snap.seats_left == 0),
        0,
        np.where((snap.seats_left > 0) | (snap.accepts_new == 1), 1, 2),
    ).astype(np.int8)
    snap.transport = _opt((None if v is None else int(v) for v in c["transport"]), np.int8, -1)
    epoch = dt.date(1970, 1, 1)
    snap.verified_day = _opt(
        (None if v is None else (v - epoch).days for v in c["last_verified_on"]),
        np.int32,
        _UNKNOWN_DAY,
    )
    lengths = np.array([len(v) for v in c["district_ids"]], dtype=np.int64)
    snap.district_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(lengths, out=snap.district_ptr[1:])
    snap.district_idx = np.array([d for v in c["district_ids"] for d in v], dtype=np.int64)


def _districts(snap: DirectorySnapshot, districts: list[DistrictRecord], cols: _Columns) -> None:
    by_id = {d.id: d for d in districts}
    for did in np.unique(snap.district_idx).tolist():
        by_id.setdefault(int(did), DistrictRecord(id=int(did)))
    ordered = sorted(by_id.values(), key=lambda d: d.id)
    snap.district_ids = np.array([d.id for d in ordered], dtype=np.int64)
    pos = {d.id: i for i, d in enumerate(ordered)}
    snap.district_parent = np.array(
        [pos.get(d.parent_id, -1) if d.parent_id is not None else -1 for d in ordered],
        dtype=np.int32,
    )
    snap.district_lat = np.array([np.nan if d.lat is None else d.lat for d in ordered])
    snap.district_lon = np.array([np.nan if d.lon is None else d.lon for d in ordered])
    snap.district_level = [d.level for d in ordered]
    # inverted index: district → rows serving it
    lengths = np.diff(snap.district_ptr)
    owner = np.repeat(np.arange(cols.n, dtype=np.int32), lengths)
    dense = np.searchsorted(snap.district_ids, snap.district_idx)
    order = np.lexsort((owner, dense))
    snap.served_rows = owner[order].astype(np.int32)
    counts = np.bincount(dense, minlength=len(ordered))
    snap.served_ptr = np.zeros(len(ordered) + 1, dtype=np.int64)
    np.cumsum(counts, out=snap.served_ptr[1:])


def _grid(snap: DirectorySnapshot) -> None:
    """Grids of *open* venues: resources that list no 対象地区 serve whoever reaches them
    (those that list districts are found through the served index instead)."""
    open_venue = ~np.isnan(snap.lat) & (np.diff(snap.district_ptr) == 0)
    snap.grid_keys, snap.grid_rows = _cells(snap, np.flatnonzero(open_venue))
    snap.pickup_grid_keys, snap.pickup_grid_rows = _cells(
        snap, np.flatnonzero(open_venue & (snap.transport == 1))
    )


def _cells(snap: DirectorySnapshot, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    iy = np.floor((snap.lat[rows] + 90.0) / _CELL_LAT).astype(np.int64)
    ix = np.floor((snap.lon[rows] + 180.0) / _CELL_LON).astype(np.int64)
    keys = iy * _NX + np.clip(ix, 0, _NX - 1)
    order = np.argsort(keys, kind="stable")
    return keys[order], rows[order].astype(np.int32)


def _patterns(snap: DirectorySnapshot, cols: _Columns) -> None:
    cal = _Calendar.of(snap.on, snap.days)
    snap.day_weekday = cal.weekday
    snap.day_month = cal.month
    snap._calendar = cal
    snap._pattern_of = {}
    snap.pattern_schedules = []
    snap.pattern, snap.schedule_state = _assign_patterns(
        cols.c["schedules"], cols.c["schedule_understood"], snap._pattern_of, snap.pattern_schedules
    )
    snap.pattern_table, snap.pattern_season_only, snap.pattern_timeless = _expand_patterns(
        snap.pattern_schedules, cal
    )


def _assign_patterns(
    keys: list[tuple[ParsedSchedule, ...]],
    understood: list[bool],
    pattern_of: dict[tuple[ParsedSchedule, ...], int],
    patterns: list[tuple[ParsedSchedule, ...]],
) -> tuple[np.ndarray, np.ndarray]:
    """Each row's pattern number and schedule state; schedules not seen before are
    appended to ``patterns`` (``pattern_of`` remembers every key, −1 for useless ones)."""
    pattern = np.full(len(keys), -1, dtype=np.int32)
    state = np.zeros(len(keys), dtype=np.int8)
    for i, (key, ok) in enumerate(zip(keys, understood, strict=True)):
        if not ok:
            state[i] = SCHEDULE_NOT_UNDERSTOOD
            continue
        pid = pattern_of.get(key)
        if pid is None:
            useful = any(s.rrule is not None or s.season_months() for s in key)
            pid = len(patterns) if useful else -1
            pattern_of[key] = pid
            if useful:
                patterns.append(key)
        if pid < 0:
            state[i] = SCHEDULE_NOT_WRITTEN
        pattern[i] = pid
    return pattern, state


def _expand_patterns(
    patterns: list[tuple[ParsedSchedule, ...]], cal: _Calendar
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(table, season_only, timeless) of ``patterns``: one row each (see the module)."""
    table = np.zeros((len(patterns), len(cal)), dtype=np.uint64)
    season_only = np.zeros(len(patterns), dtype=np.uint16)
    timeless = np.zeros(len(patterns), dtype=bool)
    day_cache: dict[ParsedSchedule, np.ndarray] = {}
    for pid, schedules in enumerate(patterns):
        for s in schedules:
            if s.rrule is None:
                for m in s.season_months() or ():
                    season_only[pid] |= 1 << (m - 1)
                continue
            days = day_cache.get(s)
            if days is None:
                days = day_cache[s] = _schedule_days(s, cal)
            bits, no_time = _schedule_slots(s)
            timeless[pid] |= no_time
            table[pid, days] |= np.uint64(bits)
    return table, season_only, timeless


# --------------------------------------------------------------------------- database


class _Memo:
    """Parse repeated database text once (dates, times, JSON lists): 300,000 rows hold a
    few hundred distinct values, and SQLAlchemy's per-row processors dominated the build."""

    def __init__(self) -> None:
        self.dates: dict[Any, dt.date | None] = {None: None}
        self.times: dict[Any, dt.time | None] = {None: None}
        self.lists: dict[Any, tuple[str, ...]] = {None: ()}

    def date(self, value: Any) -> dt.date | None:
        found = self.dates.get(value, _MISSING)
        if found is _MISSING:
            found = self.dates[value] = (
                value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])
            )
        return found  # type: ignore[return-value]

    def time(self, value: Any) -> dt.time | None:
        found = self.times.get(value, _MISSING)
        if found is _MISSING:
            found = self.times[value] = (
                value if isinstance(value, dt.time) else dt.time.fromisoformat(str(value))
            )
        return found  # type: ignore[return-value]

    def strings(self, value: Any) -> tuple[str, ...]:
        key = value if isinstance(value, str) or value is None else json.dumps(value)
        found = self.lists.get(key)
        if found is None:
            decoded = json.loads(value) if isinstance(value, str) else value
            found = self.lists[key] = tuple(decoded or ())
        return found


_MISSING = object()


def build_snapshot(
    session: Session,
    *,
    on: dt.date | None = None,
    horizon_days: int = 28,
    version: int = 0,
    taxonomy: Taxonomy | None = None,
) -> DirectorySnapshot:
    """Read the whole directory in five set queries and build the snapshot.

    Reads ``district`` (id, parent, level, code, name, centroid), ``resource`` joined to its
    ``venue`` (the venue's coordinates win over the row's own), ``resource_category``,
    ``resource_district`` and ``schedule``. ``version`` is the directory version the
    caller read in the same transaction (so a stale snapshot can be detected); ``on``
    defaults to today. Dates, times and JSON are fetched as text and parsed once per
    distinct value (about 1 s per 100,000 resources on SQLite).
    """
    on = on or today_in_japan()
    return _build(
        _read_columns(session, _Memo()),
        _read_districts(session),
        on=on,
        horizon_days=horizon_days,
        version=version,
        taxonomy=taxonomy,
    )


def _read_districts(session: Session) -> list[DistrictRecord]:
    return [
        DistrictRecord(r.id, r.parent_id, r.level, r.code, r.name, r.centroid_lat, r.centroid_lon)
        for r in session.execute(
            select(
                District.id,
                District.parent_id,
                District.level,
                District.code,
                District.name,
                District.centroid_lat,
                District.centroid_lon,
            )
        )
    ]


@functools.cache
def _statements(by_id: bool) -> tuple[Any, Any, Any, Any]:
    """The four reads of :func:`_read_columns`, built once (an update runs them for a few
    ids many times: building and keying the statements cost more than running them)."""
    ids: Any = bindparam("ids", expanding=True)

    def only(stmt: Any, column: Any) -> Any:
        return stmt.where(column.in_(ids)) if by_id else stmt

    categories = only(
        select(resource_category.c.resource_id, resource_category.c.category_code),
        resource_category.c.resource_id,
    )
    served = only(
        select(resource_district.c.resource_id, resource_district.c.district_id),
        resource_district.c.resource_id,
    )
    schedules = only(
        select(
            Schedule.resource_id,
            Schedule.rrule,
            cast(Schedule.start_time, String),
            cast(Schedule.end_time, String),
            Schedule.season_start_month,
            Schedule.season_end_month,
            Schedule.holiday_rule,
            Schedule.year_end_closed,
            cast(Schedule.anchor_date, String),
        ),
        Schedule.resource_id,
    ).order_by(Schedule.resource_id, Schedule.id)
    resources = only(
        select(
            Resource.id,
            Resource.external_id,
            Resource.name,
            Resource.description,
            func.coalesce(Venue.lat, Resource.lat),
            func.coalesce(Venue.lon, Resource.lon),
            Resource.status,
            Resource.public,
            Resource.capacity,
            Resource.seats_left,
            Resource.accepts_new,
            Resource.min_age,
            cast(Resource.eligibility_attributes, Text),
            Resource.transport,
            cast(Resource.last_verified_on, String),
            Resource.schedule_understood,
        ).outerjoin(Venue, Resource.venue_id == Venue.id),
        Resource.id,
    )
    return categories, served, schedules, resources


def _read_columns(session: Session, memo: _Memo, ids: list[int] | None = None) -> _Columns:
    """The resources (all, or those of ``ids``) as :class:`_Columns`: one query per table."""
    categories_q, served_q, schedules_q, resources_q = _statements(ids is not None)
    params = {} if ids is None else {"ids": ids}
    categories: dict[int, list[str]] = {}
    for rid, code in session.execute(categories_q, params).tuples().all():
        categories.setdefault(rid, []).append(code)
    served: dict[int, list[int]] = {}
    for rid, did in session.execute(served_q, params).tuples().all():
        served.setdefault(rid, []).append(did)
    schedules: dict[int, list[ParsedSchedule]] = {}
    parsed_memo: dict[tuple[Any, ...], ParsedSchedule] = {}
    for row in session.execute(schedules_q, params).tuples().all():
        key = row[1:]
        parsed = parsed_memo.get(key)
        if parsed is None:
            rrule, start, end, first, last, holiday, year_end, anchor = key
            parsed = parsed_memo[key] = ParsedSchedule(
                rrule=rrule,
                start_time=memo.time(start),
                end_time=memo.time(end),
                season_start_month=first,
                season_end_month=last,
                holiday_rule=holiday or "open",
                year_end_closed=bool(year_end),
                anchor_date=memo.date(anchor),
            )
        schedules.setdefault(row[0], []).append(parsed)
    rows = session.execute(resources_q, params).tuples().all()
    (
        res_ids,
        ext,
        names,
        descriptions,
        lat,
        lon,
        status,
        public,
        capacity,
        seats,
        accepts,
        min_age,
        attributes,
        transport,
        verified,
        understood,
    ) = (list(column) for column in zip(*rows, strict=True)) if rows else ([],) * 16
    del rows
    return _Columns(
        {
            "id": res_ids,
            "external_id": ext,
            "name": names,
            "description": descriptions,
            "categories": [tuple(categories.get(i, ())) for i in res_ids],
            "district_ids": [tuple(served.get(i, ())) for i in res_ids],
            "lat": lat,
            "lon": lon,
            "status": status,
            "public": public,
            "capacity": capacity,
            "seats_left": seats,
            "accepts_new": accepts,
            "min_age": min_age,
            "attributes": [memo.strings(a) for a in attributes],
            "transport": transport,
            "last_verified_on": [memo.date(v) for v in verified],
            "schedules": [tuple(schedules.get(i, ())) for i in res_ids],
            "schedule_understood": understood,
        }
    )


# --------------------------------------------------------------------------- updates

#: More changed resources than this (or than a tenth of the directory) are rebuilt: the
#: update reads them row by row, a rebuild reads everything in five set queries.
MAX_UPDATE = 5_000

#: Arrays with one value (or one row) per resource, spliced by an update.
_ROW_ARRAYS = (
    "ids",
    "cat_bits",
    "lat",
    "lon",
    "lat_rad",
    "lon_rad",
    "cos_lat",
    "status",
    "public",
    "capacity",
    "seats_left",
    "accepts_new",
    "min_age",
    "attr_bits",
    "cap_code",
    "transport",
    "verified_day",
    "pattern",
    "schedule_state",
    "live_bits",
    "lists_districts",
    "cat_combo",
    "geo",
    "packed",
)
_ROW_LISTS = ("external_ids", "names", "descriptions", "_texts")
#: Indexes an update patches.
_PATCHED = (
    "district_ptr",
    "district_idx",
    "served_ptr",
    "served_rows",
    "grid_keys",
    "grid_rows",
    "pickup_grid_keys",
    "pickup_grid_rows",
    "cat_combo_bits",
    "pattern_table",
    "pattern_schedules",
    "pattern_season_only",
    "pattern_timeless",
    "_pattern_of",
    "version",
)
#: What no resource change alters: shared by the updated snapshot (never written to).
_SHARED = (
    "on",
    "horizon_days",
    "days",
    "taxonomy",
    "category_codes",
    "category_bit",
    "category_masks",
    "district_ids",
    "district_parent",
    "district_lat",
    "district_lon",
    "district_level",
    "day_weekday",
    "day_month",
    "_calendar",
)
_CACHES = ("_fresh_cache", "_reason_cache", "_wish_cache", "_category_fit_cache")
_KNOWN = frozenset(_ROW_ARRAYS + _ROW_LISTS + _PATCHED + _SHARED + _CACHES)


def update_snapshot(
    session: Session, snap: DirectorySnapshot, *, version: int
) -> DirectorySnapshot | None:
    """The snapshot at directory ``version``, made from ``snap`` by re-reading only the
    resources changed since ``snap.version``; None when that cannot be done (a version
    that did not say what it changed, such as an import or a district edit; too many
    changes; a resource serving a district the snapshot does not know): rebuild then.

    Why: a coordinator's edit must be in the next match, and rebuilding 300,000 resources
    takes seconds; the changed rows are read by id and spliced into copies of the arrays
    (:func:`with_changes`), which costs milliseconds. ``snap`` itself is left as it was:
    other threads may be matching on it.
    """
    from directory.state import changed_since

    if set(vars(snap)) - _KNOWN:  # a fact added to the snapshot that updates do not know
        return None
    changed = changed_since(session, snap.version, version)
    if changed is None or len(changed) > min(MAX_UPDATE, max(100, len(snap) // 10)):
        return None
    ids = sorted(changed)
    cols = _read_columns(session, _Memo(), ids) if ids else _Columns.of_records(())
    return _splice(snap, np.array(ids, dtype=np.int64), cols, version)


def with_changes(
    snap: DirectorySnapshot,
    records: Iterable[ResourceRecord],
    *,
    removed: Iterable[int] = (),
    version: int,
) -> DirectorySnapshot:
    """``snap`` with ``records`` put in (replacing the rows of the same ids) and the rows
    of ``removed`` ids taken out: the same snapshot :func:`snapshot_from_records` would
    build from the changed directory (row order, indexes, factors), made in time
    proportional to the arrays' length with numpy, not to Python per row.

    Raises ValueError when a record serves a district the snapshot does not know.
    """
    cols = _Columns.of_records(records)
    drop = np.array(sorted(set(removed) | set(cols.c["id"])), dtype=np.int64)
    updated = _splice(snap, drop, cols, version)
    if updated is None:
        raise ValueError("a changed resource serves a district the snapshot does not know")
    return updated


def _splice(
    old: DirectorySnapshot, drop: np.ndarray, cols: _Columns, version: int
) -> DirectorySnapshot | None:
    """Rows of ids ``drop`` out, the rows of ``cols`` in at their place in external-ID
    order; every index patched. None when ``cols`` names an unknown district."""
    served_ids = np.array([d for v in cols.c["district_ids"] for d in v], dtype=np.int64)
    if len(served_ids) and (old.district_positions(served_ids) < 0).any():
        return None
    # --- the new rows, computed by the builders themselves
    part = DirectorySnapshot()
    part.on, part.days, part.horizon_days = old.on, old.days, old.horizon_days
    _categories(part, old.taxonomy, cols)
    _columns(part, cols)
    pattern_of = dict(old._pattern_of)
    patterns = list(old.pattern_schedules)
    known = len(patterns)
    part.pattern, part.schedule_state = _assign_patterns(
        cols.c["schedules"], cols.c["schedule_understood"], pattern_of, patterns
    )
    _pack_rows(part)
    combo_of = {int(b): i for i, b in enumerate(old.cat_combo_bits.tolist())}
    combos = len(combo_of)
    part.cat_combo = np.array(
        [combo_of.setdefault(int(b), len(combo_of)) for b in part.cat_bits.tolist()],
        dtype=np.int32,
    )
    # --- where they go: old row r → remap[r] (−1 dropped), new row j → at[j]
    n, k = len(old), cols.n
    dropped = np.flatnonzero(np.isin(old.ids, drop)) if len(drop) else np.empty(0, np.int64)
    p_old = np.array(
        [bisect.bisect_left(old.external_ids, e) for e in cols.c["external_id"]], dtype=np.int64
    )
    p_kept = p_old - np.searchsorted(dropped, p_old, side="left")
    keep = np.ones(n, dtype=bool)
    keep[dropped] = False
    kept_index = np.cumsum(keep) - 1
    remap = np.where(keep, kept_index + np.searchsorted(p_kept, kept_index, side="right"), -1)
    at = p_kept + np.arange(k, dtype=np.int64)
    n_new = n - len(dropped) + k

    new = DirectorySnapshot()
    for name in _SHARED:
        setattr(new, name, getattr(old, name))
    new.version = int(version)
    plan = _plan(dropped, p_old, n)
    for name in _ROW_ARRAYS:
        before, after = getattr(old, name), getattr(part, name)
        setattr(
            new,
            name,
            np.concatenate([before[a:b] if j < 0 else after[j : j + 1] for a, b, j in plan]),
        )
    for name in _ROW_LISTS:
        if name == "_texts":  # a cache of normalised texts: filled again on use
            new._texts = [None] * n_new
            continue
        setattr(new, name, _splice_list(getattr(old, name), dropped, p_old, getattr(part, name)))
    # --- served districts per row (CSR)
    old_len = np.diff(old.district_ptr)
    part_len = np.diff(part.district_ptr)
    _, gone = expand_ranges(old.district_ptr[dropped], old.district_ptr[dropped + 1])
    kept_len = np.delete(old_len, dropped)
    kept_ptr = np.zeros(len(kept_len) + 1, dtype=np.int64)
    np.cumsum(kept_len, out=kept_ptr[1:])
    new.district_idx = np.insert(
        np.delete(old.district_idx, gone), np.repeat(kept_ptr[p_kept], part_len), part.district_idx
    )
    new.district_ptr = np.zeros(n_new + 1, dtype=np.int64)
    np.cumsum(np.insert(kept_len, p_kept, part_len), out=new.district_ptr[1:])
    # --- district → rows serving it: renumbered, dropped entries out, new ones in place
    n_districts = len(old.district_ids)
    rows = remap[old.served_rows]
    gone = np.flatnonzero(rows < 0)
    gone_district = np.searchsorted(old.served_ptr, gone, side="right") - 1
    ptr = old.served_ptr - np.concatenate(
        ([0], np.cumsum(np.bincount(gone_district, minlength=n_districts)))
    )
    rows = np.delete(rows, gone)
    add_district = np.searchsorted(old.district_ids, part.district_idx)
    add_rows = np.repeat(at, part_len)
    where = _positions(rows, ptr[add_district], ptr[add_district + 1], add_rows)
    order = np.lexsort((add_rows, add_district, where))  # np.insert keeps the given order
    new.served_rows = np.insert(rows, where[order], add_rows[order]).astype(np.int32)
    new.served_ptr = ptr + np.concatenate(
        ([0], np.cumsum(np.bincount(add_district, minlength=n_districts)))
    )
    # --- the grids of open venues
    open_venue = ~np.isnan(part.lat) & (part_len == 0)
    for keys_name, rows_name, local in (
        ("grid_keys", "grid_rows", np.flatnonzero(open_venue)),
        (
            "pickup_grid_keys",
            "pickup_grid_rows",
            np.flatnonzero(open_venue & (part.transport == 1)),
        ),
    ):
        add_keys, add_local = _cells(part, local)
        keys, rows = _splice_grid(
            getattr(old, keys_name), getattr(old, rows_name), remap, add_keys, at[add_local]
        )
        setattr(new, keys_name, keys)
        setattr(new, rows_name, rows)
    # --- categories and schedule patterns: new ones appended (numbers are internal)
    added = list(combo_of)[combos:]
    new.cat_combo_bits = (
        np.concatenate([old.cat_combo_bits, np.array(added, dtype=np.uint64)])
        if added
        else old.cat_combo_bits
    )
    new.pattern_schedules = patterns
    new._pattern_of = pattern_of
    if len(patterns) > known:
        table, season_only, timeless = _expand_patterns(patterns[known:], old._calendar)
        new.pattern_table = np.concatenate([old.pattern_table, table])
        new.pattern_season_only = np.concatenate([old.pattern_season_only, season_only])
        new.pattern_timeless = np.concatenate([old.pattern_timeless, timeless])
    else:
        new.pattern_table = old.pattern_table
        new.pattern_season_only = old.pattern_season_only
        new.pattern_timeless = old.pattern_timeless
    _empty_caches(new)
    return new


def _events(dropped: np.ndarray, p_old: np.ndarray) -> list[tuple[int, int, int]]:
    """The changes in old-row order: ``(p, 0, j)`` puts new row j before old row p,
    ``(r, 1, -1)`` drops old row r; at one position the new rows come first."""
    return sorted(
        [(int(p), 0, j) for j, p in enumerate(p_old.tolist())]
        + [(int(r), 1, -1) for r in dropped.tolist()]
    )


def _plan(dropped: np.ndarray, p_old: np.ndarray, n: int) -> list[tuple[int, int, int]]:
    """The new rows as pieces: ``(a, b, -1)`` old rows a…b−1, ``(0, 0, j)`` new row j.
    Concatenating the pieces copies each kept row once."""
    plan: list[tuple[int, int, int]] = []
    cursor = 0
    for position, kind, j in _events(dropped, p_old):
        if position > cursor:
            plan.append((cursor, position, -1))
            cursor = position
        if kind == 0:
            plan.append((0, 0, j))
        else:
            cursor = position + 1
    if cursor < n or not plan:
        plan.append((cursor, n, -1))
    return plan


#: Up to this many changes a list is copied and edited in place (a memmove each);
#: beyond, it is rebuilt from slices.
_IN_PLACE = 64


def _splice_list(
    old: list[Any], dropped: np.ndarray, p_old: np.ndarray, items: list[Any]
) -> list[Any]:
    """``old`` without the rows ``dropped``, ``items[j]`` inserted before old row
    ``p_old[j]`` (a new list: ``old`` may be in use)."""
    events = _events(dropped, p_old)
    if len(events) <= _IN_PLACE:
        out = old.copy()
        # from the end, so that every old position still points at its row; at one
        # position the drop first, then the new rows last to first
        for position, kind, j in reversed(events):
            if kind == 1:
                del out[position]
            else:
                out.insert(position, items[j])
        return out
    out = []
    for a, b, j in _plan(dropped, p_old, len(old)):
        if j < 0:
            out.extend(old[a:b])
        else:
            out.append(items[j])
    return out


def _positions(
    rows: np.ndarray, lo: np.ndarray, hi: np.ndarray, add_rows: np.ndarray
) -> np.ndarray:
    """Where each new row goes in ``rows`` to keep every segment ``[lo[i], hi[i])``
    sorted (indexes before the insertion, for ``np.insert``): a few binary searches per
    new entry, no pass over the whole index."""
    return np.array(
        [
            a + int(np.searchsorted(rows[a:b], r))
            for a, b, r in zip(lo.tolist(), hi.tolist(), add_rows.tolist(), strict=True)
        ],
        dtype=np.int64,
    )


def _splice_grid(
    keys: np.ndarray,
    rows: np.ndarray,
    remap: np.ndarray,
    add_keys: np.ndarray,
    add_rows: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """A grid (sorted by cell key, then row) with rows renumbered, dropped rows gone and
    new ones inserted in order."""
    renumbered = remap[rows]
    gone = np.flatnonzero(renumbered < 0)
    if len(gone):
        keys, renumbered = np.delete(keys, gone), np.delete(renumbered, gone)
    lo = np.searchsorted(keys, add_keys, side="left")
    hi = np.searchsorted(keys, add_keys, side="right")
    where = _positions(renumbered, lo, hi, add_rows)
    order = np.lexsort((add_rows, add_keys, where))  # np.insert keeps the given order
    where, add_keys, add_rows = where[order], add_keys[order], add_rows[order]
    return np.insert(keys, where, add_keys), np.insert(renumbered, where, add_rows).astype(np.int32)

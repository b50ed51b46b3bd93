"""Score one need against the directory snapshot: ranked resources with Japanese reasons,
or the reason nothing fits and the best near-miss.

Plain functions over :class:`~matching.snapshot.DirectorySnapshot`: candidate generation
(the served-districts index plus the venue grid), the hard filters and the soft factors
are numpy operations over the candidate rows; only the top N matches (and one near-miss)
get Python-built reasons. The weights and thresholds are data in :mod:`matching.weights`.

Decisions (each one a place where the domain needed a rule):

**Hard constraints** exclude; a need is unmet when none passes. They are checked as a
funnel, in this order, and the order is what "most specific reason" means (DATA_FORMATS
§5): the best near-miss is the right-category candidate that got *furthest* down the
funnel (then the fewest failures, then the highest soft score), and the unmet reason is
the stage where it dropped out — the last hurdle that stood between the need and a match.

0. category — the resource meets one of the need's categories by the §1 rule (a need for
   a parent is met by any descendant; a need for a child by that child only). Ended
   resources are no longer part of the directory. The candidates are the right-category
   resources that *serve the place*: those whose 対象地区 include the need's district or
   an ancestor of it (area, 全域 = municipality), and *open* venues (resources listing no
   対象地区) within reach. None → ``no_resource`` ("nothing of that category serves the
   place", §5); 対象地区 says whom a resource is for, so a resource listing only other
   districts is never proposed, however close its hall.
1. ``distance`` (place) — a candidate with a venue must be reachable: on foot within
   ``max_walk_m`` (0 = cannot walk), by the resource's 送迎, or by the resident's own means
   (``transport`` True: car, family). For a resource serving the district these have no
   radius (送迎 covers its 対象地区; with no ``max_walk_m`` recorded its hall counts as
   reachable); an open venue must lie within ``max_walk_m`` (default ``default_walk_m``),
   ``pickup_radius_m`` (送迎) or ``travel_radius_m`` (own means) to be a candidate at all.
   Services without a venue come to the home. Distances are great-circle (haversine,
   sphere of 6,371,008.8 m) between the need's approximate point and the venue: the
   straight-line metres coordinators mean by "about 500 m". So ``distance`` is the reason
   when the district is served but the hall is too far for this resident.
2. ``paused`` — the resource is 休止中. (So the reason is ``paused`` when the only
   resources within reach are paused ones.)
3. ``schedule`` — only when the need names days, a time window or months. The window is
   the ``horizon_days`` (28) days from ``on``; a need naming months looks instead at every
   day of those months in the year from ``on`` (snow help wanted 12月～3月, recorded in
   June, is judged on next winter). The resource must have at least one occurrence on a
   wanted weekday, overlapping the wanted time (30-minute slots), in that window. A
   schedule that was not understood, or that names no days, never satisfies a wish; a
   season without days (「12月～3月」) satisfies a months-only wish. An occurrence without a
   time of day (「土日」) counts for any time (the reason says 時間は要確認).
4. ``eligibility`` — age ≥ the resource's minimum age, and, when the resource names
   attribute words (要支援, 要介護, 事業対象者, 独居, 高齢者のみ世帯), the need has one of
   them: 対象者 cells list them as alternatives (「要支援、要介護、独居」 = any of these).
   要支援 and 事業対象者 stand for each other (both are the population of the
   介護予防・日常生活支援総合事業) but 要介護 is separate; 独居 also counts as 高齢者のみ世帯
   (a person living alone is an elderly-only household), not the other way round. A need
   records facts: an age or attributes it does not record are *unconfirmed*, not failed —
   ``attributes=None`` means "not recorded", while a recorded tuple (even empty) is
   complete, so a resource asking for a word outside it fails.
5. ``capacity`` — full when 空き is なし or 0 seats are left.

**Soft factors** rank what passes, each in [0, 1] (definitions in
:data:`matching.weights.FACTORS`): distance, schedule, category, capacity, eligibility,
freshness, text. The score is their weighted mean.

How it stays fast: candidates come from two indexes (rows serving the district chain; a
grid of open venues within the walking, travel or 送迎 radius), so only a few dozen rows
are touched per need. rapidfuzz runs only on rows whose score could still reach the top
N (text adds at most its weight), and reasons are worded for the top N (cached per
pattern, category set and date, because they repeat across needs).
"""

from __future__ import annotations

import datetime as dt
import gc
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from rapidfuzz import fuzz, process

from directory.schedules import AFTERNOON, MORNING, ScheduleParse, describe, parse_time_range
from directory.taxonomy import Taxonomy, load_taxonomy
from directory.text import normalize
from matching.snapshot import (
    ALL_SLOTS,
    ATTRIBUTES,
    EARTH_RADIUS_M,
    SCHEDULE_NOT_UNDERSTOOD,
    STATUS_CODES,
    YEAR_DAYS,
    DirectorySnapshot,
    slot_mask,
)
from matching.weights import DEFAULT_PARAMETERS, DEFAULT_WEIGHTS

__all__ = [
    "FACTOR_NAMES",
    "FUNNEL",
    "UNMET_REASONS",
    "Match",
    "NearMiss",
    "NeedQuery",
    "NeedResult",
    "haversine_m",
    "parse_attributes",
    "parse_days",
    "parse_months",
    "parse_time_window",
    "result_to_json",
    "score",
    "score_many",
]

#: The soft factors, in the order of ``factors`` and ``reasons`` in results.
FACTOR_NAMES = ("distance", "schedule", "category", "capacity", "eligibility", "freshness",
                "text")
#: The hard constraints after category, in funnel order (see the module docstring).
FUNNEL = ("distance", "paused", "schedule", "eligibility", "capacity")
#: DATA_FORMATS §5 unmet reasons.
UNMET_REASONS = ("no_resource", *FUNNEL)

WEEKDAYS_JA = "月火水木金土日"
_RFC_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_ACTIVE, _PAUSED, _ENDED = STATUS_CODES["active"], STATUS_CODES["paused"], STATUS_CODES["ended"]
_ATTR_BIT = {a: 1 << i for i, a in enumerate(ATTRIBUTES)}
_ATTRIBUTE_WORDS = {  # need attributes as people write them → canonical word
    normalize(word): canonical for word, canonical in {
        "要支援": "要支援", "要介護": "要介護", "事業対象者": "事業対象者", "独居": "独居",
        "一人暮らし": "独居", "ひとり暮らし": "独居", "独り暮らし": "独居", "単身": "独居",
        "高齢者のみ世帯": "高齢者のみ世帯", "高齢者世帯": "高齢者のみ世帯",
        "高齢者夫婦世帯": "高齢者のみ世帯",
    }.items()
}
_EPOCH = dt.date(1970, 1, 1)
_UNKNOWN_DAY = np.iinfo(np.int32).min


def _expand_attributes(attributes: Iterable[str]) -> int:
    """The need's attribute bits, closed under 要支援 ⇔ 事業対象者 and 独居 ⇒ 高齢者のみ世帯."""
    bits = 0
    for a in attributes:
        bits |= _ATTR_BIT.get(a, 0)
    if bits & (_ATTR_BIT["要支援"] | _ATTR_BIT["事業対象者"]):
        bits |= _ATTR_BIT["要支援"] | _ATTR_BIT["事業対象者"]
    if bits & _ATTR_BIT["独居"]:
        bits |= _ATTR_BIT["高齢者のみ世帯"]
    return bits


# --------------------------------------------------------------------------- the need


@dataclass(frozen=True)
class NeedQuery:
    """What the engine needs to know about one need (DATA_FORMATS §4), already resolved.

    ``district_id`` is the database id of the need's district. ``lat``/``lon`` are
    approximate by design; the caller fills the district centroid when the need has none
    (the engine also falls back to the snapshot's centroid). ``categories`` are taxonomy
    codes; empty means "any category" (inference from the text is the importer's job).
    ``days`` are weekdays 0 = Monday … 6 = Sunday, empty = any; ``time`` is a window
    ``(start, end)`` in minutes after midnight; ``months`` 1–12, empty = any.
    ``transport`` True means the resident can travel beyond walking (own car, family, as
    ``matching.models.Need.transport``); ``max_walk_m`` None = no limit recorded, 0 = cannot
    walk (then only services that come to the home, 送迎 or own means reach a venue).
    ``attributes`` None = not recorded (conditions stay unconfirmed); a tuple = everything
    that applies (a resource asking for anything else fails). ``on`` defaults to the
    snapshot's date. :meth:`build` accepts the §4 spellings (「火」, "07:00-09:00", labels,
    一人暮らし).
    """

    id: str
    district_id: int | None
    lat: float | None = None
    lon: float | None = None
    categories: tuple[str, ...] = ()
    text: str = ""
    days: tuple[int, ...] = ()
    time: tuple[int, int] | None = None
    months: tuple[int, ...] = ()
    max_walk_m: float | None = None
    transport: bool = False
    age: int | None = None
    attributes: tuple[str, ...] | None = None
    on: dt.date | None = None

    def __post_init__(self) -> None:
        if any(not 0 <= d <= 6 for d in self.days):
            raise ValueError(f"need {self.id}: weekdays are 0 (Mon) … 6 (Sun): {self.days}")
        if any(not 1 <= m <= 12 for m in self.months):
            raise ValueError(f"need {self.id}: months are 1 … 12: {self.months}")
        if self.time is not None and not 0 <= self.time[0] < self.time[1] <= 24 * 60:
            raise ValueError(f"need {self.id}: time window must be 0 <= start < end <= 1440")
        if self.max_walk_m is not None and self.max_walk_m < 0:
            raise ValueError(f"need {self.id}: max_walk_m must not be negative")
        if (self.lat is None) != (self.lon is None):
            raise ValueError(f"need {self.id}: give both lat and lon or neither")
        if self.attributes is not None and (bad := set(self.attributes) - set(ATTRIBUTES)):
            raise ValueError(f"need {self.id}: unknown attributes {sorted(bad)}")

    @property
    def wants_schedule(self) -> bool:
        """Whether the need names days, times or months (then schedule is a hard filter)."""
        return bool(self.days or self.time or self.months)

    @classmethod
    def build(
        cls,
        id: str,
        district_id: int | None,
        *,
        lat: float | None = None,
        lon: float | None = None,
        categories: str | Iterable[str] = (),
        text: str | None = None,
        days: str | Iterable[int | str] = (),
        time: str | tuple[Any, Any] | None = None,
        months: Iterable[int | str] = (),
        max_walk_m: float | None = None,
        transport: bool | None = False,
        age: int | None = None,
        attributes: Iterable[str] | None = None,
        on: dt.date | str | None = None,
        taxonomy: Taxonomy | None = None,
    ) -> NeedQuery:
        """A NeedQuery from §4 values: category labels or codes, 「火」「火曜」「平日」,
        "07:00-09:00" / 「午前」, 「12月」, 一人暮らし … Raises ValueError in Japanese."""
        taxonomy = taxonomy or load_taxonomy()
        if isinstance(categories, str):
            categories = [categories]
        codes = tuple(dict.fromkeys(taxonomy.resolve(c).code for c in categories))
        return cls(
            id=str(id), district_id=district_id,
            lat=None if lat is None else float(lat), lon=None if lon is None else float(lon),
            categories=codes, text=text or "", days=parse_days(days),
            time=parse_time_window(time), months=parse_months(months),
            max_walk_m=None if max_walk_m is None else float(max_walk_m),
            transport=bool(transport), age=None if age is None else int(age),
            attributes=None if attributes is None else parse_attributes(attributes),
            on=dt.date.fromisoformat(on) if isinstance(on, str) else on,
        )


def parse_days(days: str | Iterable[int | str]) -> tuple[int, ...]:
    """Weekdays from 「火」「火曜日」「月水金」「平日」「土日」「毎日」, RFC 5545 codes (TU) or
    ints (0 = Monday)."""
    items = [days] if isinstance(days, str) else list(days)
    found: set[int] = set()
    for item in items:
        if isinstance(item, int):
            found.add(item)
            continue
        if item.upper() in _RFC_DAYS:
            found.add(_RFC_DAYS.index(item.upper()))
            continue
        key = re.sub("曜日?", "", normalize(item))
        if key in ("毎日", "全日", "いつでも"):
            found.update(range(7))
            continue
        key = key.replace("平日", "月火水木金")
        for ch in key:
            if ch in WEEKDAYS_JA:
                found.add(WEEKDAYS_JA.index(ch))
            elif ch not in "・、, ":
                raise ValueError(f"曜日「{item}」を読めません（例: 火、月水金、平日、土日）")
    return tuple(sorted(found))


def parse_time_window(time: str | tuple[Any, Any] | None) -> tuple[int, int] | None:
    """(start, end) minutes from "07:00-09:00", 「10時～12時」, 「午前」「午後」 or a pair of
    ``datetime.time`` / minutes."""
    if time is None or time == "":
        return None
    if isinstance(time, str):
        key = normalize(time)
        if key in ("午前", "午前中"):
            start, end = MORNING
        elif key == "午後":
            start, end = AFTERNOON
        else:
            start, end = parse_time_range(time)
        return start.hour * 60 + start.minute, end.hour * 60 + end.minute
    a, b = time
    if isinstance(a, dt.time) and isinstance(b, dt.time):
        return a.hour * 60 + a.minute, b.hour * 60 + b.minute
    return int(a), int(b)


def parse_months(months: Iterable[int | str]) -> tuple[int, ...]:
    """Months 1–12 from ints or 「12月」."""
    found: set[int] = set()
    for m in months:
        if isinstance(m, str):
            digits = re.fullmatch(r"(\d{1,2})月?", normalize(m))
            if digits is None:
                raise ValueError(f"月「{m}」を読めません（例: 12、12月）")
            m = int(digits[1])
        found.add(int(m))
    return tuple(sorted(found))


def parse_attributes(attributes: Iterable[str]) -> tuple[str, ...]:
    """Canonical attribute words (一人暮らし → 独居); unknown words raise ValueError."""
    found: list[str] = []
    for word in attributes:
        canonical = _ATTRIBUTE_WORDS.get(normalize(word))
        if canonical is None:
            raise ValueError(
                f"属性「{word}」を読めません（{'・'.join(ATTRIBUTES)} のいずれか）")
        if canonical not in found:
            found.append(canonical)
    return tuple(found)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Match:
    """One proposed resource: its score, the factor values and one reason per factor."""

    row: int
    resource_id: int
    external_id: str
    name: str
    score: float
    factors: Mapping[str, float]
    reasons: tuple[str, ...]
    distance_m: float | None = None


@dataclass(frozen=True)
class NearMiss:
    """The right-category resource that came closest, and what stopped it."""

    row: int
    resource_id: int
    external_id: str
    name: str
    reason: str  # the unmet reason (one of FUNNEL)
    failed: tuple[str, ...]  # every failed constraint, funnel order
    reasons: tuple[str, ...]  # Japanese, one per failed constraint


@dataclass(frozen=True)
class NeedResult:
    need_id: str
    unmet: bool
    unmet_reason: str | None
    matches: tuple[Match, ...]
    near_miss: NearMiss | None = None


def result_to_json(result: NeedResult) -> dict[str, Any]:
    """The DATA_FORMATS §5 object for one need (``near_miss`` only on unmet needs)."""
    out: dict[str, Any] = {
        "need": result.need_id,
        "unmet": result.unmet,
        "unmet_reason": result.unmet_reason,
        "matches": [
            {
                "resource": m.external_id,
                "name": m.name,
                "score": round(m.score, 2),
                "factors": {k: round(v, 2) for k, v in m.factors.items()},
                "reasons": list(m.reasons),
            }
            for m in result.matches
        ],
    }
    if result.unmet:
        nm = result.near_miss
        out["near_miss"] = None if nm is None else {
            "resource": nm.external_id, "name": nm.name, "reasons": list(nm.reasons)}
    return out


# --------------------------------------------------------------------------- geometry


def haversine_m(lat1: float, lon1: float, lat2: Any, lon2: Any) -> np.ndarray:
    """Great-circle metres from one point to many (NaN where the far point is NaN)."""
    lat2 = np.asarray(lat2, dtype=np.float64)
    lon2 = np.asarray(lon2, dtype=np.float64)
    p1 = math.radians(lat1)
    p2 = np.radians(lat2)
    a = (np.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


def _haversine_rows(geo: np.ndarray, lat: float, lon: float) -> np.ndarray:
    """Great-circle metres from (lat, lon) to rows of ``snapshot.geo`` (radians, cos lat)."""
    p1, l1 = math.radians(lat), math.radians(lon)
    a = (np.sin((geo[:, 0] - p1) / 2) ** 2
         + math.cos(p1) * geo[:, 2] * np.sin((geo[:, 1] - l1) / 2) ** 2)
    return 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


# --------------------------------------------------------------------------- evaluation


@dataclass
class _Schedules:
    """What the schedule check computed, kept to word the reasons of the top rows."""

    window: np.ndarray  # day offsets considered
    slot: int
    pids: np.ndarray  # pattern per candidate (−1 unknown)
    unique: np.ndarray  # distinct known patterns among candidates
    hits: np.ndarray  # unique × window: an occurrence overlaps the wanted slots


@dataclass
class _Eval:
    need: NeedQuery
    rows: np.ndarray
    dist: np.ndarray  # metres, NaN when unknown
    served: np.ndarray
    factors: dict[str, np.ndarray]
    fails: np.ndarray  # len(FUNNEL) × n
    base: np.ndarray
    total_weight: float
    sched: _Schedules
    walk_m: float
    walk_limit: float | None
    need_bits: int


def _candidates(snap: DirectorySnapshot, need: NeedQuery, lat: float | None,
                lon: float | None, radius: float, pickup_radius: float,
                cat_mask: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-category, not-ended rows serving the need's district chain ∪ open venues in
    the grid cells within ``radius`` ∪ open venues offering 送迎 within ``pickup_radius``:
    sorted, unique, with a flag "serves the chain" (one sort of ``row * 2 + (not
    served)``). The category test comes first: it is one AND and drops most rows."""
    mask = np.uint64(cat_mask)
    parts = [snap.rows_serving(need.district_id)]
    if lat is not None and lon is not None:
        parts.append(snap.rows_near(lat, lon, radius))
        if pickup_radius > radius:
            parts.append(snap.rows_near(lat, lon, pickup_radius, pickup_only=True))
    parts = [p[(snap.live_bits[p] & mask) != 0] if len(p) else p for p in parts]
    served = parts[0]
    if not any(len(p) for p in parts[1:]):
        return served, np.ones(len(served), dtype=bool)
    keys = np.sort(np.concatenate([served.astype(np.int64) * 2]
                                  + [p.astype(np.int64) * 2 + 1 for p in parts[1:]]))
    first = np.empty(len(keys), dtype=bool)
    first[0] = True
    np.not_equal(keys[1:] >> 1, keys[:-1] >> 1, out=first[1:])
    keys = keys[first]
    return keys >> 1, (keys & 1) == 0


def _category_mask(snap: DirectorySnapshot, need: NeedQuery) -> int:
    """Bits of every category that meets one of the need's (the codes and descendants);
    every bit when the need names no category."""
    if not need.categories:
        return (1 << 64) - 1
    mask = 0
    for code in need.categories:
        if code not in snap.category_masks:
            raise ValueError(f"need {need.id}: unknown category {code!r}")
        for _depth, bits in snap.category_masks[code]:
            mask |= bits
    return mask


def _evaluate(snap: DirectorySnapshot, need: NeedQuery, weights: Mapping[str, float],
              params: Mapping[str, float]) -> _Eval | None:
    """The candidates (right category, not ended, and serving the place: 対象地区 or an
    open venue within reach) with their hard checks and soft factors; None when none."""
    offset = snap.day_offset(need.on)
    cat_mask = _category_mask(snap, need)
    lat, lon = need.lat, need.lon
    if lat is None or lon is None:
        centroid = snap.district_centroid(need.district_id)
        lat, lon = centroid if centroid else (None, None)
    limit = need.max_walk_m  # None: the record states no walking limit
    walk_m = params["default_walk_m"] if limit is None else float(limit)
    pickup_m = params["pickup_radius_m"]
    travel_m = params["travel_radius_m"] if need.transport else -1.0
    # hard: category (need for a parent met by any descendant) and not ended (an ended
    # resource has no live category bits), applied while gathering the candidates
    rows, served = _candidates(snap, need, lat, lon, max(walk_m, travel_m), pickup_m,
                               cat_mask)
    if len(rows) == 0:
        return None
    # place. The grids hold open venues only (resources listing no 対象地区), so a row is
    # either serving the need's district chain or an open venue found near the need.
    geo = snap.geo[rows]
    if lat is not None and lon is not None:
        dist = _haversine_rows(geo, lat, lon)
    else:
        dist = np.full(len(rows), np.nan)
    d = np.where(np.isnan(dist), np.inf, dist)
    cols = snap.packed[rows]
    offers_pickup = cols[:, 1] == 1
    has_venue = ~np.isnan(geo[:, 0])
    walk_ok = d <= walk_m
    ride_ok = (offers_pickup & (d <= pickup_m)) | (d <= travel_m)
    open_ok = ~served & (walk_ok | ride_ok)
    if not (served | open_ok).all():  # open venues out of reach do not serve the place
        keep = served | open_ok
        rows, served, dist, d, offers_pickup, cols, has_venue, walk_ok, ride_ok = (
            rows[keep], served[keep], dist[keep], d[keep], offers_pickup[keep], cols[keep],
            has_venue[keep], walk_ok[keep], ride_ok[keep])
        if len(rows) == 0:
            return None
    # a venue of a resource serving the district must still be reachable: on foot within
    # the recorded limit, by its 送迎, or by the resident's own means (or no limit given)
    served_ok = served & (~has_venue | offers_pickup | need.transport | (limit is None)
                          | walk_ok)
    place_ok = served_ok | (~served & (walk_ok | ride_ok))
    with np.errstate(invalid="ignore", divide="ignore"):
        walk_f = np.where(walk_ok, 1.0 - 0.5 * np.minimum(d / max(walk_m, 1e-9), 1.0), 0.0)
        # a ride (送迎 or the resident's own) scores like walking over its longer range
        ride_range = np.where(offers_pickup & (d <= pickup_m), pickup_m, max(travel_m, 1.0))
        ride_f = np.where(ride_ok, 0.9 - 0.4 * np.minimum(d / ride_range, 1.0), 0.0)
    served_f = np.where(has_venue, np.maximum(
        walk_f, np.where(offers_pickup, 0.9, params["served_with_venue"])), 1.0)
    place_f = np.where(served, np.where(served_ok, served_f, 0.0),
                       np.maximum(walk_f, ride_f))

    sched_ok, sched_f, sched = _schedule(snap, need, cols[:, 5], offset, params)
    elig_ok, elig_f = _eligibility(need, cols[:, 3], cols[:, 4], params)
    full = cols[:, 2] == 0
    cap_f = np.array([0.0, 1.0, params["capacity_unknown"]])[cols[:, 2]]
    fresh_f = _freshness(snap, need, params)[rows]
    cat_f = _category_fit(snap, need, rows, params)

    factors = {"distance": place_f, "schedule": sched_f, "category": cat_f,
               "capacity": cap_f, "eligibility": elig_f, "freshness": fresh_f}
    present = [f for f in FACTOR_NAMES if f != "text" or need.text.strip()]
    total = float(sum(weights.get(f, 0.0) for f in present)) or 1.0
    base = sum(weights.get(f, 0.0) * factors[f] for f in factors) / total
    fails = np.stack([~place_ok, cols[:, 0] == _PAUSED, ~sched_ok, ~elig_ok, full])
    return _Eval(need, rows, dist, served, factors, fails, base, total, sched, walk_m,
                 limit, _expand_attributes(need.attributes or ()))


def _freshness(snap: DirectorySnapshot, need: NeedQuery,
               params: Mapping[str, float]) -> np.ndarray:
    """Freshness of every resource on the need's date (cached: one array per date)."""
    on_day = ((need.on or snap.on) - _EPOCH).days
    fresh_days, stale_days = params["fresh_days"], params["stale_days"]
    key = (on_day, fresh_days, stale_days, params["freshness_unknown"])
    cached = snap._fresh_cache.get(key)
    if cached is None:
        verified = snap.verified_day
        age_days = on_day - verified.astype(np.int64)
        cached = np.where(
            verified == _UNKNOWN_DAY, params["freshness_unknown"],
            np.clip((stale_days - age_days) / (stale_days - fresh_days), 0.0, 1.0))
        if len(snap._fresh_cache) > 64:
            snap._fresh_cache.clear()
        snap._fresh_cache[key] = cached
    return cached


def _category_fit(snap: DirectorySnapshot, need: NeedQuery, rows: np.ndarray,
                  params: Mapping[str, float]) -> np.ndarray:
    if not need.categories:
        return np.full(len(rows), 0.5)
    bits = snap.cat_bits[rows]
    total = np.zeros(len(rows))
    for code in need.categories:
        fit = np.zeros(len(rows))
        for depth, mask in snap.category_masks[code]:
            value = max(0.0, 1.0 - params["category_step"] * depth)
            fit = np.maximum(fit, np.where((bits & np.uint64(mask)) != 0, value, 0.0))
        total += fit
    return total / len(need.categories)


def _eligibility(need: NeedQuery, attrs: np.ndarray, min_age: np.ndarray,
                 params: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
    if need.attributes is None:
        ok = np.ones(len(attrs), dtype=bool)
        unconfirmed = (attrs != 0).astype(np.int8)
    else:
        ok = (attrs == 0) | ((attrs & _expand_attributes(need.attributes)) != 0)
        unconfirmed = np.zeros(len(attrs), dtype=np.int8)
    if need.age is None:
        unconfirmed = unconfirmed + (min_age > 0)
    else:
        ok &= min_age <= need.age
    value = np.maximum(params["eligibility_floor"],
                       1.0 - params["eligibility_unconfirmed"] * unconfirmed)
    return ok, np.where(ok, value, 0.0)


def _schedule_window(snap: DirectorySnapshot, need: NeedQuery,
                     offset: int) -> tuple[np.ndarray, np.ndarray | None]:
    """The day offsets a need's wish is judged on, and the weekday averaging matrix
    (window × wanted weekdays, columns summing to 1). Cached: needs repeat few wishes."""
    wants = need.wants_schedule
    key = (offset, need.days, need.months, wants)
    cached = snap._window_cache.get(key)
    if cached is not None:
        return cached
    if wants and need.months:
        window = offset + np.arange(YEAR_DAYS)
        window = window[np.isin(snap.day_month[window], need.months)]
    else:
        window = offset + np.arange(snap.horizon_days)
    onehot = None
    if wants and need.days:
        window = window[np.isin(snap.day_weekday[window], need.days)]
        weekday = snap.day_weekday[window]
        onehot = (weekday[:, None] == np.asarray(need.days)[None, :]).astype(np.float64)
        onehot /= np.maximum(onehot.sum(axis=0), 1.0) * len(need.days)
    if len(snap._window_cache) > 4096:
        snap._window_cache.clear()
    snap._window_cache[key] = (window, onehot)
    return window, onehot


def _schedule(snap: DirectorySnapshot, need: NeedQuery, pids: np.ndarray, offset: int,
              params: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray, _Schedules]:
    known = pids >= 0
    wants = need.wants_schedule
    window, onehot = _schedule_window(snap, need, offset)
    slot = slot_mask(*need.time) if need.time and wants else ALL_SLOTS
    unique = np.unique(pids[known])
    table = snap.pattern_table[unique[:, None], window[None, :]]
    hits = (table & np.uint64(slot)) != 0
    if onehot is not None:
        per_pattern = (hits @ onehot).sum(axis=1)
    else:
        per_pattern = hits.any(axis=1).astype(np.float64)
    if wants and need.months and not need.days and not need.time:
        month_bits = sum(1 << (m - 1) for m in need.months)
        season = (snap.pattern_season_only[unique] & month_bits) != 0
        per_pattern = np.where(per_pattern > 0, per_pattern,
                               np.where(season, params["schedule_season_only"], 0.0))
    value = np.zeros(len(pids))
    if len(unique):
        value[known] = per_pattern[np.searchsorted(unique, pids[known])]
    if wants:
        ok = value > 0
    else:
        ok = np.ones(len(pids), dtype=bool)
        value = np.where(known, np.where(value > 0, 1.0, params["schedule_idle"]),
                         params["schedule_unknown"])
    return ok, value, _Schedules(window, slot, pids, unique, hits)


# --------------------------------------------------------------------------- scoring


def score(
    snapshot: DirectorySnapshot,
    need: NeedQuery,
    *,
    top: int = 5,
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
    params: Mapping[str, float] = DEFAULT_PARAMETERS,
) -> NeedResult:
    """Rank the resources that can meet ``need`` (at most ``top``), or explain why none can.

    ``weights`` maps factor names to weights (missing ones count 0); ``params`` are the
    thresholds of :data:`matching.weights.PARAMETERS`. Raises ValueError for an unknown
    category or a need dated outside the snapshot's window.
    """
    if top < 1:
        raise ValueError("top must be at least 1")
    if weights is not DEFAULT_WEIGHTS and (unknown := set(weights) - set(FACTOR_NAMES)):
        raise ValueError(f"unknown factors in weights: {sorted(unknown)}")
    ev = _evaluate(snapshot, need, weights, params)
    if ev is None:
        return NeedResult(need.id, True, "no_resource", (), None)
    passing = np.flatnonzero(~ev.fails.any(axis=0))
    if len(passing) == 0:
        near_miss = _near_miss(snapshot, ev, params)
        return NeedResult(need.id, True, near_miss.reason, (), near_miss)
    base = ev.base[passing]
    text_values = np.zeros(len(passing))
    query = normalize(need.text)
    w_text = weights.get("text", 0.0) / ev.total_weight if query else 0.0
    if query:
        # Text can add at most w_text: only rows whose upper bound reaches the top-th
        # base score can still enter the top, so rapidfuzz runs on those alone.
        k = min(top, len(passing))
        kth = np.partition(base, len(base) - k)[len(base) - k]
        maybe = np.flatnonzero(base + w_text >= kth)
        texts = [snapshot.text(int(r)) for r in ev.rows[passing[maybe]]]
        text_values[maybe] = process.cdist(
            [query], texts, scorer=fuzz.partial_ratio, workers=1)[0] / 100.0
    final = base + w_text * text_values
    order = np.lexsort((ev.rows[passing], -final))[:top]
    matches = []
    for j in order:
        i = int(passing[j])
        factors = {name: float(ev.factors[name][i]) for name in FACTOR_NAMES
                   if name != "text"}
        if query:
            factors["text"] = float(text_values[j])
        matches.append(_match(snapshot, ev, i, float(final[j]), factors, params))
    return NeedResult(need.id, False, None, tuple(matches), None)


def score_many(
    snapshot: DirectorySnapshot,
    needs: Iterable[NeedQuery],
    *,
    top: int = 5,
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
    params: Mapping[str, float] = DEFAULT_PARAMETERS,
) -> list[NeedResult]:
    """:func:`score` for a batch of needs, in order.

    The cyclic garbage collector is paused for the batch: results hold no cycles, and
    its passes over 100,000 accumulating results cost a fifth of the batch time.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return [score(snapshot, need, top=top, weights=weights, params=params)
                for need in needs]
    finally:
        if was_enabled:
            gc.enable()


def _near_miss(snap: DirectorySnapshot, ev: _Eval, params: Mapping[str, float]) -> NearMiss:
    """The candidate that got furthest down the funnel (then fewest failures, then the
    best soft score, then external ID), with every constraint it failed, in words."""
    fails = ev.fails
    stage = np.argmax(fails, axis=0)  # first failed constraint (every row fails one)
    i = int(np.lexsort((ev.rows, -ev.base, fails.sum(axis=0), -stage))[0])
    row = int(ev.rows[i])
    failed = tuple(name for k, name in enumerate(FUNNEL) if ev.fails[k, i])
    words = {
        "distance": lambda: _place_reason(snap, ev, i, params),
        "paused": lambda: "休止中",
        "schedule": lambda: _schedule_reason(snap, ev, i),
        "eligibility": lambda: _eligibility_reason(snap, ev, i),
        "capacity": lambda: _capacity_reason(snap, row),
    }
    return NearMiss(row, int(snap.ids[row]), snap.external_ids[row], snap.names[row],
                    failed[0], failed, tuple(words[name]() for name in failed))


# --------------------------------------------------------------------------- reasons


def _metres(d: float) -> str:
    if d < 1000:
        return f"約{round(d, -1):.0f}m"
    return f"約{d / 1000:.1f}km"


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


def _time_label(window: tuple[int, int]) -> str:
    return f"{_hhmm(window[0])}–{_hhmm(window[1])}"


def _months_label(months: Sequence[int]) -> str:
    wanted = set(months)
    if len(wanted) == 12:
        return "通年"
    starts = [m for m in sorted(wanted) if (m - 2) % 12 + 1 not in wanted]
    if len(starts) == 1:
        first = last = starts[0]
        while last % 12 + 1 in wanted:
            last = last % 12 + 1
        return f"{first}月" if first == last else f"{first}月～{last}月"
    return "・".join(str(m) for m in sorted(wanted)) + "月"


def _days_label(days: Iterable[int]) -> str:
    return "・".join(WEEKDAYS_JA[d] for d in days)


def _place_reason(snap: DirectorySnapshot, ev: _Eval, i: int,
                  params: Mapping[str, float]) -> str:
    row = int(ev.rows[i])
    d = float(ev.dist[i])
    known = not math.isnan(d)
    has_venue = not math.isnan(snap.lat[row])
    pickup = snap.transport[row] == 1
    need = ev.need
    walkable = known and d <= ev.walk_m
    if ev.served[i]:
        if not has_venue:
            return "対象地区内"
        if walkable:
            return f"対象地区内・徒歩{_metres(d)}"
        if pickup:
            return "対象地区内・送迎あり"
        where = f"会場まで{_metres(d)}" if known else "会場までの距離不明"
        if need.transport:
            return f"対象地区内（{where}・自分で移動）"
        if ev.walk_limit is None:
            return f"対象地区内（{where}）"
        if ev.walk_limit <= 0:  # failed: cannot walk, no 送迎
            return f"送迎なし（{where}、徒歩不可）"
        limit = _metres(ev.walk_limit).removeprefix("約")
        return f"{where}（徒歩の上限{limit}）"  # failed: too far to walk
    if walkable:
        return f"徒歩{_metres(d)}"
    if pickup and d <= params["pickup_radius_m"]:
        return f"送迎あり（会場まで{_metres(d)}）"
    return f"会場まで{_metres(d)}（自分で移動）"


def _pattern_words(snap: DirectorySnapshot, pid: int) -> str:
    parse = ScheduleParse("", snap.pattern_schedules[pid], paused=False, understood=True)
    return describe(parse)


def _cached(snap: DirectorySnapshot, key: tuple[Any, ...], make: Any) -> str:
    """Reasons repeat across needs (same pattern, same wish): word each once."""
    cache = snap._reason_cache
    value = cache.get(key)
    if value is None:
        if len(cache) > 100_000:
            cache.clear()
        value = cache[key] = make()
    return value


def _schedule_reason(snap: DirectorySnapshot, ev: _Eval, i: int) -> str:
    need = ev.need
    sched = ev.sched
    pid = int(sched.pids[i])
    row = int(ev.rows[i])
    if pid < 0:
        if snap.schedule_state[row] == SCHEDULE_NOT_UNDERSTOOD:
            return "日程を解釈できず確認できない"
        return "日程の記載なし"
    key = ("schedule", pid, int(sched.window[0]) if len(sched.window) else -1,
           need.days, need.time, need.months)
    return _cached(snap, key, lambda: _schedule_words(snap, ev, pid))


def _schedule_words(snap: DirectorySnapshot, ev: _Eval, pid: int) -> str:
    need = ev.need
    sched = ev.sched
    hits = sched.hits[int(np.searchsorted(sched.unique, pid))]
    months = f"{_months_label(need.months)}の" if need.months else ""
    time = _time_label(need.time) if need.time else ""
    if not need.wants_schedule:
        words = _pattern_words(snap, pid)
        if hits.any():
            return words
        return f"今後{snap.horizon_days // 7}週間は活動なし（{words}）"
    timeless = bool(snap.pattern_timeless[pid]) and need.time is not None
    if not hits.any():
        if not any(s.rrule for s in snap.pattern_schedules[pid]):
            if need.months and not need.days and not need.time:
                return f"{_months_label(need.months)}に活動（曜日は未定）"
            return f"曜日の記載なし（{_pattern_words(snap, pid)}）"
        wanted = " ".join(p for p in (
            f"{_days_label(need.days)}曜" if need.days else "", time) if p)
        return f"{months}{wanted}の活動なし" if wanted else f"{months}活動なし"
    suffix = "（時間は要確認）" if timeless else ""
    if need.days:
        weekday = snap.day_weekday[sched.window]
        got = [d for d in need.days if hits[weekday == d].any()]
        missing = [d for d in need.days if d not in got]
        words = f"{months}{_days_label(got)} {time} に活動" if time else (
            f"{months}{_days_label(got)}に活動")
        if missing:
            return f"{words}（{_days_label(missing)}曜は活動なし）{suffix}"
        wanted = len(sched.window)
        hit = int(hits.sum())
        if hit < wanted:
            return f"{words}（{wanted}日中{hit}日）{suffix}"
        return words + suffix
    if need.time:
        return f"{months}{time} に活動{suffix}"
    return f"{_months_label(need.months)}に活動"


def _eligibility_reason(snap: DirectorySnapshot, ev: _Eval, i: int) -> str:
    row = int(ev.rows[i])
    attrs = int(snap.attr_bits[row])
    min_age = int(snap.min_age[row])
    key = ("eligibility", attrs, min_age, ev.need.age, ev.need.attributes)
    return _cached(snap, key, lambda: _eligibility_words(ev, attrs, min_age))


def _eligibility_words(ev: _Eval, attrs: int, min_age: int) -> str:
    need = ev.need
    words = [a for a in ATTRIBUTES if _ATTR_BIT[a] & attrs]
    if not (words or min_age):
        return "対象者の条件なし"
    failed: list[str] = []
    unconfirmed: list[str] = []
    met: list[str] = []
    if min_age:
        label = f"{min_age}歳以上"
        if need.age is None:
            unconfirmed.append(label)
        elif need.age < min_age:
            failed.append(f"{label}が対象（本人{need.age}歳）")
        else:
            met.append(label)
    if words:
        label = "・".join(words)
        if need.attributes is None:
            unconfirmed.append(label)
        elif attrs & ev.need_bits:
            met.append("・".join(a for a in words if _ATTR_BIT[a] & ev.need_bits))
        else:
            failed.append(f"{label}の方が対象")
    if failed:
        return "対象外: " + "、".join(failed)
    if unconfirmed:
        return "要確認: " + "・".join(unconfirmed)
    return f"対象者の条件を満たす（{'・'.join(met)}）"


def _capacity_reason(snap: DirectorySnapshot, row: int) -> str:
    seats = int(snap.seats_left[row])
    accepts = int(snap.accepts_new[row])
    if accepts == 0 or seats == 0:
        return "満員（空きなし）"
    if seats > 0:
        return f"空きあり（残り{seats}名）"
    if accepts == 1:
        return "空きあり"
    return "空き状況未確認"


def _category_reason(snap: DirectorySnapshot, ev: _Eval, row: int) -> str:
    bits = int(snap.cat_bits[row])
    key = ("category", bits, ev.need.categories)
    return _cached(snap, key, lambda: _category_words(snap, ev.need, bits))


def _category_words(snap: DirectorySnapshot, need: NeedQuery, bits: int) -> str:
    labels = [snap.taxonomy[c].label_ja for c in snap.category_codes
              if bits & (1 << snap.category_bit[c])
              and (not need.categories or any(snap.taxonomy.meets(n, c)
                                              for n in need.categories))]
    text = "種別: " + "、".join(labels)
    unmet = [snap.taxonomy[n].label_ja for n in need.categories
             if not any(snap.taxonomy.meets(n, c) for c in snap.category_codes
                        if bits & (1 << snap.category_bit[c]))]
    if unmet:
        text += f"（{'、'.join(unmet)}は対象外）"
    return text


def _freshness_reason(snap: DirectorySnapshot, ev: _Eval, row: int,
                      params: Mapping[str, float]) -> str:
    day = int(snap.verified_day[row])
    if day == _UNKNOWN_DAY:
        return "確認日不明"
    on = ev.need.on or snap.on
    return _cached(snap, ("freshness", day, on, params["fresh_days"]),
                   lambda: _freshness_words(day, on, params["fresh_days"]))


def _freshness_words(day: int, on: dt.date, fresh_days: float) -> str:
    when = _EPOCH + dt.timedelta(days=day)
    label = f"{when.year}年{when.month}月{when.day}日"
    age = (on - when).days
    if age <= fresh_days:
        return f"{label}確認"
    return f"最終確認 {label}（{age // 365}年以上前）"


def _match(snap: DirectorySnapshot, ev: _Eval, i: int, value: float,
           factors: dict[str, float], params: Mapping[str, float]) -> Match:
    row = int(ev.rows[i])
    words = {
        "distance": _place_reason(snap, ev, i, params),
        "schedule": _schedule_reason(snap, ev, i),
        "category": _category_reason(snap, ev, row),
        "capacity": _capacity_reason(snap, row),
        "eligibility": _eligibility_reason(snap, ev, i),
        "freshness": _freshness_reason(snap, ev, row, params),
    }
    if "text" in factors:
        words["text"] = f"相談内容との類似 {round(factors['text'] * 100)}%"
    d = float(ev.dist[i])
    return Match(
        row=row, resource_id=int(snap.ids[row]), external_id=snap.external_ids[row],
        name=snap.names[row], score=min(1.0, max(0.0, value)),
        factors={name: factors[name] for name in FACTOR_NAMES if name in factors},
        reasons=tuple(words[name] for name in FACTOR_NAMES if name in words),
        distance_m=None if math.isnan(d) else d,
    )

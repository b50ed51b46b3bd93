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
are touched per need. Needs are evaluated in batches (:func:`score_many`, 2,048 at a
time; :func:`score` is a batch of one): every step is one array operation over the
candidates of all the batch's needs, so numpy's fixed cost per call is shared by the
batch instead of paid per need. A schedule wish (days, time, months, date) is judged
against every schedule pattern once and cached, so a candidate's schedule fit is a
lookup; likewise the category fit per category set. rapidfuzz runs only on rows whose
score could still reach the top N (text adds at most its weight), once per distinct need
text; reasons are worded for the top N only (cached per pattern, category set and date,
because they repeat across needs).
"""

from __future__ import annotations

import datetime as dt
import gc
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from rapidfuzz import fuzz, process

from directory.attributes import ATTRIBUTES, canonical_attribute
from directory.distance import haversine_rad_m
from directory.i18n import DEFAULT_LANG, N_, LocalisedError, translate, translations
from directory.schedules import AFTERNOON, MORNING, ScheduleParse, describe, parse_time_range
from directory.taxonomy import Taxonomy, load_taxonomy
from directory.text import normalize
from directory.weekdays import MONTH_EN, WEEKDAY_EN, parse_weekdays
from matching.reasons import FUNNEL, UNMET_REASONS
from matching.snapshot import (
    ALL_SLOTS,
    SCHEDULE_NOT_UNDERSTOOD,
    STATUS_CODES,
    YEAR_DAYS,
    DirectorySnapshot,
    expand_ranges,
    slot_mask,
)
from matching.weights import DEFAULT_PARAMETERS, DEFAULT_WEIGHTS

__all__ = [
    "FACTOR_NAMES",
    "FUNNEL",
    "UNMET_REASONS",
    "Match",
    "MatchInputError",
    "NearMiss",
    "NeedQuery",
    "NeedResult",
    "Reason",
    "describe_reason",
    "parse_attributes",
    "parse_days",
    "parse_months",
    "parse_time_window",
    "result_to_json",
    "score",
    "score_many",
]

#: The soft factors, in the order of ``factors`` and ``reasons`` in results.
FACTOR_NAMES = ("distance", "schedule", "category", "capacity", "eligibility", "freshness", "text")

_ACTIVE, _PAUSED, _ENDED = STATUS_CODES["active"], STATUS_CODES["paused"], STATUS_CODES["ended"]
_ATTR_BIT = {a: 1 << i for i, a in enumerate(ATTRIBUTES)}
_EPOCH = dt.date(1970, 1, 1)
_UNKNOWN_DAY = np.iinfo(np.int32).min


class MatchInputError(LocalisedError, ValueError):
    """A need or a call the matcher cannot use: ``str()`` is Japanese, :meth:`describe`
    any language (a ValueError, so callers that catch ValueError still do)."""


class Reason(str):
    """One reason in words: the text in the language it was worded in (Japanese by
    default, so stored matches and §5 JSON read as before) that can still be told in
    another language with :meth:`describe` (``tsunagu match --lang en`` does).

    A catalogue msgid with its parameters (Reasons among them follow the language), or
    ``make(lang)`` for words made otherwise (schedules, category labels, lists).
    """

    lang: str
    msgid: str
    params: dict[str, Any] | None
    make: Callable[[str], str] | None

    def __new__(
        cls,
        lang: str,
        msgid: str = "",
        params: dict[str, Any] | None = None,
        make: Callable[[str], str] | None = None,
    ) -> Reason:
        if make is not None:
            text = make(lang)
        else:
            text = _text(lang, msgid)
            if params:
                text = text.format_map(params)  # Reason parameters are already in ``lang``
        reason = str.__new__(cls, text)
        reason.lang, reason.msgid, reason.params, reason.make = lang, msgid, params, make
        return reason

    def describe(self, lang: str = DEFAULT_LANG) -> str:
        """The reason in ``lang``."""
        if lang == self.lang:
            return str.__str__(self)
        if self.make is not None:
            return self.make(lang)
        text = _text(lang, self.msgid)
        if self.params:
            text = text.format_map({k: _word(v, lang) for k, v in self.params.items()})
        return text


#: msgid → text per language, read from the catalogue once (reasons are many).
_TEXTS: dict[str, dict[str, str]] = {}


def _text(lang: str, msgid: str) -> str:
    """``msgid`` in ``lang`` (no parameters filled in)."""
    texts = _TEXTS.get(lang)
    if texts is None:
        texts = _TEXTS[lang] = {}
    text = texts.get(msgid)
    if text is None:
        text = texts[msgid] = translations(lang).gettext(msgid)
    return text


def describe_reason(reason: str, lang: str = DEFAULT_LANG) -> str:
    """A reason (a :class:`Reason` or a plain string read back from storage) in ``lang``."""
    return reason.describe(lang) if isinstance(reason, Reason) else reason


def _word(value: Any, lang: str) -> Any:
    return value.describe(lang) if isinstance(value, Reason) else value


def _say(lang: str, msgid: str, /, **params: Any) -> Reason:
    """A catalogue message as a :class:`Reason`."""
    return Reason(lang, msgid, params)


def _join(items: Sequence[Any], lang: str, msgid: str = N_("{a}, {b}")) -> Reason:
    """a, b, c (Japanese a・b・c; with ``N_("{a}; {b}")`` Japanese a、b、c)."""
    items = list(items)

    def make(to: str) -> str:
        text = str(_word(items[0], to)) if items else ""
        for item in items[1:]:
            text = translate(msgid, to, a=text, b=_word(item, to))
        return text

    return Reason(lang, make=make)


_LIST = N_("{a}; {b}")
#: The attribute words in the catalogue (Japanese: the words themselves).
_ATTRIBUTE_MSGIDS = {
    "要支援": N_("certified as needing support"),
    "要介護": N_("certified as needing care"),
    "事業対象者": N_("eligible for the community support services"),
    "独居": N_("living alone"),
    "高齢者のみ世帯": N_("older people only household"),
}


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
            raise MatchInputError(
                N_("need {need}: weekdays are 0 (Mon) … 6 (Sun): {days}"),
                need=self.id,
                days=self.days,
            )
        if any(not 1 <= m <= 12 for m in self.months):
            raise MatchInputError(
                N_("need {need}: months are 1 … 12: {months}"), need=self.id, months=self.months
            )
        if self.time is not None and not 0 <= self.time[0] < self.time[1] <= 24 * 60:
            raise MatchInputError(
                N_("need {need}: time window must be 0 <= start < end <= 1440"), need=self.id
            )
        if self.max_walk_m is not None and self.max_walk_m < 0:
            raise MatchInputError(N_("need {need}: max_walk_m must not be negative"), need=self.id)
        if (self.lat is None) != (self.lon is None):
            raise MatchInputError(N_("need {need}: give both lat and lon or neither"), need=self.id)
        if self.attributes is not None and (bad := set(self.attributes) - set(ATTRIBUTES)):
            raise MatchInputError(
                N_("need {need}: unknown attributes {attributes}"),
                need=self.id,
                attributes=sorted(bad),
            )

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
            id=str(id),
            district_id=district_id,
            lat=None if lat is None else float(lat),
            lon=None if lon is None else float(lon),
            categories=codes,
            text=text or "",
            days=parse_days(days),
            time=parse_time_window(time),
            months=parse_months(months),
            max_walk_m=None if max_walk_m is None else float(max_walk_m),
            transport=bool(transport),
            age=None if age is None else int(age),
            attributes=None if attributes is None else parse_attributes(attributes),
            on=dt.date.fromisoformat(on) if isinstance(on, str) else on,
        )


def parse_days(days: str | Iterable[int | str]) -> tuple[int, ...]:
    """Weekdays from 「火」「火曜日」「月水金」「平日」「土日」「毎日」, RFC 5545 codes (TU) or
    ints (0 = Monday); the words are :func:`directory.weekdays.parse_weekday`'s, so a need
    typed here reads like one imported from a file."""
    items = [days] if isinstance(days, str) else list(days)
    found = {item for item in items if isinstance(item, int)}
    found.update(parse_weekdays([item for item in items if not isinstance(item, int)]))
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
                raise MatchInputError(N_("cannot read the month “{month}” (e.g. 12)"), month=m)
            m = int(digits[1])
        found.add(int(m))
    return tuple(sorted(found))


def parse_attributes(attributes: Iterable[str]) -> tuple[str, ...]:
    """Canonical attribute words (一人暮らし → 独居, as in 対象者 cells: the synonyms of
    :mod:`directory.attributes`); unknown words raise ValueError."""
    found: list[str] = []
    for word in attributes:
        canonical = canonical_attribute(word)
        if canonical is None:
            raise MatchInputError(
                N_("cannot read the attribute “{word}” (one of {choices})"),
                word=word,
                choices="・".join(ATTRIBUTES),
            )
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
    reasons: tuple[str, ...]  # Reasons (Japanese by default), one per failed constraint
    distance_m: float | None = None  # need's point to the venue (None: no venue or point)


@dataclass(frozen=True)
class NeedResult:
    need_id: str
    unmet: bool
    unmet_reason: str | None
    matches: tuple[Match, ...]
    near_miss: NearMiss | None = None


def result_to_json(result: NeedResult, lang: str | None = None) -> dict[str, Any]:
    """The DATA_FORMATS §5 object for one need (``near_miss`` only on unmet needs);
    reasons as worded, or in ``lang`` when given."""

    def words(reasons: Sequence[str]) -> list[str]:
        return [r if lang is None else describe_reason(r, lang) for r in reasons]

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
                "reasons": words(m.reasons),
            }
            for m in result.matches
        ],
    }
    if result.unmet:
        nm = result.near_miss
        out["near_miss"] = None
        if nm is not None:
            out["near_miss"] = {
                "resource": nm.external_id,
                "name": nm.name,
                "reasons": words(nm.reasons),
            }
            if nm.distance_m is not None:
                out["near_miss"]["distance_m"] = round(nm.distance_m)
    return out


# --------------------------------------------------------------------------- evaluation
#
# Needs are evaluated in batches: every array below is flat over the candidates of all
# the batch's needs ("candidate k belongs to need seg[k]"). numpy's cost on a few dozen
# candidates is per call, not per element, so one pass over 2,000 needs' candidates costs
# about what one need's did; score() is a batch of one.

#: Needs evaluated together by score_many (typically 35,000 candidates: a few MiB).
BATCH = 2048
#: A batch with more candidates than this (needs wanting any category far from home in a
#: dense city) is halved, so the flat arrays stay around 150 MiB at most.
MAX_CANDIDATES = 1 << 20
#: The cache of schedule wishes is cleared beyond this many wishes, or this many values
#: (each holds one per schedule pattern).
_WISH_CACHE_ENTRIES = 4096
_WISH_CACHE_VALUES = 1 << 22


@dataclass(frozen=True, eq=False)
class _Wish:
    """A need's schedule wish judged against every schedule pattern once (cached per
    snapshot: needs repeat few wishes). ``value``/``ok`` have one entry per pattern and a
    last one for pattern −1 (schedule unknown), so ``value[pid]`` works for every row."""

    key: tuple[Any, ...]
    window: np.ndarray  # day offsets considered
    slot: int  # wanted 30-minute slots
    value: np.ndarray  # schedule factor
    ok: np.ndarray  # passes the hard schedule check


@dataclass
class _Needs:
    """The batch's needs as arrays (one entry per need), plus the distinct schedule
    wishes, category sets and texts they share."""

    pos: np.ndarray  # dense district index, −1 unknown
    lat: np.ndarray  # the need's point, else its district's centroid, else NaN
    lon: np.ndarray
    walk: np.ndarray  # walking limit applied (m)
    no_limit: np.ndarray  # the record states no walking limit
    own_means: np.ndarray  # can travel beyond walking (transport)
    travel: np.ndarray  # own-means radius (m), −1 without
    masks: np.ndarray  # uint64 category bits that meet the need
    category_index: np.ndarray  # → categories
    categories: list[tuple[str, ...]]
    wish_index: np.ndarray  # → wishes
    wishes: list[_Wish]
    attr_recorded: np.ndarray
    attr_bits: np.ndarray  # expanded attribute bits (0 when not recorded)
    age_recorded: np.ndarray
    age: np.ndarray
    day: np.ndarray  # the need's date, days since the epoch
    total: np.ndarray  # sum of the weights of the factors present
    queries: list[str]  # normalised text ("" = none)
    query_id: np.ndarray  # → distinct_queries
    distinct_queries: list[str]
    has_query: np.ndarray
    w_text: np.ndarray  # weight of the text factor in the score (0 = no text)


@dataclass
class _Batch:
    """Candidates of a batch of needs with their hard checks and soft factors; sorted by
    need, then row (candidate k belongs to need ``seg[k]``)."""

    needs: Sequence[NeedQuery]
    nd: _Needs
    seg: np.ndarray  # candidate → need
    rows: np.ndarray
    dist: np.ndarray  # metres, NaN when unknown
    served: np.ndarray  # the row serves the need's district chain (else an open venue)
    pids: np.ndarray  # schedule pattern per candidate (−1 unknown)
    factors: dict[str, np.ndarray]
    fails: np.ndarray  # len(FUNNEL) × candidates
    base: np.ndarray
    wishes: list[_Wish]  # per need (for wording)
    walk_m: list[float]  # per need: the walking limit applied (for wording)


class _Cand(NamedTuple):
    """One candidate to word (a top match or a near-miss), as plain Python values."""

    need: NeedQuery
    wish: _Wish
    walk_m: float  # the walking limit applied
    row: int
    pid: int  # schedule pattern (−1 unknown)
    dist: float  # metres, NaN when unknown
    served: bool  # serves the need's district chain (else an open venue)


def _cand(b: _Batch, k: int) -> _Cand:
    i = int(b.seg[k])
    return _Cand(
        b.needs[i],
        b.wishes[i],
        b.walk_m[i],
        int(b.rows[k]),
        int(b.pids[k]),
        float(b.dist[k]),
        bool(b.served[k]),
    )


def _category_mask(snap: DirectorySnapshot, need: NeedQuery) -> int:
    """Bits of every category that meets one of the need's (the codes and descendants,
    see :meth:`Taxonomy.descendants`); when the need names no category, every bit but the
    reference categories' (§1: they meet only a need that names them)."""
    if not need.categories:
        reference = 0
        for code in snap.taxonomy.reference_codes:
            reference |= 1 << snap.category_bit[code]
        return ((1 << 64) - 1) & ~reference
    mask = 0
    for code in need.categories:
        if code not in snap.category_masks:
            raise MatchInputError(
                N_("need {need}: unknown category {code}"), need=need.id, code=repr(code)
            )
        for _depth, bits in snap.category_masks[code]:
            mask |= bits
    return mask


def _needs(
    snap: DirectorySnapshot,
    needs: Sequence[NeedQuery],
    weights: Mapping[str, float],
    params: Mapping[str, float],
) -> _Needs:
    """Read the needs' fields once (plain Python, a few µs a need); raises ValueError for
    an unknown category or a date outside the snapshot, in the needs' order."""
    lat, lon, limits, own_means, district = [], [], [], [], []
    attr_recorded, attr_bits, age_recorded, age, day = [], [], [], [], []
    masks, queries, has_text = [], [], []
    wish_of: dict[tuple[Any, ...], int] = {}
    wishes: list[_Wish] = []
    wish_index, category_index = [], []
    category_of: dict[tuple[str, ...], int] = {}
    masks_of: dict[tuple[str, ...], int] = {}
    bits_of: dict[tuple[str, ...], int] = {}
    text_of: dict[str, str] = {}
    for need in needs:
        offset = snap.day_offset(need.on)
        mask = masks_of.get(need.categories)
        if mask is None:
            mask = masks_of[need.categories] = _category_mask(snap, need)
        masks.append(mask)
        category_index.append(category_of.setdefault(need.categories, len(category_of)))
        wish = _wish(snap, need, offset, params)
        wish_index.append(wish_of.setdefault(wish.key, len(wish_of)))
        if len(wishes) < len(wish_of):
            wishes.append(wish)
        located = need.lat is not None and need.lon is not None
        lat.append(need.lat if located else math.nan)
        lon.append(need.lon if located else math.nan)
        limits.append(math.nan if need.max_walk_m is None else need.max_walk_m)
        own_means.append(need.transport)
        district.append(need.district_id)
        attributes = need.attributes
        attr_recorded.append(attributes is not None)
        if attributes is None:
            attr_bits.append(0)
        else:
            bits = bits_of.get(attributes)
            if bits is None:
                bits = bits_of[attributes] = _expand_attributes(attributes)
            attr_bits.append(bits)
        age_recorded.append(need.age is not None)
        age.append(need.age or 0)
        day.append(((need.on or snap.on) - _EPOCH).days)
        query = text_of.get(need.text)
        if query is None:
            query = text_of[need.text] = normalize(need.text)
        queries.append(query)
        has_text.append(bool(need.text.strip()))
    # the text factor counts only for needs with text (the others are re-weighted)
    present = [
        float(sum(weights.get(f, 0.0) for f in FACTOR_NAMES if f != "text" or has)) or 1.0
        for has in (False, True)
    ]
    total = np.array(present)[np.array(has_text, dtype=np.int64)]
    has_query = np.array([bool(q) for q in queries], dtype=bool)
    query_of: dict[str, int] = {}
    query_id = np.array([query_of.setdefault(q, len(query_of)) for q in queries], dtype=np.int64)
    unplaced = np.array([d is None for d in district], dtype=bool)
    pos = snap.district_positions(np.array([d or 0 for d in district], dtype=np.int64))
    pos[unplaced] = -1
    lat_a, lon_a = np.array(lat), np.array(lon)
    # a need recorded without a location stands at its district's centroid
    centroid = np.isnan(lat_a) & (pos >= 0)
    lat_a[centroid] = snap.district_lat[pos[centroid]]
    lon_a[centroid] = snap.district_lon[pos[centroid]]
    lat_a[np.isnan(lon_a)] = np.nan
    limit_a = np.array(limits, dtype=np.float64)
    no_limit = np.isnan(limit_a)
    own_a = np.array(own_means, dtype=bool)
    return _Needs(
        pos=pos,
        lat=lat_a,
        lon=lon_a,
        walk=np.where(no_limit, params["default_walk_m"], limit_a),
        no_limit=no_limit,
        own_means=own_a,
        travel=np.where(own_a, params["travel_radius_m"], -1.0),
        masks=np.array(masks, dtype=np.uint64),
        category_index=np.array(category_index, dtype=np.int64),
        categories=list(category_of),
        wish_index=np.array(wish_index, dtype=np.int64),
        wishes=wishes,
        attr_recorded=np.array(attr_recorded, dtype=bool),
        attr_bits=np.array(attr_bits, dtype=np.int64),
        age_recorded=np.array(age_recorded, dtype=bool),
        age=np.array(age, dtype=np.int64),
        day=np.array(day, dtype=np.int64),
        total=total,
        queries=queries,
        query_id=query_id,
        distinct_queries=list(query_of),
        has_query=has_query,
        w_text=np.where(has_query, weights.get("text", 0.0) / total, 0.0),
    )


def _evaluate(
    snap: DirectorySnapshot,
    needs: Sequence[NeedQuery],
    weights: Mapping[str, float],
    params: Mapping[str, float],
) -> _Batch | None:
    """Every need's candidates (right category, not ended, and serving the place: 対象地区
    or an open venue within reach) with their hard checks and soft factors; None when a
    batch of several needs has more than :data:`MAX_CANDIDATES` (halve it)."""
    pickup_m = params["pickup_radius_m"]
    nd = _needs(snap, needs, weights, params)
    # --- candidates
    seg, rows, dist = _candidates(
        snap, nd.pos, nd.masks, nd.lat, nd.lon, nd.walk, nd.travel, pickup_m
    )
    if len(rows) > MAX_CANDIDATES and len(needs) > 1:
        return None
    # --- place. A row either serves the need's district chain or is an open venue found
    # near the need (the grids hold open venues only), already known to be within reach.
    served = snap.lists_districts[rows]
    d = np.where(np.isnan(dist), np.inf, dist)
    cols = snap.packed[rows]
    offers_pickup = cols[:, 1] == 1
    has_venue = ~np.isnan(snap.lat[rows])
    walk_c, travel_c = nd.walk[seg], nd.travel[seg]
    walk_ok = d <= walk_c
    ride_ok = (offers_pickup & (d <= pickup_m)) | (d <= travel_c)
    # a venue of a resource serving the district must still be reachable: on foot within
    # the recorded limit, by its 送迎, or by the resident's own means (or no limit given)
    served_ok = served & (
        ~has_venue | offers_pickup | nd.own_means[seg] | nd.no_limit[seg] | walk_ok
    )
    place_ok = served_ok | (~served & (walk_ok | ride_ok))
    with np.errstate(invalid="ignore", divide="ignore"):
        walk_f = np.where(walk_ok, 1.0 - 0.5 * np.minimum(d / np.maximum(walk_c, 1e-9), 1.0), 0.0)
        # a ride (送迎 or the resident's own) scores like walking over its longer range
        ride_range = np.where(offers_pickup & (d <= pickup_m), pickup_m, np.maximum(travel_c, 1.0))
        ride_f = np.where(ride_ok, 0.9 - 0.4 * np.minimum(d / ride_range, 1.0), 0.0)
    served_f = np.where(
        has_venue,
        np.maximum(walk_f, np.where(offers_pickup, 0.9, params["served_with_venue"])),
        1.0,
    )
    place_f = np.where(served, np.where(served_ok, served_f, 0.0), np.maximum(walk_f, ride_f))
    # --- schedule: a lookup in the need's wish (one value per pattern)
    pids = cols[:, 5]
    which = nd.wish_index[seg]
    sched_f = np.stack([w.value for w in nd.wishes])[which, pids]
    sched_ok = np.stack([w.ok for w in nd.wishes])[which, pids]
    # --- eligibility
    attrs, min_age = cols[:, 3], cols[:, 4]
    recorded = nd.attr_recorded[seg]
    elig_ok = ~recorded | (attrs == 0) | ((attrs & nd.attr_bits[seg]) != 0)
    unconfirmed = (~recorded & (attrs != 0)).astype(np.int8)
    age_known = nd.age_recorded[seg]
    unconfirmed += ~age_known & (min_age > 0)
    elig_ok &= ~age_known | (min_age <= nd.age[seg])
    elig_f = np.where(
        elig_ok,
        np.maximum(
            params["eligibility_floor"], 1.0 - params["eligibility_unconfirmed"] * unconfirmed
        ),
        0.0,
    )
    # --- capacity, freshness, category
    full = cols[:, 2] == 0
    cap_f = np.array([0.0, 1.0, params["capacity_unknown"]])[cols[:, 2]]
    fresh_f = _freshness(snap, nd.day, seg, rows, params)
    fits = np.stack([_category_fit(snap, cats, params) for cats in nd.categories])
    cat_f = fits[nd.category_index[seg], snap.cat_combo[rows]]

    factors = {
        "distance": place_f,
        "schedule": sched_f,
        "category": cat_f,
        "capacity": cap_f,
        "eligibility": elig_f,
        "freshness": fresh_f,
    }
    base = sum(weights.get(f, 0.0) * factors[f] for f in factors) / nd.total[seg]
    fails = np.stack([~place_ok, cols[:, 0] == _PAUSED, ~sched_ok, ~elig_ok, full])
    return _Batch(
        needs,
        nd,
        seg,
        rows,
        dist,
        served,
        pids,
        factors,
        fails,
        base,
        [nd.wishes[w] for w in nd.wish_index.tolist()],
        nd.walk.tolist(),
    )


def _candidates(
    snap: DirectorySnapshot,
    pos: np.ndarray,
    masks: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    walk: np.ndarray,
    travel: np.ndarray,
    pickup_m: float,
) -> tuple[np.ndarray, ...]:
    """(need, row, metres) of every right-category, not-ended row serving a need's
    district chain (``pos``: the need's district, −1 unknown), and of every such open
    venue within its reach (on foot, by the resident's own means, or by its 送迎: a second
    grid over the wider pick-up radius), sorted by need then row. The category test
    comes first: one AND drops most rows."""
    need, level = snap.district_chains(pos)
    owner, index = expand_ranges(snap.served_ptr[level], snap.served_ptr[level + 1])
    seg = [need[owner]]
    rows = [snap.served_rows[index]]
    located = np.flatnonzero(~np.isnan(lat))
    radius = np.maximum(walk, travel)
    owner, near = snap.rows_near_many(lat[located], lon[located], radius[located])
    seg.append(located[owner])
    rows.append(near)
    wide = located[radius[located] < pickup_m]
    owner, near = snap.rows_near_many(
        lat[wide], lon[wide], np.full(len(wide), pickup_m), pickup_only=True
    )
    seg.append(wide[owner])
    rows.append(near)
    seg_a, rows_a = np.concatenate(seg), np.concatenate(rows)
    keep = (snap.live_bits[rows_a] & masks[seg_a]) != 0
    seg_a, rows_a = seg_a[keep], rows_a[keep]
    p1, l1 = np.radians(lat), np.radians(lon)
    geo = snap.geo[rows_a]  # rows of radians and cos lat
    dist = haversine_rad_m(p1[seg_a], l1[seg_a], geo[:, 0], geo[:, 1], np.cos(p1)[seg_a], geo[:, 2])
    # open venues beyond every reach do not serve the place (exact distance, NaN = far)
    d = np.where(np.isnan(dist), np.inf, dist)
    reach = (
        snap.lists_districts[rows_a]
        | (d <= walk[seg_a])
        | (d <= travel[seg_a])
        | ((snap.transport[rows_a] == 1) & (d <= pickup_m))
    )
    seg_a, rows_a, dist = seg_a[reach], rows_a[reach], dist[reach]
    # sorted by (need, row), each once (a row may serve two levels of a chain; the two
    # grids overlap)
    _, first = np.unique(seg_a * np.int64(len(snap) + 1) + rows_a, return_index=True)
    return seg_a[first], rows_a[first], dist[first]


def _freshness(
    snap: DirectorySnapshot,
    day: np.ndarray,
    seg: np.ndarray,
    rows: np.ndarray,
    params: Mapping[str, float],
) -> np.ndarray:
    """Freshness of each candidate on its need's date (one cached array per date)."""
    dates = np.unique(day)
    if len(dates) == 1:
        return _freshness_on(snap, int(dates[0]), params)[rows]
    out = np.empty(len(rows))
    cand_day = day[seg]
    for on_day in dates.tolist():
        mine = cand_day == on_day
        out[mine] = _freshness_on(snap, on_day, params)[rows[mine]]
    return out


def _freshness_on(snap: DirectorySnapshot, on_day: int, params: Mapping[str, float]) -> np.ndarray:
    """Freshness of every resource on one date (days since the epoch)."""
    fresh_days, stale_days = params["fresh_days"], params["stale_days"]
    key = (on_day, fresh_days, stale_days, params["freshness_unknown"])
    cached = snap._fresh_cache.get(key)
    if cached is None:
        verified = snap.verified_day
        age_days = on_day - verified.astype(np.int64)
        cached = np.where(
            verified == _UNKNOWN_DAY,
            params["freshness_unknown"],
            np.clip((stale_days - age_days) / (stale_days - fresh_days), 0.0, 1.0),
        )
        if len(snap._fresh_cache) > 64:
            snap._fresh_cache.clear()
        snap._fresh_cache[key] = cached
    return cached


def _category_fit(
    snap: DirectorySnapshot, categories: tuple[str, ...], params: Mapping[str, float]
) -> np.ndarray:
    """The category factor of each distinct category set of the snapshot
    (``snapshot.cat_combo`` maps rows to sets): cached per wanted categories."""
    key = (categories, params["category_step"])
    cached = snap._category_fit_cache.get(key)
    if cached is not None:
        return cached
    bits = snap.cat_combo_bits
    if not categories:
        total = np.full(len(bits), 0.5)
    else:
        total = np.zeros(len(bits))
        for code in categories:
            fit = np.zeros(len(bits))
            for depth, mask in snap.category_masks[code]:
                value = max(0.0, 1.0 - params["category_step"] * depth)
                fit = np.maximum(fit, np.where((bits & np.uint64(mask)) != 0, value, 0.0))
            total += fit
        total = total / len(categories)
    if len(snap._category_fit_cache) > 4096:
        snap._category_fit_cache.clear()
    snap._category_fit_cache[key] = total
    return total


def _wish(
    snap: DirectorySnapshot, need: NeedQuery, offset: int, params: Mapping[str, float]
) -> _Wish:
    """The need's schedule wish against every pattern (see :class:`_Wish`).

    The window is the days the wish is judged on; with wanted weekdays the value is the
    mean over them of the share of their dates with an occurrence in the wanted slots.
    """
    wants = need.wants_schedule
    key = (
        offset,
        need.days,
        need.months,
        need.time,
        params["schedule_season_only"],
        params["schedule_idle"],
        params["schedule_unknown"],
    )
    cached = snap._wish_cache.get(key)
    if cached is not None:
        return cached
    if wants and need.months:
        window = offset + np.arange(YEAR_DAYS)
        window = window[np.isin(snap.day_month[window], need.months)]
    else:
        window = offset + np.arange(snap.horizon_days)
    if wants and need.days:
        window = window[np.isin(snap.day_weekday[window], need.days)]
    slot = slot_mask(*need.time) if need.time and wants else ALL_SLOTS
    hits = (snap.pattern_table[:, window] & np.uint64(slot)) != 0
    if wants and need.days:
        # the mean over the wanted weekdays of the share of their dates with a hit: the
        # hits per weekday are exact integers, so every date hit gives exactly 1.0
        weekday = snap.day_weekday[window]
        per_day = (weekday[:, None] == np.asarray(need.days)[None, :]).astype(np.float64)
        share = (hits.astype(np.float64) @ per_day) / np.maximum(per_day.sum(axis=0), 1.0)
        value = share.sum(axis=1) / len(need.days)
    else:
        value = hits.any(axis=1).astype(np.float64)
    if wants and need.months and not need.days and not need.time:
        month_bits = sum(1 << (m - 1) for m in need.months)
        season = (snap.pattern_season_only & month_bits) != 0
        value = np.where(value > 0, value, np.where(season, params["schedule_season_only"], 0.0))
    if wants:
        value = np.append(value, 0.0)
        ok = value > 0
    else:
        value = np.append(
            np.where(value > 0, 1.0, params["schedule_idle"]), params["schedule_unknown"]
        )
        ok = np.ones(len(value), dtype=bool)
    wish = _Wish(key, window, slot, value, ok)
    cache = snap._wish_cache
    if len(cache) >= _WISH_CACHE_ENTRIES or (len(cache) + 1) * len(value) > _WISH_CACHE_VALUES:
        cache.clear()
    cache[key] = wish
    return wish


# --------------------------------------------------------------------------- scoring


def _check(top: int, weights: Mapping[str, float]) -> None:
    if top < 1:
        raise MatchInputError(N_("top must be at least 1"))
    if weights is not DEFAULT_WEIGHTS and (unknown := set(weights) - set(FACTOR_NAMES)):
        raise MatchInputError(N_("unknown factors in weights: {factors}"), factors=sorted(unknown))


def score(
    snapshot: DirectorySnapshot,
    need: NeedQuery,
    *,
    top: int = 5,
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
    params: Mapping[str, float] = DEFAULT_PARAMETERS,
    lang: str = DEFAULT_LANG,
) -> NeedResult:
    """Rank the resources that can meet ``need`` (at most ``top``), or explain why none can.

    ``weights`` maps factor names to weights (missing ones count 0); ``params`` are the
    thresholds of :data:`matching.weights.PARAMETERS`; reasons are worded in ``lang``
    (:class:`Reason`: another language is one ``describe`` away). Raises ValueError
    (:class:`MatchInputError`) for an unknown category or a need dated outside the
    snapshot's window.
    """
    _check(top, weights)
    return _score_batch(snapshot, [need], top, weights, params, lang)[0]


def score_many(
    snapshot: DirectorySnapshot,
    needs: Iterable[NeedQuery],
    *,
    top: int = 5,
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
    params: Mapping[str, float] = DEFAULT_PARAMETERS,
    lang: str = DEFAULT_LANG,
    progress: Callable[[int, int], None] | None = None,
) -> list[NeedResult]:
    """:func:`score` for a batch of needs, in order (the same results, computed
    :data:`BATCH` needs at a time). ``progress(done, total)`` is called after each batch
    (a bar on the command line for 100,000 needs).

    The cyclic garbage collector is paused for the batch: results hold no cycles, and
    its passes over 100,000 accumulating results cost a fifth of the batch time.
    """
    _check(top, weights)
    needs = list(needs)
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        results: list[NeedResult] = []
        for start in range(0, len(needs), BATCH):
            results += _score_batch(
                snapshot, needs[start : start + BATCH], top, weights, params, lang
            )
            if progress is not None:
                progress(len(results), len(needs))
        return results
    finally:
        if was_enabled:
            gc.enable()


def _score_batch(
    snap: DirectorySnapshot,
    needs: Sequence[NeedQuery],
    top: int,
    weights: Mapping[str, float],
    params: Mapping[str, float],
    lang: str = DEFAULT_LANG,
) -> list[NeedResult]:
    """Rank each need's candidates: per need, the passing ones by score (text similarity
    added where it could still change the top ``top``), or the best near-miss."""
    b = _evaluate(snap, needs, weights, params)
    if b is None:
        half = len(needs) // 2
        return _score_batch(snap, needs[:half], top, weights, params, lang) + _score_batch(
            snap, needs[half:], top, weights, params, lang
        )
    n = len(needs)
    found = np.bincount(b.seg, minlength=n)
    passing = np.flatnonzero(~b.fails.any(axis=0))
    seg = b.seg[passing]
    count = np.bincount(seg, minlength=n)
    first = np.cumsum(count) - count  # passing candidates are grouped by need
    base = b.base[passing]
    w_text = b.nd.w_text[seg]
    text = np.zeros(len(passing))
    with_text = b.nd.has_query[seg]
    if with_text.any():
        # Text can add at most w_text: only rows whose upper bound reaches the top-th
        # base score of their need can still enter its top, so rapidfuzz runs on those.
        by_base = np.lexsort((-base, seg))
        has = count > 0
        kth = np.full(n, np.inf)
        kth[has] = base[by_base[first[has] + np.minimum(top, count[has]) - 1]]
        maybe = np.flatnonzero(with_text & (base + w_text >= kth[seg]))
        text[maybe] = _text_similarity(snap, b, passing[maybe])
    final = base + w_text * text
    order = np.lexsort((b.rows[passing], -final, seg))
    best = order[np.arange(len(order)) - first[seg[order]] < top]
    taken = np.minimum(count, top)
    best_first = (np.cumsum(taken) - taken).tolist()
    # Python from here on: only the top rows and near-misses are worded.
    best_k = passing[best]
    best_final = final[best].tolist()
    best_text = text[best].tolist()
    best_factors = {name: b.factors[name][best_k].tolist() for name in b.factors}
    best_rows, best_pids = b.rows[best_k].tolist(), b.pids[best_k].tolist()
    best_dist, best_served = b.dist[best_k].tolist(), b.served[best_k].tolist()
    near = _near_misses(b, count)
    results = []
    for i, (need, n_found, n_taken) in enumerate(
        zip(needs, found.tolist(), taken.tolist(), strict=True)
    ):
        if n_found == 0:
            near_miss = _beyond_reach(snap, b, i, lang)
            reason = "no_resource" if near_miss is None else "distance"
            results.append(NeedResult(need.id, True, reason, (), near_miss))
        elif n_taken == 0:
            near_miss = _near_miss(snap, b, near[i], params, lang)
            results.append(NeedResult(need.id, True, near_miss.reason, (), near_miss))
        else:
            matches = []
            wish, walk_m, query = b.wishes[i], b.walk_m[i], b.nd.queries[i]
            for j in range(best_first[i], best_first[i] + n_taken):
                factors = {name: best_factors[name][j] for name in b.factors}
                if query:
                    factors["text"] = best_text[j]
                c = _Cand(
                    need, wish, walk_m, best_rows[j], best_pids[j], best_dist[j], best_served[j]
                )
                matches.append(_match(snap, c, best_final[j], factors, params, lang))
            results.append(NeedResult(need.id, False, None, tuple(matches), None))
    return results


def _text_similarity(snap: DirectorySnapshot, b: _Batch, cand: np.ndarray) -> np.ndarray:
    """rapidfuzz partial_ratio (0–1) of each candidate's text to its need's text: one
    ``cdist`` per distinct need text over the distinct rows it meets."""
    out = np.zeros(len(cand))
    query = b.nd.query_id[b.seg[cand]]
    order = np.argsort(query, kind="stable")
    for idx in np.split(order, np.flatnonzero(np.diff(query[order])) + 1):
        if len(idx) == 0:
            continue
        rows, inverse = np.unique(b.rows[cand[idx]], return_inverse=True)
        texts = [snap.text(r) for r in rows.tolist()]
        values = (
            process.cdist(
                [b.nd.distinct_queries[query[idx[0]]]], texts, scorer=fuzz.partial_ratio, workers=1
            )[0]
            / 100.0
        )
        out[idx] = values[inverse]
    return out


def _near_misses(b: _Batch, count: np.ndarray) -> dict[int, int]:
    """Per need with candidates but none passing: the candidate that got furthest down
    the funnel (then fewest failures, then the best soft score, then row)."""
    cand = np.flatnonzero((count == 0)[b.seg])
    if len(cand) == 0:
        return {}
    fails = b.fails[:, cand]
    stage = np.argmax(fails, axis=0)  # first failed constraint (every row fails one)
    seg = b.seg[cand]
    order = np.lexsort((b.rows[cand], -b.base[cand], fails.sum(axis=0), -stage, seg))
    lead = np.ones(len(order), dtype=bool)
    lead[1:] = seg[order[1:]] != seg[order[:-1]]
    best = cand[order[lead]]
    return dict(zip(b.seg[best].tolist(), best.tolist(), strict=True))


def _near_miss(
    snap: DirectorySnapshot, b: _Batch, k: int, params: Mapping[str, float], lang: str
) -> NearMiss:
    """The near-miss candidate ``k`` with every constraint it failed, in words."""
    c = _cand(b, k)
    row = c.row
    failed = tuple(name for stage, name in enumerate(FUNNEL) if b.fails[stage, k])
    words = {
        "distance": lambda: _place_reason(snap, c, params, lang),
        "paused": lambda: _say(lang, N_("paused")),
        "schedule": lambda: _schedule_reason(snap, c, lang),
        "eligibility": lambda: _eligibility_reason(snap, c, lang),
        "capacity": lambda: _capacity_reason(snap, row, lang),
    }
    return NearMiss(
        row,
        int(snap.ids[row]),
        snap.external_ids[row],
        snap.names[row],
        failed[0],
        failed,
        tuple(words[name]() for name in failed),
        None if math.isnan(c.dist) else c.dist,
    )


def _beyond_reach(snap: DirectorySnapshot, b: _Batch, i: int, lang: str) -> NearMiss | None:
    """For a need with no candidate at all: the nearest live resource of its categories
    elsewhere in its municipality (an open venue beyond every reach, or one whose
    対象地区 are other districts) — the need is then unmet for ``distance``, and the
    協議体 sees "it exists, but not here" apart from "it does not exist" (``no_resource``,
    None here). Rows without a venue count only when no row has one; the municipality is
    the root of the district chain (open venues belong to every municipality that can
    reach them, so they stay in). A need whose district the snapshot does not know has
    no municipality: None."""
    pos = int(b.nd.pos[i])
    if pos < 0:
        return None
    mask = int(b.nd.masks[i])
    cache = snap._category_fit_cache
    rows = cache.get(("live_rows", mask))
    if rows is None:
        rows = cache[("live_rows", mask)] = np.flatnonzero((snap.live_bits & np.uint64(mask)) != 0)
    district_root, row_root = _municipalities(snap)
    rows = rows[(row_root[rows] == district_root[pos]) | (row_root[rows] < 0)]
    if len(rows) == 0:
        return None
    lat, lon = float(b.nd.lat[i]), float(b.nd.lon[i])
    p1 = math.radians(lat)
    geo = snap.geo[rows]
    dist = haversine_rad_m(p1, math.radians(lon), geo[:, 0], geo[:, 1], math.cos(p1), geo[:, 2])
    known = ~np.isnan(dist)
    k = int(np.argmin(np.where(known, dist, np.inf))) if known.any() else 0
    row, d = int(rows[k]), float(dist[k])
    listed = bool(snap.lists_districts[row])
    shown = None if math.isnan(d) else (round(d, -1) if d < 1000 else round(d, -2))
    key = ("beyond", listed, shown, lang)
    words = snap._reason_cache.get(key)
    if words is None:
        words = snap._reason_cache[key] = _beyond_words(listed, d, lang)
    return NearMiss(
        row,
        int(snap.ids[row]),
        snap.external_ids[row],
        snap.names[row],
        "distance",
        ("distance",),
        (words,),
        None if math.isnan(d) else d,
    )


def _municipalities(snap: DirectorySnapshot) -> tuple[np.ndarray, np.ndarray]:
    """(root of each dense district, root of each row's first 対象地区 or −1 for an open
    venue), computed once per snapshot. Walks up the parents for all districts at once;
    a parent loop (refused on import) stops after as many steps as there are districts."""
    cache = snap._category_fit_cache
    found = cache.get(("district_root",)), cache.get(("row_root",))
    if found[0] is not None and found[1] is not None:
        return found[0], found[1]
    parent = snap.district_parent.astype(np.int64)
    root = np.arange(len(parent), dtype=np.int64)
    for _ in range(len(parent)):
        up = parent[root]
        if not (up >= 0).any():
            break
        root = np.where(up >= 0, up, root)
    row_root = np.full(len(snap), -1, dtype=np.int64)
    lists = np.flatnonzero(snap.lists_districts)
    dense = snap.district_positions(snap.district_idx[snap.district_ptr[lists]])
    row_root[lists] = np.where(dense >= 0, root[np.maximum(dense, 0)], -1)
    cache[("district_root",)], cache[("row_root",)] = root, row_root
    return root, row_root


def _beyond_words(listed: bool, d: float, lang: str) -> Reason:
    if listed:
        if math.isnan(d):
            return _say(lang, N_("for other districts only"))
        where = _say(lang, N_("{distance} to the venue"), distance=_metres(d, lang))
        return _say(lang, N_("for other districts only ({where})"), where=where)
    return _say(lang, N_("{distance} to the venue, beyond reach"), distance=_metres(d, lang))


# --------------------------------------------------------------------------- reasons


def _metres(d: float, lang: str, about: bool = True) -> Reason:
    if d < 1000:
        metres = f"{round(d, -1):.0f}"
        if about:
            return _say(lang, N_("about {metres} m"), metres=metres)
        return _say(lang, N_("{metres} m"), metres=metres)
    km = f"{d / 1000:.1f}"
    return _say(lang, N_("about {km} km") if about else N_("{km} km"), km=km)


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60}:{minutes % 60:02d}"


def _time_label(window: tuple[int, int]) -> str:
    return f"{_hhmm(window[0])}–{_hhmm(window[1])}"


def _months_label(months: Sequence[int], lang: str) -> Reason:
    wanted = set(months)
    if len(wanted) == 12:
        return _say(lang, N_("all year"))
    starts = [m for m in sorted(wanted) if (m - 2) % 12 + 1 not in wanted]
    if len(starts) == 1:
        first = last = starts[0]
        while last % 12 + 1 in wanted:
            last = last % 12 + 1
        if first == last:
            return _say(lang, MONTH_EN[first - 1])
        return _say(
            lang,
            N_("{first} to {last}"),
            first=_say(lang, MONTH_EN[first - 1]),
            last=_say(lang, MONTH_EN[last - 1]),
        )
    return _say(lang, N_("months {months}"), months=_join([str(m) for m in sorted(wanted)], lang))


def _days_label(days: Iterable[int], lang: str) -> Reason:
    return _join([_say(lang, WEEKDAY_EN[d]) for d in days], lang)


def _place_reason(
    snap: DirectorySnapshot, c: _Cand, params: Mapping[str, float], lang: str = DEFAULT_LANG
) -> str:
    """Where the resource is for the need; worded once per case and rounded distance."""
    row = c.row
    d = c.dist
    known = not math.isnan(d)
    has_venue = not math.isnan(snap.lat[row])
    pickup = snap.transport[row] == 1
    need = c.need
    walk_limit = need.max_walk_m
    walkable = known and d <= c.walk_m
    shown = (f"{round(d, -1):.0f}m" if d < 1000 else f"{d / 1000:.1f}km") if known else None
    if c.served:
        if not has_venue:
            case = "served"
        elif walkable:
            case = "served_walk"
        elif pickup:
            case = "served_pickup"
        elif need.transport:
            case = "served_own"
        elif walk_limit is None:
            case = "served_venue"
        elif walk_limit <= 0:
            case = "no_pickup"
        else:
            case = "too_far"
    elif walkable:
        case = "walk"
    elif pickup and d <= params["pickup_radius_m"]:
        case = "pickup"
    else:
        case = "own"
    limit = walk_limit if case == "too_far" else None
    if case in ("served", "served_pickup"):
        shown = None
    cache = snap._reason_cache
    key = ("place", case, shown, limit, lang)
    found = cache.get(key)
    if found is None:
        found = cache[key] = _place_words(case, d, known, limit, lang)
    return found


def _place_words(case: str, d: float, known: bool, limit: float | None, lang: str) -> Reason:
    if case == "served":
        return _say(lang, N_("in the served district"))
    if case == "served_walk":
        return _say(
            lang, N_("in the served district, {distance} on foot"), distance=_metres(d, lang)
        )
    if case == "served_pickup":
        return _say(lang, N_("in the served district, pick-up service"))
    if case in ("served_own", "served_venue", "no_pickup", "too_far"):
        where = (
            _say(lang, N_("{distance} to the venue"), distance=_metres(d, lang))
            if known
            else _say(lang, N_("distance to the venue unknown"))
        )
        if case == "served_own":
            return _say(
                lang, N_("in the served district ({where}, own means of travel)"), where=where
            )
        if case == "served_venue":
            return _say(lang, N_("in the served district ({where})"), where=where)
        if case == "no_pickup":  # failed: cannot walk, no 送迎
            return _say(lang, N_("no pick-up service ({where}, cannot walk)"), where=where)
        return _say(  # failed: too far to walk
            lang,
            N_("{where} (walking limit {limit})"),
            where=where,
            limit=_metres(limit or 0.0, lang, about=False),
        )
    if case == "walk":
        return _say(lang, N_("{distance} on foot"), distance=_metres(d, lang))
    if case == "pickup":
        return _say(
            lang, N_("pick-up service ({distance} to the venue)"), distance=_metres(d, lang)
        )
    return _say(
        lang, N_("{distance} to the venue (own means of travel)"), distance=_metres(d, lang)
    )


def _pattern_words(snap: DirectorySnapshot, pid: int, lang: str) -> Reason:
    parse = ScheduleParse("", snap.pattern_schedules[pid], paused=False, understood=True)
    return Reason(lang, make=lambda to: describe(parse, to))


def _cached(snap: DirectorySnapshot, key: tuple[Any, ...], make: Any) -> str:
    """Reasons repeat across needs (same pattern, same wish): word each once (per language)."""
    cache = snap._reason_cache
    value = cache.get(key)
    if value is None:
        if len(cache) > 100_000:
            cache.clear()
        value = cache[key] = make()
    return value


def _schedule_reason(snap: DirectorySnapshot, c: _Cand, lang: str = DEFAULT_LANG) -> str:
    pid = c.pid
    if pid < 0:
        if snap.schedule_state[c.row] == SCHEDULE_NOT_UNDERSTOOD:
            return _cached(
                snap,
                ("schedule", "not_understood", lang),
                lambda: _say(lang, N_("schedule not understood, cannot be checked")),
            )
        return _cached(
            snap, ("schedule", "none", lang), lambda: _say(lang, N_("no schedule given"))
        )
    return _cached(
        snap,
        ("schedule", pid, c.wish.key, lang),
        lambda: _schedule_words(snap, c.need, c.wish, pid, lang),
    )


def _schedule_words(
    snap: DirectorySnapshot, need: NeedQuery, wish: _Wish, pid: int, lang: str
) -> Reason:
    hits = (snap.pattern_table[pid, wish.window] & np.uint64(wish.slot)) != 0
    months = _months_label(need.months, lang) if need.months else None
    time = _time_label(need.time) if need.time else ""
    if not need.wants_schedule:
        words = _pattern_words(snap, pid, lang)
        if hits.any():
            return words
        return _say(
            lang,
            N_("no activity in the next {weeks} weeks ({words})"),
            weeks=snap.horizon_days // 7,
            words=words,
        )
    timeless = bool(snap.pattern_timeless[pid]) and need.time is not None
    if not hits.any():
        if not any(s.rrule for s in snap.pattern_schedules[pid]):
            if months is not None and not need.days and not need.time:
                return _say(lang, N_("active in {months} (days not set)"), months=months)
            return _say(lang, N_("no days given ({words})"), words=_pattern_words(snap, pid, lang))
        parts: list[Any] = []
        if need.days:
            parts.append(_say(lang, N_("on {days}"), days=_days_label(need.days, lang)))
        if time:
            parts.append(time)
        if parts:
            wanted = Reason(lang, make=lambda to: " ".join(str(_word(p, to)) for p in parts))
            if months is not None:
                return _say(
                    lang, N_("no activity {wanted} in {months}"), wanted=wanted, months=months
                )
            return _say(lang, N_("no activity {wanted}"), wanted=wanted)
        if months is not None:
            return _say(lang, N_("no activity in {months}"), months=months)
        return _say(lang, N_("no activity"))

    def confirm(words: Reason) -> Reason:
        if timeless:
            return _say(lang, N_("{words} (time to be confirmed)"), words=words)
        return words

    if need.days:
        weekday = snap.day_weekday[wish.window]
        got = [d for d in need.days if hits[weekday == d].any()]
        missing = [d for d in need.days if d not in got]
        days = _days_label(got, lang)
        if time and months is not None:
            words = _say(
                lang,
                N_("active on {days} at {time} in {months}"),
                days=days,
                time=time,
                months=months,
            )
        elif time:
            words = _say(lang, N_("active on {days} at {time}"), days=days, time=time)
        elif months is not None:
            words = _say(lang, N_("active on {days} in {months}"), days=days, months=months)
        else:
            words = _say(lang, N_("active on {days}"), days=days)
        if missing:
            return confirm(
                _say(
                    lang,
                    N_("{words} (no activity on {days})"),
                    words=words,
                    days=_days_label(missing, lang),
                )
            )
        window_days = len(wish.window)
        hit = int(hits.sum())
        if hit < window_days:
            return confirm(
                _say(
                    lang,
                    N_("{words} ({hit} of {total} days)"),
                    words=words,
                    hit=hit,
                    total=window_days,
                )
            )
        return confirm(words)
    if need.time:
        if months is not None:
            return confirm(_say(lang, N_("active at {time} in {months}"), time=time, months=months))
        return confirm(_say(lang, N_("active at {time}"), time=time))
    return _say(lang, N_("active in {months}"), months=months)


def _eligibility_reason(snap: DirectorySnapshot, c: _Cand, lang: str = DEFAULT_LANG) -> str:
    row = c.row
    need = c.need
    attrs = int(snap.attr_bits[row])
    min_age = int(snap.min_age[row])
    key = ("eligibility", attrs, min_age, need.age, need.attributes, lang)
    return _cached(snap, key, lambda: _eligibility_words(need, attrs, min_age, lang))


def _attributes_label(words: Sequence[str], lang: str) -> Reason:
    return _join([_say(lang, _ATTRIBUTE_MSGIDS[a]) for a in words], lang)


def _eligibility_words(need: NeedQuery, attrs: int, min_age: int, lang: str) -> Reason:
    need_bits = _expand_attributes(need.attributes or ())
    words = [a for a in ATTRIBUTES if _ATTR_BIT[a] & attrs]
    if not (words or min_age):
        return _say(lang, N_("no conditions on who may use it"))
    failed: list[Reason] = []
    unconfirmed: list[Reason] = []
    met: list[Reason] = []
    if min_age:
        label = _say(lang, N_("aged {age} or over"), age=min_age)
        if need.age is None:
            unconfirmed.append(label)
        elif need.age < min_age:
            failed.append(
                _say(lang, N_("{label} (the person is {age})"), label=label, age=need.age)
            )
        else:
            met.append(label)
    if words:
        label = _attributes_label(words, lang)
        if need.attributes is None:
            unconfirmed.append(label)
        elif attrs & need_bits:
            met.append(_attributes_label([a for a in words if _ATTR_BIT[a] & need_bits], lang))
        else:
            failed.append(_say(lang, N_("for people {label}"), label=label))
    if failed:
        return _say(lang, N_("not eligible: {reasons}"), reasons=_join(failed, lang, _LIST))
    if unconfirmed:
        return _say(lang, N_("to be confirmed: {items}"), items=_join(unconfirmed, lang))
    return _say(lang, N_("meets the conditions ({items})"), items=_join(met, lang))


_CAPACITY_FULL = N_("full (no places left)")
_CAPACITY_SEATS = N_("places available ({seats} left)")
_CAPACITY_OPEN = N_("places available")
_CAPACITY_UNKNOWN = N_("availability not confirmed")


def _capacity_reason(snap: DirectorySnapshot, row: int, lang: str = DEFAULT_LANG) -> str:
    seats = int(snap.seats_left[row])
    accepts = int(snap.accepts_new[row])
    if accepts == 0 or seats == 0:
        key: tuple[Any, ...] = (_CAPACITY_FULL, 0)
    elif seats > 0:
        key = (_CAPACITY_SEATS, seats)
    elif accepts == 1:
        key = (_CAPACITY_OPEN, 0)
    else:
        key = (_CAPACITY_UNKNOWN, 0)
    cache = snap._reason_cache
    found = cache.get((*key, lang))
    if found is None:  # four wordings (and the seat counts): no _cached closure per match
        found = cache[(*key, lang)] = _say(lang, key[0], seats=key[1])
    return found


def _category_reason(
    snap: DirectorySnapshot, need: NeedQuery, row: int, lang: str = DEFAULT_LANG
) -> str:
    bits = int(snap.cat_bits[row])
    key = ("category", bits, need.categories, lang)
    return _cached(snap, key, lambda: _category_words(snap, need, bits, lang))


def _category_label(snap: DirectorySnapshot, code: str, lang: str) -> Reason:
    category = snap.taxonomy[code]
    return Reason(lang, make=category.label)


def _category_words(snap: DirectorySnapshot, need: NeedQuery, bits: int, lang: str) -> Reason:
    labels = [
        _category_label(snap, c, lang)
        for c in snap.category_codes
        if bits & (1 << snap.category_bit[c])
        and (not need.categories or any(snap.taxonomy.meets(n, c) for n in need.categories))
    ]
    text = _say(lang, N_("category: {labels}"), labels=_join(labels, lang, _LIST))
    unmet = [
        _category_label(snap, n, lang)
        for n in need.categories
        if not any(
            snap.taxonomy.meets(n, c)
            for c in snap.category_codes
            if bits & (1 << snap.category_bit[c])
        )
    ]
    if unmet:
        return _say(
            lang,
            N_("{text} ({labels} not covered)"),
            text=text,
            labels=_join(unmet, lang, _LIST),
        )
    return text


def _freshness_reason(
    snap: DirectorySnapshot,
    need: NeedQuery,
    row: int,
    params: Mapping[str, float],
    lang: str = DEFAULT_LANG,
) -> str:
    day = int(snap.verified_day[row])
    if day == _UNKNOWN_DAY:
        return _cached(
            snap, ("freshness", None, lang), lambda: _say(lang, N_("verification date unknown"))
        )
    on = need.on or snap.on
    return _cached(
        snap,
        ("freshness", day, on, params["fresh_days"], lang),
        lambda: _freshness_words(day, on, params["fresh_days"], lang),
    )


def _freshness_words(day: int, on: dt.date, fresh_days: float, lang: str) -> Reason:
    when = _EPOCH + dt.timedelta(days=day)
    label = _say(
        lang, N_("{year}-{month:02}-{day:02}"), year=when.year, month=when.month, day=when.day
    )
    age = (on - when).days
    if age <= fresh_days:
        return _say(lang, N_("verified {date}"), date=label)
    return _say(
        lang, N_("last verified {date} (over {years} years ago)"), date=label, years=age // 365
    )


def _match(
    snap: DirectorySnapshot,
    c: _Cand,
    value: float,
    factors: dict[str, float],
    params: Mapping[str, float],
    lang: str,
) -> Match:
    row = c.row
    words = {
        "distance": _place_reason(snap, c, params, lang),
        "schedule": _schedule_reason(snap, c, lang),
        "category": _category_reason(snap, c.need, row, lang),
        "capacity": _capacity_reason(snap, row, lang),
        "eligibility": _eligibility_reason(snap, c, lang),
        "freshness": _freshness_reason(snap, c.need, row, params, lang),
    }
    if "text" in factors:
        percent = round(factors["text"] * 100)
        found = snap._reason_cache.get(("text", percent, lang))
        if found is None:
            found = snap._reason_cache[("text", percent, lang)] = _say(
                lang, N_("{percent}% similar to the request"), percent=percent
            )
        words["text"] = found
    d = c.dist
    return Match(
        row=row,
        resource_id=int(snap.ids[row]),
        external_id=snap.external_ids[row],
        name=snap.names[row],
        score=min(1.0, max(0.0, value)),
        factors={name: factors[name] for name in FACTOR_NAMES if name in factors},
        reasons=tuple(words[name] for name in FACTOR_NAMES if name in words),
        distance_m=None if math.isnan(d) else d,
    )

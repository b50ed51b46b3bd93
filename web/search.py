"""Forgiving resource search: an in-memory index of the directory, cached per version.

Why in memory: a coordinator types 「さろん」, 「ごみだし」 or 「ぼらんてあ」 and expects サロン,
ゴミ出し支援 and ボランティア among 150,000 resources within a blink (p95 ≤ 200 ms, measured
by ``benchmarks/web_search.py``). SQL ``LIKE`` can neither fold kana and width nor forgive a
typo, and scanning every row per request is too slow. So the index keeps, per resource,
its texts as :func:`directory.text.normalize` keys (NFKC, katakana → hiragana, width,
case) and its facets as numpy columns; a query is a few substring scans over those keys,
a fuzzy look-up (rapidfuzz) in a small vocabulary of words, category spellings and place
names, then boolean masks for the filters and ``bincount``/``sum`` for the facet counts.

The index reflects one directory version (:func:`directory.state.current`). When the
directory moves on, the versions in between say which resources they changed
(:func:`directory.state.changed_since`); those few are re-read into a small overlay index
that shadows their rows in the base, so an edit is searchable on the next request without
re-reading 150,000 rows. A change that does not say (an import, districts) or too many
changes rebuild the whole index.

Layers: this is ``web`` (the pages and the API share it); it reads ``directory`` only.
"""

from __future__ import annotations

import datetime as dt
import gc
import re
import threading
import weakref
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

import numpy as np
from rapidfuzz import fuzz, process
from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from directory import state
from directory.bulk import gc_paused
from directory.errors import UnknownCategoryError
from directory.i18n import N_, LocalisedError, translate
from directory.models import (
    RESOURCE_STATUSES,
    District,
    Organization,
    Resource,
    Schedule,
    Venue,
    resource_category,
    resource_district,
)
from directory.schedules import ONE_DAY, ParsedSchedule, describe, expand, parse_schedule
from directory.taxonomy import Taxonomy, load_taxonomy
from directory.text import normalize, reading
from directory.weekdays import WEEKDAY_CODES, WEEKDAY_EN, WeekdayError, parse_weekdays
from web.actors import Actor
from web.memo import Memo

__all__ = [
    "FACETS",
    "PER_PAGE",
    "BadQuery",
    "FacetValue",
    "Hit",
    "SearchIndex",
    "SearchIndexCache",
    "SearchPage",
    "SearchQuery",
    "index_cache",
    "run_search",
    "schedule_words",
    "search",
    "sees_every_resource",
    "status_label",
]

PER_PAGE = 20
MAX_PAGE = 10_000
#: Facets in the order the page shows them.
FACETS = ("category", "area", "district", "weekday", "open_on", "status")
#: How many changed resources an overlay holds before the whole index is rebuilt.
OVERLAY_LIMIT = 2_000
#: Dates the "open on" facet counts ahead (today and the next six days).
OPEN_DAYS_AHEAD = 7
#: Districts listed as a facet without an area chosen (a prefecture has thousands).
MAX_DISTRICT_CHOICES = 300
#: Names sampled to order a query's words by how rare they are.
SAMPLE_ROWS = 2_000
#: Vocabulary entries a misspelt word may stand for.
MAX_FUZZY = 12

STATUS_LABELS = {"active": N_("Active"), "paused": N_("Paused"), "ended": N_("Ended")}
_STATUS_INDEX = {s: i for i, s in enumerate(RESOURCE_STATUSES)}
_STATUS_WORDS = {
    normalize(w): s for s, w in (("active", "活動中"), ("paused", "休止中"), ("ended", "終了"))
}

# Words of a name for the fuzzy vocabulary: runs of one script (kana, kanji, latin, digits).
_RUNS = re.compile(r"[ぁ-ゖー]+|[一-鿿々〆ヶ]+|[a-z]+|[0-9]+")
# Query tokens: split on spaces and the punctuation people put between words.
_TOKEN_SPLIT = re.compile(r"[\s、。,.・/／;；]+")

# Weights: where a query word was found says how good the hit is.
W_NAME_START = 12.0
W_NAME = 10.0
W_CATEGORY = 7.0
W_DISTRICT = 4.0
W_OTHER = 3.0
FUZZY_FACTOR = 0.6


def status_label(status: str, lang: str) -> str:
    return translate(STATUS_LABELS.get(status, status), lang)


def sees_every_resource(actor: Actor) -> bool:
    """DATA_FORMATS §8: anyone sees public, active resources; a signed-in user all of them."""
    return actor.role != "anonymous"


class BadQuery(LocalisedError, ValueError):
    """A search parameter that cannot be read; ``field`` names it (400, never a traceback)."""

    def __init__(self, field: str, msgid: str, /, **params: Any) -> None:
        super().__init__(msgid, **params)
        self.field = field


# ----------------------------------------------------------------------------- query


@dataclass(frozen=True)
class SearchQuery:
    """The filters of ``GET /resources`` and ``GET /api/v1/resources`` (DATA_FORMATS §8)."""

    q: str = ""
    category: str | None = None  # taxonomy code
    area: str | None = None  # district code (level area)
    district: str | None = None  # district code
    weekdays: tuple[int, ...] = ()  # 0 = Monday
    open_on: dt.date | None = None
    status: str | None = None
    page: int = 1
    per_page: int = PER_PAGE

    @classmethod
    def from_args(cls, args: Mapping[str, Any], *, per_page: int = PER_PAGE) -> SearchQuery:
        """Read the request's parameters the way users write them: a category by code,
        label or synonym (§1), weekdays as 火, 火曜, TU or 平日, dates as YYYY-MM-DD,
        the status as a code or 活動中/休止中/終了. Empty parameters are no filter."""

        def get(name: str) -> str:
            value = args.get(name)
            return str(value).strip() if value is not None else ""

        category = None
        if raw := get("category"):
            try:
                category = load_taxonomy().resolve(raw).code
            except UnknownCategoryError as exc:
                if exc.suggestions:
                    raise BadQuery(
                        "category",
                        N_("Unknown category: {value} (did you mean: {suggestions})"),
                        value=raw,
                        suggestions="、".join(exc.suggestions),
                    ) from None
                raise BadQuery("category", N_("Unknown category: {value}"), value=raw) from None
        weekdays: tuple[int, ...] = ()
        raw_days = args.getlist("weekday") if hasattr(args, "getlist") else [get("weekday")]
        raw_days = [str(d).strip() for d in raw_days if str(d).strip()]
        if raw_days:
            try:
                weekdays = parse_weekdays(raw_days)
            except WeekdayError as exc:
                raise BadQuery(
                    "weekday", N_("Unknown weekday: {value}"), value=str(exc.token)
                ) from None
        open_on = None
        if raw := get("open_on"):
            try:
                open_on = dt.date.fromisoformat(normalize(raw))
            except ValueError:
                raise BadQuery(
                    "open_on", N_("Write the date as YYYY-MM-DD: {value}"), value=raw
                ) from None
        status = None
        if raw := get("status"):
            key = normalize(raw)
            status = key if key in RESOURCE_STATUSES else _STATUS_WORDS.get(key)
            if status is None:
                raise BadQuery("status", N_("Unknown status: {value}"), value=raw)
        page = 1
        if raw := get("page"):
            try:
                page = int(normalize(raw))
            except ValueError:
                page = 0
            if not 1 <= page <= MAX_PAGE:
                raise BadQuery(
                    "page", N_("The page must be a number from 1 to {max}"), max=MAX_PAGE
                )
        return cls(
            q=get("q")[:200],
            category=category,
            area=get("area") or None,
            district=get("district") or None,
            weekdays=weekdays,
            open_on=open_on,
            status=status,
            page=page,
            per_page=per_page,
        )

    def tokens(self) -> list[str]:
        return [t for t in _TOKEN_SPLIT.split(normalize(self.q, keep_spaces=True)) if t][:8]

    def args(self, **changes: Any) -> dict[str, Any]:
        """The query as URL parameters (for facet and page links), with ``changes``."""
        values: dict[str, Any] = {
            "q": self.q,
            "category": self.category,
            "area": self.area,
            "district": self.district,
            "weekday": [WEEKDAY_CODES[d] for d in self.weekdays],
            "open_on": self.open_on.isoformat() if self.open_on else None,
            "status": self.status,
            "page": self.page if self.page > 1 else None,
        }
        values |= changes
        return {k: v for k, v in values.items() if v not in (None, "", [])}


# ----------------------------------------------------------------------------- records


def _reading_key(name: str, name_key: str | None) -> str:
    """A name's guessed reading (Sudachi) where the list gives none (名称_カナ is often
    empty in real files), so 「ほんちょう」 or a near spelling of it finds 本町…; empty when
    the name has no kanji (the reading would be its own key)."""
    guessed = reading(name)
    return "" if guessed == (name_key or normalize(name)) else guessed


class Record(NamedTuple):
    """One resource as the index keeps it (read by :func:`load_records`)."""

    id: int
    external_id: str
    name: str
    name_key: str  # normalize(name), as stored
    kana_key: str
    other_key: str  # organisation, venue, address and building, normalised
    categories: tuple[str, ...]
    status: str
    public: bool
    phone: str | None
    address: str | None
    place: str | None
    lat: float | None
    lon: float | None
    organization: str | None
    venue_district: int | None
    served: tuple[int, ...]
    schedules: tuple[tuple[Any, ...], ...]  # stored schedule rows as text (see _parsed)
    schedule_source: str
    schedule_anchor: dt.date | None
    schedule_understood: bool


def _chunks(ids: Sequence[int], size: int = 500) -> Iterable[Sequence[int]]:
    for i in range(0, len(ids), size):
        yield ids[i : i + size]


class KeyMemo(dict[str, str]):
    """Normalised keys by raw text. Normalising is the costly part of a build (about a
    microsecond per character), so a rebuild reuses the keys of the index it replaces
    (``previous``) and keeps only those of the texts it saw."""

    def __init__(self, previous: KeyMemo | None = None) -> None:
        super().__init__()
        self.previous = previous

    def key(self, text: str | None) -> str:
        if not text:
            return ""
        found = self.get(text)
        if found is None:
            found = self.previous.get(text) if self.previous is not None else None
            self[text] = found = found if found is not None else normalize(text)
        return found


def load_records(
    session: Session, ids: Iterable[int] | None = None, memo: KeyMemo | None = None
) -> list[Record]:
    """Every resource (or those of ``ids``) in four set queries, ordered by external id.

    Dates and times come as text and are parsed once per distinct value (the schedule
    rows of 150,000 resources hold a few hundred); names and the organisation's and
    venue's names use their stored ``name_key``.
    """
    memo = memo if memo is not None else KeyMemo()
    wanted = None if ids is None else sorted(set(ids))
    base = (
        select(
            Resource.id,
            Resource.external_id,
            Resource.name,
            Resource.name_key,
            Resource.kana,
            Resource.status,
            Resource.public,
            Resource.phone,
            Resource.address,
            Resource.building,
            Resource.lat,
            Resource.lon,
            Resource.schedule_understood,
            Venue.name,
            Venue.name_key,
            Venue.address,
            Venue.lat,
            Venue.lon,
            Venue.district_id,
            Organization.name,
            Organization.name_key,
            Organization.phone,
        )
        .outerjoin(Venue, Venue.id == Resource.venue_id)
        .outerjoin(Organization, Organization.id == Resource.organization_id)
    )
    cat_q = select(resource_category.c.resource_id, resource_category.c.category_code)
    served_q = select(resource_district.c.resource_id, resource_district.c.district_id)
    sched_q = select(
        Schedule.resource_id,
        Schedule.source_text,
        Schedule.rrule,
        cast(Schedule.start_time, String),
        cast(Schedule.end_time, String),
        Schedule.season_start_month,
        Schedule.season_end_month,
        Schedule.holiday_rule,
        Schedule.year_end_closed,
        cast(Schedule.anchor_date, String),
    ).order_by(Schedule.resource_id, Schedule.id)
    cats: dict[int, list[str]] = defaultdict(list)
    served: dict[int, list[int]] = defaultdict(list)
    scheds: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    sources: dict[int, tuple[str, str | None]] = {}
    rows: list[tuple[Any, ...]] = []
    groups: list[Sequence[int] | None] = [None] if wanted is None else list(_chunks(wanted))
    for group in groups:

        def run(stmt: Any, column: Any, group: Sequence[int] | None = group) -> Any:
            if group is not None:
                return session.execute(stmt.where(column.in_(list(group)))).tuples()
            # the whole directory: plain driver rows (no per-value type processing, which
            # took half the time); every column read is text, a number or a flag
            connection = session.connection()
            return connection.exec_driver_sql(str(stmt.compile(connection))).tuples()

        rows.extend(run(base, Resource.id).all())
        for rid, code in run(cat_q, resource_category.c.resource_id).all():
            cats[rid].append(code)
        for rid, did in run(served_q, resource_district.c.resource_id).all():
            served[rid].append(did)
        for rid, source, *columns in run(sched_q, Schedule.resource_id).all():
            columns[6] = bool(columns[6])
            scheds[rid].append(tuple(columns))
            if rid not in sources and source:
                sources[rid] = (source, columns[7])
    order = {c.code: i for i, c in enumerate(load_taxonomy())}
    dates: dict[str | None, dt.date | None] = {None: None}
    shared: dict[Any, Any] = {}  # one tuple object per distinct value (memory)

    def one(value: Any) -> Any:
        return shared.setdefault(value, value)

    records = []
    for (
        rid,
        external_id,
        name,
        name_key,
        kana,
        status,
        public,
        phone,
        address,
        building,
        lat,
        lon,
        understood,
        venue_name,
        venue_key,
        venue_address,
        venue_lat,
        venue_lon,
        venue_district,
        org_name,
        org_key,
        org_phone,
    ) in rows:
        source, anchor = sources.get(rid, ("", None))
        if anchor not in dates:
            dates[anchor] = dt.date.fromisoformat(anchor[:10]) if anchor else None
        address = address or venue_address
        other = (
            f"{org_key or ''}\x01{venue_key or ''}\x01{memo.key(address)}\x01{memo.key(building)}"
        )
        located = lat is not None and lon is not None
        records.append(
            Record(
                rid,
                external_id,
                name,
                name_key or memo.key(name),
                memo.key(kana) if kana else _reading_key(name, name_key),
                other,
                one(tuple(sorted(cats.get(rid, ()), key=lambda c: order.get(c, len(order))))),
                status,
                bool(public),
                phone or org_phone,
                address,
                building or venue_name,
                lat if located else venue_lat,
                lon if located else venue_lon,
                org_name,
                venue_district,
                one(tuple(sorted(served.get(rid, ())))),
                one(tuple(scheds.get(rid, ()))),
                source,
                dates[anchor],
                bool(understood),
            )
        )
    records.sort(key=lambda rec: rec.external_id)
    return records


# ----------------------------------------------------------------------------- geography


@dataclass(frozen=True)
class Place:
    id: int
    code: str
    name: str
    level: str
    parent_id: int | None


class Geography:
    """The district tree, read once per index: names, codes, areas and their ancestors."""

    def __init__(self, places: Iterable[Place]):
        self.places = {p.id: p for p in places}
        self.by_code = {p.code: p for p in self.places.values()}
        self.position = {pid: i for i, pid in enumerate(sorted(self.places))}
        self.ids = sorted(self.places)
        self.areas = sorted(
            (p for p in self.places.values() if p.level == "area"), key=lambda p: p.code
        )
        self.area_position = {p.id: i for i, p in enumerate(self.areas)}
        self.chains = {pid: self._chain(pid) for pid in self.places}
        below: dict[int, list[int]] = defaultdict(list)
        for area in self.areas:
            owner = self.ancestor_at(area.id, "municipality")
            if owner is not None:
                below[owner].append(area.id)
        self.areas_below_municipality = dict(below)
        self.children: dict[int, list[int]] = defaultdict(list)
        for p in self.places.values():
            if p.parent_id is not None:
                self.children[p.parent_id].append(p.id)
        self.name_keys = {pid: normalize(p.name) for pid, p in self.places.items()}
        self.code_keys = {pid: normalize(p.code) for pid, p in self.places.items()}
        # districts (level district) and their chains as pairs, for facet counts in numpy
        self.leaves = sorted(
            (p for p in self.places.values() if p.level == "district"), key=lambda p: p.code
        )
        pairs = [
            (i, self.position[a])
            for i, leaf in enumerate(self.leaves)
            for a in self.chains[leaf.id]
        ]
        self.leaf_of = np.array([i for i, _a in pairs], dtype=np.int64)
        self.leaf_ancestor = np.array([a for _i, a in pairs], dtype=np.int64)

    @classmethod
    def current(cls, session: Session) -> Geography:
        """The tree at the directory version ``session`` sees, read once per version
        (pages ask on every request)."""
        return state.derived(session, "geography", cls.read)

    @classmethod
    def read(cls, session: Session) -> Geography:
        return cls(
            Place(*row)
            for row in session.execute(
                select(
                    District.id, District.code, District.name, District.level, District.parent_id
                )
            ).tuples()
        )

    def _chain(self, pid: int) -> tuple[int, ...]:
        """The district and its ancestors, nearest first."""
        chain: list[int] = []
        current: int | None = pid
        while current is not None and current not in chain and current in self.places:
            chain.append(current)
            current = self.places[current].parent_id
        return tuple(chain)

    def ancestor_at(self, pid: int, level: str) -> int | None:
        return next((a for a in self.chains.get(pid, ()) if self.places[a].level == level), None)

    def areas_of(self, pid: int) -> list[int]:
        """The areas a district belongs to; a municipality (全域) is in all of its areas."""
        if pid not in self.places:
            return []
        if self.places[pid].level == "municipality":
            return self.areas_below_municipality.get(pid, [])
        area = self.ancestor_at(pid, "area")
        return [area] if area is not None else []

    def descendants(self, pid: int) -> set[int]:
        found = {pid}
        todo = [pid]
        while todo:
            for child in self.children.get(todo.pop(), ()):
                if child not in found:
                    found.add(child)
                    todo.append(child)
        return found

    def reduced(self, ids: Iterable[int]) -> list[int]:
        """``ids`` without those whose ancestor is also listed: a district filter matches a
        resource through at most one of them, so counts add up without double counting."""
        given = {i for i in ids if i in self.places}
        return sorted(i for i in given if not any(a in given for a in self.chains[i][1:]))


# ----------------------------------------------------------------------------- schedules


@lru_cache(maxsize=16_384)
def _parsed(rows: tuple[tuple[Any, ...], ...]) -> tuple[ParsedSchedule, ...]:
    """Stored schedule rows (times and dates as text) as the parser's schedules."""

    def time(value: str | None) -> dt.time | None:
        return dt.time.fromisoformat(value) if value else None

    return tuple(
        ParsedSchedule(
            rrule=r[0],
            start_time=time(r[1]),
            end_time=time(r[2]),
            season_start_month=r[3],
            season_end_month=r[4],
            holiday_rule=r[5] or "open",
            year_end_closed=bool(r[6]),
            anchor_date=dt.date.fromisoformat(r[7][:10]) if r[7] else None,
        )
        for r in rows
    )


_BYDAY_CODE = re.compile(r"[+-]?\d*(MO|TU|WE|TH|FR|SA|SU)")


def _weekday_bits(schedules: Sequence[ParsedSchedule]) -> int:
    """The weekdays a schedule runs on (bit 0 = Monday): from BYDAY, every day for DAILY,
    the date's own day for a one-off; a day of the month (毎月15日) names no weekday."""
    bits = 0
    for s in schedules:
        if not s.rrule:
            continue
        if s.rrule == ONE_DAY:
            if s.anchor_date is not None:
                bits |= 1 << s.anchor_date.weekday()
            continue
        parts = dict(p.split("=", 1) for p in s.rrule.split(";") if "=" in p)
        if "BYDAY" in parts:
            for item in parts["BYDAY"].split(","):
                m = _BYDAY_CODE.fullmatch(item)
                if m:
                    bits |= 1 << WEEKDAY_CODES.index(m[1])
        elif parts.get("FREQ") == "DAILY" and "BYMONTHDAY" not in parts:
            bits |= 0x7F
    return bits


def schedule_words(source: str, anchor: dt.date | None, lang: str, *, for_public: bool) -> str:
    """The schedule in words. For the public, a text the parser did not understand is shown
    as written (the 「解釈できない記述」 note is for coordinators)."""
    if not source:
        return ""
    parsed = parse_schedule(source, anchor)
    if for_public and not parsed.understood:
        return source.strip()
    return describe(parsed, lang)


# ----------------------------------------------------------------------------- index


def _bigrams(word: str) -> set[str]:
    return {word[i : i + 2] for i in range(len(word) - 1)} or {word}


_PREFIX = 8


class _Texts:
    """One normalised text per row. A list comprehension of ``in`` tests is the fastest
    scan CPython offers here (about 10 ms for 150,000 names; faster than a regex over
    the joined texts or numpy's string functions)."""

    def __init__(self, texts: Sequence[str]) -> None:
        self.texts = list(texts)
        self.prefixes = np.array([t[:_PREFIX] for t in self.texts], dtype=f"<U{_PREFIX}")

    def joined(self) -> str:
        return "\x00".join(self.texts)

    def find(self, token: str, among: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(rows containing ``token``, whether it starts that row's text), rows ascending;
        only the rows ``among`` are looked at when given (the others cannot match)."""
        texts = self.texts
        if among is not None and among.size * 3 < len(texts):
            rows = np.array([i for i in among.tolist() if token in texts[i]], dtype=np.int64)
        else:  # enumerating every text is faster than picking most of them
            rows = np.array([i for i, t in enumerate(texts) if token in t], dtype=np.int64)
            if among is not None and rows.size:
                keep = np.zeros(len(texts), dtype=bool)
                keep[among] = True
                rows = rows[keep[rows]]
        starts = np.strings.startswith(self.prefixes[rows], token[:_PREFIX])
        if len(token) > _PREFIX:
            for i in np.flatnonzero(starts).tolist():
                starts[i] = self.texts[rows[i]].startswith(token)
        return rows, starts


class SearchIndex:
    """The searchable columns of a set of resources (see the module docstring)."""

    def __init__(self, records: Sequence[Record], geo: Geography, taxonomy: Taxonomy) -> None:
        n = self.n = len(records)
        self.geo = geo
        self.taxonomy = taxonomy
        self.records = list(records)
        self.row_of = {r.id: i for i, r in enumerate(records)}
        self.names = _Texts([f"{r.name_key}\x01{r.kana_key}" for r in records])
        self.others = _Texts([r.other_key for r in records])
        self.status = np.fromiter(
            (_STATUS_INDEX.get(r.status, 0) for r in records), dtype=np.int8, count=n
        )
        self.public = np.fromiter((r.public for r in records), dtype=bool, count=n)
        self.visible_to_public = self.public & (self.status == 0)
        # categories: one mask per code for the resources in its subtree (a filter or a
        # count for 生活支援 includes ゴミ出し支援)
        self.category_masks = {c.code: np.zeros(n, dtype=bool) for c in taxonomy}
        with_ancestors: dict[tuple[str, ...], list[str]] = {}
        for i, r in enumerate(records):
            codes = with_ancestors.get(r.categories)
            if codes is None:
                found = {c for c in r.categories if c in self.category_masks}
                for c in list(found):
                    found.update(taxonomy.ancestors(c))
                codes = with_ancestors[r.categories] = sorted(found)
            for code in codes:
                self.category_masks[code][i] = True
        # areas and districts as (row, position) pairs; resources attached to the same
        # places share one computation
        places: dict[tuple[tuple[int, ...], int | None], tuple[list[int], list[int]]] = {}
        area_rows: list[int] = []
        area_pos: list[int] = []
        dist_rows: list[int] = []
        dist_pos: list[int] = []
        for i, r in enumerate(records):
            key = (r.served, r.venue_district)
            found_places = places.get(key)
            if found_places is None:
                attached = [
                    *r.served,
                    *([r.venue_district] if r.venue_district is not None else []),
                ]
                areas: set[int] = set()
                for d in attached:
                    areas.update(geo.areas_of(d))
                found_places = places[key] = (
                    [geo.area_position[a] for a in sorted(areas)],
                    [geo.position[d] for d in geo.reduced(attached)],
                )
            a_pos, d_pos = found_places
            area_rows.extend([i] * len(a_pos))
            area_pos.extend(a_pos)
            dist_rows.extend([i] * len(d_pos))
            dist_pos.extend(d_pos)
        self.area_rows = np.array(area_rows, dtype=np.int32)
        self.area_pos = np.array(area_pos, dtype=np.int32)
        self.dist_rows = np.array(dist_rows, dtype=np.int32)
        self.dist_pos = np.array(dist_pos, dtype=np.int32)
        # schedules: weekdays, and one id per distinct schedule for "open on a date"
        signature_of: dict[tuple[tuple[Any, ...], ...], int] = {}
        self.signatures: list[tuple[tuple[Any, ...], ...]] = []
        bits_of: list[int] = []
        sig = np.full(n, -1, dtype=np.int32)
        for i, r in enumerate(records):
            if not r.schedule_understood or not r.schedules:
                continue
            s_id = signature_of.get(r.schedules)
            if s_id is None:
                s_id = signature_of[r.schedules] = len(self.signatures)
                self.signatures.append(r.schedules)
                bits_of.append(_weekday_bits(_parsed(r.schedules)))
            sig[i] = s_id
        self.signature = sig
        self.weekday_bits = np.append(np.array(bits_of, dtype=np.uint8), np.uint8(0))[sig]
        self._open: dict[dt.date, np.ndarray] = {}
        self._open_lock = threading.Lock()
        # fuzzy vocabulary: the words of names (runs of one script), category spellings
        # (with their readings: ごみだし) and place names
        words = set(_RUNS.findall(self.names.joined()))
        self.vocab: list[tuple[str, str, Any]] = [
            ("word", w, w) for w in sorted(words) if len(w) >= 2 and not w.isdigit()
        ]
        self.category_keys = dict(taxonomy.keys)
        self.vocab += [("category", k, c) for k, c in self.category_keys.items()]
        self.vocab += [("district", k, pid) for pid, k in geo.name_keys.items() if len(k) >= 2]
        grams: dict[str, list[int]] = defaultdict(list)
        for v, (_kind, text, _target) in enumerate(self.vocab):
            for g in _bigrams(text):
                grams[g].append(v)
        self.grams = {g: np.array(v, dtype=np.int32) for g, v in grams.items()}
        self.vocab_lengths = np.fromiter((len(v[1]) for v in self.vocab), dtype=np.int32)
        order = sorted(range(n), key=lambda i: (records[i].name_key, records[i].external_id))
        self.rank = np.empty(n, dtype=np.int64)
        self.rank[order] = np.arange(n, dtype=np.int64)

    # --- masks ----------------------------------------------------------------------

    def rows_mask(self, rows: np.ndarray | Sequence[int]) -> np.ndarray:
        mask = np.zeros(self.n, dtype=bool)
        mask[np.asarray(rows, dtype=np.int64)] = True
        return mask

    def area_mask(self, area_id: int) -> np.ndarray:
        pos = self.geo.area_position.get(area_id)
        if pos is None:
            return np.zeros(self.n, dtype=bool)
        return self.rows_mask(self.area_rows[self.area_pos == pos])

    def district_mask(self, district_ids: Iterable[int]) -> np.ndarray:
        """Resources attached to these districts, to an ancestor of one (全域, an area) or
        to a district below one."""
        wanted: set[int] = set()
        for d in district_ids:
            wanted.update(self.geo.chains.get(d, ()))
            wanted.update(self.geo.descendants(d))
        positions = np.zeros(len(self.geo.ids), dtype=bool)
        positions[[self.geo.position[d] for d in wanted if d in self.geo.position]] = True
        return self.rows_mask(self.dist_rows[positions[self.dist_pos]])

    def weekday_mask(self, days: Sequence[int]) -> np.ndarray:
        wanted = sum(1 << d for d in days)
        return (self.weekday_bits & np.uint8(wanted)) != 0

    def open_mask(self, on: dt.date) -> np.ndarray:
        """Active resources whose schedule has an occurrence on ``on`` (each distinct
        schedule expanded once per date, cached)."""
        with self._open_lock:
            per_signature = self._open.get(on)
            if per_signature is None:
                per_signature = np.zeros(len(self.signatures) + 1, dtype=bool)  # last: -1
                for s_id, rows in enumerate(self.signatures):
                    per_signature[s_id] = bool(expand(_parsed(rows), on, on))
                if len(self._open) > 64:
                    self._open.clear()
                self._open[on] = per_signature
        return per_signature[self.signature] & (self.status == 0)

    # --- text -----------------------------------------------------------------------

    def rarest_first(self, tokens: Sequence[str]) -> list[str]:
        """The query's words, the rarest first (counted in a sample of names), so the
        words after it are looked for in few rows."""
        sample = self.names.texts[:: max(1, self.n // SAMPLE_ROWS)]
        return sorted(tokens, key=lambda t: (sum(t in x for x in sample), -len(t)))

    def token_scores(self, token: str, among: np.ndarray | None = None) -> np.ndarray:
        """How well each resource matches one query word (0 = not at all). Texts are
        scanned in the rows ``among`` only (those still in the running), when given."""
        score = np.zeros(self.n, dtype=np.float32)

        def lift(rows: np.ndarray, weight: float | np.ndarray) -> None:
            if rows.size:
                score[rows] = np.maximum(score[rows], weight)

        def lift_mask(mask: np.ndarray, weight: float) -> None:
            np.maximum(score, np.where(mask, np.float32(weight), np.float32(0)), out=score)

        rows, at_start = self.names.find(token, among)
        lift(rows, np.where(at_start, np.float32(W_NAME_START), np.float32(W_NAME)))
        lift(self.others.find(token, among)[0], W_OTHER)
        codes = {c for k, c in self.category_keys.items() if token in k}
        for code in codes:
            lift_mask(self.category_masks[code], W_CATEGORY)
        places = [
            pid
            for pid, k in self.geo.name_keys.items()
            if token in k or token == self.geo.code_keys[pid]
        ]
        if places:
            lift_mask(self.district_mask(places), W_DISTRICT)
        if len(token) >= 3:
            fuzzy_places = []
            for kind, target, similarity in self._fuzzy(token):
                factor = FUZZY_FACTOR * similarity / 100.0
                if kind == "word" and token in target:
                    continue  # its rows hold the token itself: found above, weighed more
                if kind == "word":
                    lift(self.names.find(target, among)[0], W_NAME * factor)
                elif kind == "category" and target not in codes:
                    lift_mask(self.category_masks[target], W_CATEGORY * factor)
                elif kind == "district":
                    fuzzy_places.append(target)
            if fuzzy_places:
                lift_mask(self.district_mask(fuzzy_places), W_DISTRICT * FUZZY_FACTOR * 0.8)
        return score

    def word_scores(self, token: str, among: np.ndarray | None = None) -> np.ndarray:
        """:meth:`token_scores`, or, when the word as typed is in no row at all, the scores
        of its runs of one script, every run matching: a whole name typed with a slip in
        one part (「本町いきいきさろそ」) is found through 「本町」, 「いきいき」 and the
        typo 「さろそ」, each forgiven on its own."""
        score = self.token_scores(token, among)
        runs = _RUNS.findall(token)
        found = score.any() if among is None else bool((score[among] > 0).any())
        if found or len(runs) < 2:
            return score
        total = np.zeros(self.n, dtype=np.float32)
        alive = np.ones(self.n, dtype=bool) if among is None else self.rows_mask(among)
        for run in self.rarest_first(runs):
            part = self.token_scores(run, np.flatnonzero(alive))
            alive &= part > 0
            total += part
            if not alive.any():
                break
        return np.where(alive, total, np.float32(0))

    def _fuzzy(self, token: str) -> list[tuple[str, Any, float]]:
        """Vocabulary entries that look like ``token`` (a typo, a kana too many or too
        few): candidates share a character pair with it, then rapidfuzz scores them — the
        whole word, or a longer word's best-matching part. A word shorter than the token
        is never a fuzzy hit (「架空」 is not a typo of 「架空の会12」)."""
        found = [self.grams[g] for g in _bigrams(token) if g in self.grams]
        if not found:
            return []
        candidates = np.unique(np.concatenate(found))
        lengths = self.vocab_lengths[candidates]
        candidates = candidates[(lengths >= len(token) - 1) & (lengths != 0)]
        cutoff = 66.0 if len(token) <= 3 else 72.0
        texts = [self.vocab[v][1] for v in candidates]
        best: dict[tuple[str, Any], float] = {}
        for scorer, factor in ((fuzz.ratio, 1.0), (fuzz.partial_ratio, 0.9)):
            for _text, similarity, at in process.extract(
                token, texts, scorer=scorer, limit=None, score_cutoff=cutoff / factor
            ):
                kind, text, target = self.vocab[int(candidates[at])]
                if scorer is fuzz.partial_ratio and len(text) <= len(token):
                    continue
                key = (kind, target)
                best[key] = max(best.get(key, 0.0), float(similarity) * factor)
        ranked = sorted(best.items(), key=lambda kv: -kv[1])[:MAX_FUZZY]
        return [(kind, target, s) for (kind, target), s in ranked]


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class FacetValue:
    value: str
    label: str
    count: int
    selected: bool


@dataclass(frozen=True)
class Hit:
    """One result, with what the list shows (the schedule already in words)."""

    external_id: str
    name: str
    categories: tuple[str, ...]
    category_labels: tuple[str, ...]
    districts: tuple[str, ...]  # names of the districts served
    phone: str | None
    address: str | None
    place: str | None
    schedule: str
    status: str
    public: bool
    lat: float | None
    lon: float | None
    organization: str | None


@dataclass(frozen=True)
class SearchPage:
    query: SearchQuery
    total: int
    hits: list[Hit]
    facets: dict[str, list[FacetValue]] = field(default_factory=dict)
    version: int = 0
    # parts of the page made from this answer alone, by whoever shows it first (the
    # answer is kept and shared: web.resources_views renders each part once per language)
    rendered: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.query.per_page))


@dataclass
class _Partial:
    """One index's share of a search: matching rows with their scores, and facet counts."""

    index: SearchIndex
    rows: np.ndarray
    scores: np.ndarray
    counts: dict[str, dict[Any, int]]


def _search_one(
    index: SearchIndex,
    query: SearchQuery,
    *,
    everyone: bool,
    hidden: np.ndarray | None,
    today: dt.date,
) -> _Partial:
    n = index.n
    base = np.ones(n, dtype=bool) if everyone else index.visible_to_public.copy()
    if hidden is not None:
        base &= ~hidden
    total_score = np.zeros(n, dtype=np.float32)
    # every word must match: the longest (likely the rarest) first, then each next word
    # is looked for only in the rows still in the running
    among = None if everyone and hidden is None else np.flatnonzero(base)
    for token in index.rarest_first(query.tokens()):
        s = index.word_scores(token, among)
        base &= s > 0
        total_score += s
        among = np.flatnonzero(base)
    geo = index.geo
    filters: dict[str, np.ndarray] = {}
    if query.category:
        filters["category"] = index.category_masks.get(query.category, np.zeros(n, dtype=bool))
    if query.area:
        place = geo.by_code.get(query.area)
        filters["area"] = index.area_mask(place.id) if place else np.zeros(n, dtype=bool)
    if query.district:
        place = geo.by_code.get(query.district)
        filters["district"] = index.district_mask([place.id]) if place else np.zeros(n, dtype=bool)
    if query.weekdays:
        filters["weekday"] = index.weekday_mask(query.weekdays)
    if query.open_on:
        filters["open_on"] = index.open_mask(query.open_on)
    if query.status:
        filters["status"] = index.status == RESOURCE_STATUSES.index(query.status)

    def without(name: str) -> np.ndarray:
        mask = base.copy()
        for other, m in filters.items():
            if other != name:
                mask &= m
        return mask

    counts: dict[str, dict[Any, int]] = {}
    m = without("category")
    counts["category"] = {
        c: int(np.count_nonzero(m & cm)) for c, cm in index.category_masks.items()
    }
    m = without("area")
    area_counts = np.bincount(index.area_pos[m[index.area_rows]], minlength=len(geo.areas))
    counts["area"] = {geo.areas[i].code: int(c) for i, c in enumerate(area_counts)}
    m = without("district")
    direct = np.bincount(index.dist_pos[m[index.dist_rows]], minlength=len(geo.ids))
    leaf_counts = np.bincount(
        geo.leaf_of, weights=direct[geo.leaf_ancestor], minlength=len(geo.leaves)
    )
    counts["district"] = {p.code: int(c) for p, c in zip(geo.leaves, leaf_counts, strict=True)}
    m = without("weekday")
    counts["weekday"] = {d: int(np.count_nonzero(m & index.weekday_mask([d]))) for d in range(7)}
    m = without("open_on")
    days = [today + dt.timedelta(days=k) for k in range(OPEN_DAYS_AHEAD)]
    if query.open_on and query.open_on not in days:
        days.append(query.open_on)
    counts["open_on"] = {d: int(np.count_nonzero(m & index.open_mask(d))) for d in days}
    m = without("status")
    status_counts = np.bincount(index.status[m], minlength=len(RESOURCE_STATUSES))
    counts["status"] = {s: int(status_counts[i]) for i, s in enumerate(RESOURCE_STATUSES)}
    final = without("")
    rows = np.flatnonzero(final)
    return _Partial(index, rows, total_score[rows], counts)


@dataclass
class IndexSet:
    """A base index, an overlay of resources changed since it was built, and which base
    rows those shadow (changed or deleted)."""

    version: int
    base: SearchIndex
    overlay: SearchIndex | None = None
    hidden: np.ndarray | None = None
    changed: frozenset[int] = frozenset()


def run_search(
    indexes: IndexSet, query: SearchQuery, *, everyone: bool, lang: str, today: dt.date
) -> SearchPage:
    """Run ``query`` over the index set: hits for the page asked for and facet counts."""
    parts = [
        _search_one(indexes.base, query, everyone=everyone, hidden=indexes.hidden, today=today)
    ]
    if indexes.overlay is not None and indexes.overlay.n:
        parts.append(
            _search_one(indexes.overlay, query, everyone=everyone, hidden=None, today=today)
        )
    total = sum(len(p.rows) for p in parts)
    scored = bool(query.tokens())
    wanted = query.page * query.per_page
    candidates: list[tuple[float, str, str, SearchIndex, int]] = []
    for p in parts:
        rows, scores = p.rows, p.scores
        if len(rows) > wanted:  # only the best ``wanted`` of a large index can be on the page
            # one integer key: score (to 1/100) first, then the name order
            key = p.index.rank[rows]
            if scored:
                key = key - np.rint(scores.astype(np.float64) * 100).astype(np.int64) * (
                    p.index.n + 1
                )
            top = np.argpartition(key, wanted - 1)[:wanted]
            rows, scores = rows[top], scores[top]
        for r, s in zip(rows.tolist(), scores.tolist(), strict=True):
            rec = p.index.records[r]
            candidates.append(
                (-round(s, 2) if scored else 0.0, rec.name_key, rec.external_id, p.index, r)
            )
    candidates.sort(key=lambda c: c[:3])
    page = candidates[(query.page - 1) * query.per_page : wanted]
    hits = [
        _hit(index.records[row], index, lang, for_public=not everyone) for *_k, index, row in page
    ]
    counts: dict[str, dict[Any, int]] = {}
    for p in parts:
        for facet, values in p.counts.items():
            merged = counts.setdefault(facet, {})
            for value, c in values.items():
                merged[value] = merged.get(value, 0) + c
    return SearchPage(
        query, total, hits, _facets(indexes.base, query, counts, lang), indexes.version
    )


def _hit(rec: Record, index: SearchIndex, lang: str, *, for_public: bool) -> Hit:
    taxonomy = index.taxonomy
    return Hit(
        external_id=rec.external_id,
        name=rec.name,
        categories=rec.categories,
        category_labels=tuple(taxonomy[c].label(lang) for c in rec.categories if c in taxonomy),
        districts=tuple(index.geo.places[d].name for d in rec.served if d in index.geo.places),
        phone=rec.phone,
        address=rec.address,
        place=rec.place,
        schedule=schedule_words(
            rec.schedule_source, rec.schedule_anchor, lang, for_public=for_public
        ),
        status=rec.status,
        public=rec.public,
        lat=rec.lat,
        lon=rec.lon,
        organization=rec.organization,
    )


def _facets(
    index: SearchIndex, query: SearchQuery, counts: dict[str, dict[Any, int]], lang: str
) -> dict[str, list[FacetValue]]:
    """Facet values with labels in ``lang``; values with no resource are left out, except
    the one selected (so it can be unselected)."""
    geo = index.geo
    facets: dict[str, list[FacetValue]] = {}
    facets["category"] = [
        FacetValue(
            c.code, c.label(lang), counts["category"].get(c.code, 0), c.code == query.category
        )
        for c in index.taxonomy
        if counts["category"].get(c.code, 0) or c.code == query.category
    ]
    facets["area"] = [
        FacetValue(a.code, a.name, counts["area"].get(a.code, 0), a.code == query.area)
        for a in geo.areas
        if counts["area"].get(a.code, 0) or a.code == query.area
    ]
    area = geo.by_code.get(query.area) if query.area else None
    facets["district"] = []
    if area is None and len(geo.leaves) > MAX_DISTRICT_CHOICES and not query.district:
        return facets | _other_facets(index, query, counts, lang)  # choose an area first
    facets["district"] = [
        FacetValue(p.code, p.name, counts["district"].get(p.code, 0), p.code == query.district)
        for p in sorted(geo.places.values(), key=lambda p: p.code)
        if p.level == "district"
        and (counts["district"].get(p.code, 0) or p.code == query.district)
        and (area is None or area.id in geo.chains[p.id] or p.code == query.district)
    ]
    return facets | _other_facets(index, query, counts, lang)


def _other_facets(
    index: SearchIndex, query: SearchQuery, counts: dict[str, dict[Any, int]], lang: str
) -> dict[str, list[FacetValue]]:
    facets: dict[str, list[FacetValue]] = {}
    facets["weekday"] = [
        FacetValue(
            WEEKDAY_CODES[d],
            translate(WEEKDAY_EN[d], lang),
            counts["weekday"].get(d, 0),
            d in query.weekdays,
        )
        for d in range(7)
    ]
    facets["open_on"] = [
        FacetValue(
            d.isoformat(),
            translate(
                N_("{month}/{day} ({weekday})"),
                lang,
                month=d.month,
                day=d.day,
                weekday=translate(WEEKDAY_EN[d.weekday()], lang),
            ),
            c,
            d == query.open_on,
        )
        for d, c in counts["open_on"].items()
    ]
    facets["status"] = [
        FacetValue(s, status_label(s, lang), counts["status"].get(s, 0), s == query.status)
        for s in RESOURCE_STATUSES
        if counts["status"].get(s, 0) or s == query.status
    ]
    return facets


# ----------------------------------------------------------------------------- cache


#: Search answers kept per index cache (each a page of hits and the facet counts).
ANSWERS_KEPT = 256


class SearchIndexCache:
    """The index of one database in this process, kept at the directory's version.

    ``get`` compares the stored version with the database's; when behind, it applies the
    resources the versions in between changed (an overlay), or rebuilds. The version is
    read before the rows, so an index is never labelled newer than its contents.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: IndexSet | None = None
        self._memo = KeyMemo()
        self.builds = 0
        self.updates = 0
        # answers by version: a handful of words (サロン, 見守り…) make most searches, and
        # each costs a scan of every text
        self._answers: Memo[SearchPage] = Memo(ANSWERS_KEPT)

    def get(self, session: Session) -> IndexSet:
        version = state.current(session)
        current = self._current
        if current is not None and current.version >= version:
            return current
        with self._lock:
            current = self._current
            if current is not None and current.version >= version:
                return current
            updated = self._updated(session, current, version) if current is not None else None
            if updated is None:
                with gc_paused():
                    memo = KeyMemo(previous=self._memo)
                    records = load_records(session, memo=memo)
                    memo.previous = None
                    self._memo = memo
                    index = SearchIndex(records, Geography.read(session), load_taxonomy())
                    updated = IndexSet(version, index)
                # The index is millions of long-lived objects: left to the cyclic
                # collector, every full collection walks them all (pauses of 0.1–3 s at
                # 150,000 resources). Frozen, they are skipped; reference counting still
                # frees a replaced index (it holds no cycles).
                gc.collect()
                gc.freeze()
                self.builds += 1
            else:
                self.updates += 1
            self._current = updated
            return updated

    def _updated(self, session: Session, current: IndexSet, version: int) -> IndexSet | None:
        changed = state.changed_since(session, current.version, version)
        if changed is None:
            return None
        ids = current.changed | frozenset(changed)
        if len(ids) > OVERLAY_LIMIT:
            return None
        base = current.base
        records = load_records(session, ids, memo=self._memo)
        hidden = base.rows_mask([base.row_of[i] for i in ids if i in base.row_of])
        return IndexSet(version, base, SearchIndex(records, base.geo, base.taxonomy), hidden, ids)

    def clear(self) -> None:
        with self._lock:
            self._current = None
        self.forget_answers()

    def forget_answers(self) -> None:
        """Drop the remembered answers (the index stays): the next question is scanned."""
        self._answers.clear()

    def answer(
        self, indexes: IndexSet, query: SearchQuery, *, everyone: bool, lang: str, today: dt.date
    ) -> SearchPage:
        """:func:`run_search`, remembered for the last :data:`ANSWERS_KEPT` questions
        (each of one version: an edit makes the next question a new one)."""
        return self._answers.get_or_make(
            (indexes.version, query, everyone, lang, today),
            lambda: run_search(indexes, query, everyone=everyone, lang=lang, today=today),
        )


_CACHES: weakref.WeakKeyDictionary[Any, SearchIndexCache] = weakref.WeakKeyDictionary()
_CACHES_LOCK = threading.Lock()


def index_cache(db: Any) -> SearchIndexCache:
    """The search index cache of ``db`` (a :class:`web.db.Database`): one per database."""
    with _CACHES_LOCK:
        cache = _CACHES.get(db)
        if cache is None:
            cache = _CACHES[db] = SearchIndexCache()
        return cache


def search(db: Any, actor: Actor, query: SearchQuery, lang: str, *, today: dt.date) -> SearchPage:
    """The search of ``GET /resources`` and ``GET /api/v1/resources`` for ``actor``:
    anyone gets public, active resources; a signed-in user all of them."""
    cache = index_cache(db)
    with db.read() as session:
        indexes = cache.get(session)
    return cache.answer(indexes, query, everyone=sees_every_resource(actor), lang=lang, today=today)

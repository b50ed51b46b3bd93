"""Likely duplicate resources: the same salon entered twice, from two lists or two people.

Why it matters: a directory with the same 集いの場 twice (「ふれあいサロン本町」 and
「本町ふれあいｻﾛﾝ」 30 m apart) shows residents two entries, splits its matches and its
history, and counts double in the reports. Comparing every pair is out of reach at
150,000 resources (10¹⁰ pairs), so pairs are *blocked*: two resources are compared only
when they share a block key —

* the same area (日常生活圏域) and the same first two sounds of the name's reading (so
  kanji, kana and width variants of a name meet);
* the same area and the same first two characters of the normalised name;
* a nearby place: cells of about 440 m, each venue in the four cells its point rounds
  to, so two venues closer than about 220 m always share one;
* the same telephone number (unless hundreds share it: a switchboard).

Each candidate pair is scored from the name (rapidfuzz over the normalised name and over
the reading, the better of the two), the distance between the venues, and a shared
telephone number or organisation. A pair is reported when it reads as one resource:

* names at least 85 % alike, and venues within 300 m;
* or the same phone number, names at least 60 % alike, venues within 300 m;
* or, when one has no venue to confirm the place, names at least 95 % alike, an area
  served in common, and the same phone number or organisation (or neither has a venue).

Venues further apart than :data:`FAR_M` are never the same resource, whatever the name
(社協 runs a サロン in every district, under one phone number), and names with different
numbers are different groups (第1長寿会 and 第2長寿会). Ended resources are left
out. Each pair carries its score and the reasons, worded in the catalogue.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.distance import haversine_m
from directory.i18n import N_, translate
from directory.models import District, Organization, Resource, resource_district
from directory.text import normalize, reading

__all__ = ["DuplicatePair", "Entry", "entries", "find_duplicates", "pairs_among"]

#: Names at least this alike (0–1) are the same name.
SAME_NAME = 0.85
#: Without a venue to confirm the place, names at least this alike (one letter in a
#: dozen: 赤塚 and 赤坂 are two places).
SAME_NAME_UNPLACED = 0.95
#: With the same telephone number, names at least this alike.
SAME_PHONE_NAME = 0.60
#: Venues within this many metres are the same place.
SAME_PLACE_M = 300.0
#: Venues further apart than this are never one resource.
FAR_M = 1000.0
#: Grid cell for the place blocks, in degrees of latitude (≈ 440 m).
CELL_DEG = 0.004
#: A block larger than this is split by one more character of the name.
MAX_BLOCK = 400

# 「（架空）」「(仮称)」 and the like: a remark in brackets says nothing about identity
_BRACKETED = re.compile(r"[(（\[［【][^)）\]］】]*[)）\]］】]")
_DIGITS = re.compile(r"\d")
_DIGITS_RUN = re.compile(r"\d+")


@dataclass(frozen=True)
class DuplicatePair:
    """Two resources that look like one: external ids, names, a score in [0, 1] and why."""

    first: str
    second: str
    first_name: str
    second_name: str
    score: float
    distance_m: float | None
    reasons: tuple[str, ...]  # msgids with their parameters, see :meth:`describe`
    params: tuple[dict[str, object], ...]

    def describe(self, lang: str = "ja") -> list[str]:
        return [translate(r, lang, **p) for r, p in zip(self.reasons, self.params, strict=True)]

    def as_json(self, lang: str = "ja") -> dict[str, object]:
        return {
            "first": self.first,
            "second": self.second,
            "first_name": self.first_name,
            "second_name": self.second_name,
            "score": round(self.score, 2),
            "distance_m": None if self.distance_m is None else round(self.distance_m),
            "reasons": self.describe(lang),
        }


@dataclass
class Entry:
    """What the comparison needs of one resource (built by :func:`entries` from the
    database, or directly by a benchmark)."""

    id: int
    external_id: str
    name: str
    key: str  # normalised name, brackets removed
    sound: str  # hiragana reading of the key
    lat: float | None
    lon: float | None
    phone: str  # digits only ("" when unknown or too short to mean anything)
    organization: int | None
    areas: frozenset[int]


def _phone(text: str | None) -> str:
    digits = "".join(_DIGITS.findall(normalize(text)))
    return digits if len(digits) >= 10 else ""


def entries(session: Session) -> list[Entry]:
    """Every resource that has not ended, with the areas of the districts it serves."""
    districts = session.execute(select(District.id, District.parent_id, District.level)).all()
    parent = {d.id: d.parent_id for d in districts}
    level = {d.id: d.level for d in districts}

    def area_of(did: int) -> int:
        seen = 0
        node: int | None = did
        while node is not None and level.get(node) not in ("area", "municipality"):
            node = parent.get(node)
            seen += 1
            if seen > len(parent):  # a parent loop (refused on import): stop
                return did
        return did if node is None else node

    served: dict[int, set[int]] = defaultdict(set)
    for rid, did in session.execute(
        select(resource_district.c.resource_id, resource_district.c.district_id)
    ):
        served[rid].add(area_of(did))
    org_phone: dict[int, str | None] = {
        oid: phone for oid, phone in session.execute(select(Organization.id, Organization.phone))
    }
    out = []
    for r in session.execute(
        select(
            Resource.id,
            Resource.external_id,
            Resource.name,
            Resource.kana,
            Resource.lat,
            Resource.lon,
            Resource.phone,
            Resource.organization_id,
        ).where(Resource.status != "ended")
    ):
        key = normalize(_BRACKETED.sub("", r.name)) or normalize(r.name)
        sound = normalize(r.kana) if r.kana else reading(_BRACKETED.sub("", r.name))
        out.append(
            Entry(
                r.id,
                r.external_id,
                r.name,
                key,
                sound or key,
                r.lat,
                r.lon,
                _phone(r.phone or org_phone.get(r.organization_id)),
                r.organization_id,
                frozenset(served.get(r.id, ())),
            )
        )
    return out


def _blocks(rows: Sequence[Entry]) -> Iterable[list[int]]:
    """Groups of row indexes that share a block key (see the module's docstring)."""
    keyed: dict[tuple[object, ...], dict[int, None]] = defaultdict(dict)  # ordered sets
    for i, r in enumerate(rows):
        areas = r.areas or frozenset({-1})
        for area in areas:
            keyed[("sound", area, r.sound[:2])][i] = None
            keyed[("name", area, r.key[:2])][i] = None
        if r.lat is not None and r.lon is not None:
            y, x = r.lat / CELL_DEG, r.lon / CELL_DEG
            for dy in (0.0, 0.5):
                for dx in (0.0, 0.5):
                    keyed[("place", math.floor(y + dy), math.floor(x + dx))][i] = None
        if r.phone:
            keyed[("phone", r.phone)][i] = None
    for key, found in keyed.items():
        members = list(found)
        if len(members) < 2:
            continue
        if len(members) <= MAX_BLOCK or key[0] == "place":
            yield members
            continue
        if key[0] == "phone":  # a switchboard (社協's number on every salon) says little
            continue
        # a crowded block (every サロン of a city, 架空サロン1号…5000号): split by two more
        # characters at a time until each part is small or its names are equal
        yield from _split(rows, members, "sound" if key[0] == "sound" else "key", 4)


def _split(
    rows: Sequence[Entry], members: list[int], field: str, width: int
) -> Iterable[list[int]]:
    """``members`` grouped by the first ``width`` characters of ``field``, each group
    split again while it is larger than :data:`MAX_BLOCK` and its names still differ
    beyond that width (a block of one name repeated stays whole: those are duplicates)."""
    finer: dict[str, list[int]] = defaultdict(list)
    for i in members:
        finer[getattr(rows[i], field)[:width]].append(i)
    for part in finer.values():
        if len(part) < 2:
            continue
        longest = max(len(getattr(rows[i], field)) for i in part)
        if len(part) > MAX_BLOCK and longest > width:
            yield from _split(rows, part, field, width + 2)
        else:
            yield part


def _judge(a: Entry, b: Entry) -> DuplicatePair | None:
    """The pair when ``a`` and ``b`` read as one resource (rules in the docstring). The
    cheap tests come first: most blocked pairs differ in name."""
    if _DIGITS_RUN.findall(a.key) != _DIGITS_RUN.findall(b.key):
        return None  # 第1 and 第2, 1号 and 2号: numbered groups are different groups
    phone = bool(a.phone) and a.phone == b.phone
    floor = SAME_PHONE_NAME if phone else SAME_NAME
    name = fuzz.ratio(a.key, b.key, score_cutoff=floor * 100) / 100.0
    if name < 1.0:
        name = max(name, fuzz.ratio(a.sound, b.sound, score_cutoff=floor * 100) / 100.0)
    if name < floor:
        return None
    located = None not in (a.lat, a.lon, b.lat, b.lon)
    d = float(haversine_m(a.lat, a.lon, b.lat, b.lon)) if located else None
    if d is not None and d > FAR_M:
        return None
    org = a.organization is not None and a.organization == b.organization
    near = d is not None and d <= SAME_PLACE_M
    either_unplaced = a.lat is None or b.lat is None
    same = (
        (name >= SAME_NAME and near)
        or (phone and name >= SAME_PHONE_NAME and near)
        or (
            name >= SAME_NAME_UNPLACED
            and either_unplaced
            and bool(a.areas & b.areas)
            and (phone or org or (a.lat is None and b.lat is None))
        )
    )
    if not same:
        return None
    reasons: list[str] = [N_("names {percent}% alike")]
    params: list[dict[str, object]] = [{"percent": round(name * 100)}]
    place = 0.5
    if d is not None:
        place = max(0.0, 1.0 - max(d - 50.0, 0.0) / (SAME_PLACE_M - 50.0))
        reasons.append(N_("venues {metres} m apart"))
        params.append({"metres": round(d)})
    if phone:
        reasons.append(N_("same telephone number"))
        params.append({})
    if org:
        reasons.append(N_("same organisation"))
        params.append({})
    score = 0.6 * name + 0.25 * place + 0.15 * (1.0 if (phone or org) else 0.0)
    first, second = (a, b) if a.external_id <= b.external_id else (b, a)
    return DuplicatePair(
        first.external_id,
        second.external_id,
        first.name,
        second.name,
        min(1.0, score),
        d,
        tuple(reasons),
        tuple(params),
    )


def find_duplicates(
    session: Session, *, progress: Callable[[int, int], None] | None = None
) -> list[DuplicatePair]:
    """Likely duplicate pairs among the resources that have not ended, best first."""
    return pairs_among(entries(session), progress=progress)


def pairs_among(
    rows: Sequence[Entry], *, progress: Callable[[int, int], None] | None = None
) -> list[DuplicatePair]:
    """The likely duplicate pairs among ``rows``, best first."""
    seen: set[tuple[int, int]] = set()
    found: list[DuplicatePair] = []
    blocks = list(_blocks(rows))
    for n, members in enumerate(blocks, start=1):
        for x, i in enumerate(members):
            for j in members[x + 1 :]:
                pair = (i, j) if i < j else (j, i)
                if pair in seen:
                    continue
                seen.add(pair)
                judged = _judge(rows[i], rows[j])
                if judged is not None:
                    found.append(judged)
        if progress is not None and n % 1000 == 0:
            progress(n, len(blocks))
    found.sort(key=lambda p: (-p.score, p.first, p.second))
    return found

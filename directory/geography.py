"""Import districts and venues from GeoJSON, and place points in districts.

GeoJSON without a ``crs`` member is WGS84 (RFC 7946); JGD2011 and JGD2000 are taken as
equivalent (they differ by centimetres). A legacy ``crs`` member naming a projected
system, or coordinates that are not longitude/latitude in Japan, are refused with the
feature named. Every feature is checked before anything is written, so a bad file
changes nothing.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import CRS
from pyproj.exceptions import CRSError
from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.db import import_lock
from directory.distance import EARTH_RADIUS_M, haversine_m
from directory.errors import InvalidInputError, Problem, has_nul, without_nul
from directory.models import DISTRICT_LEVELS, District, Venue
from directory.queries import ancestor_at, ancestor_map
from directory.state import bump
from directory.tables import decode, load_json, read_input
from directory.text import normalize

WGS84 = "EPSG:4326"
# Longitude/latitude box that holds all of Japan (DATA_FORMATS §3).
JAPAN_LON = (122.0, 154.0)
JAPAN_LAT = (20.0, 46.0)
# Geographic systems equivalent to WGS84 at map scale: WGS84, JGD2000, JGD2011.
_EQUIVALENT_EPSG = {4326, 4612, 6668}
_LEVEL_RANK = {level: rank for rank, level in enumerate(DISTRICT_LEVELS)}

# Property names accepted for venues besides the contract's own (`name`, `address`,
# `code`): what municipal and GSI facility files call them.
_VENUE_NAME_KEYS = ("name", "名称", "施設名", "施設・場所名", "施設名称")
_VENUE_ADDRESS_KEYS = ("address", "住所", "所在地")
_VENUE_CODE_KEYS = ("code", "ID", "id", "施設ID")


@dataclass
class ImportResult:
    """What an import did (or, for a dry run, would do)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    warnings: list[Problem] = field(default_factory=list)
    # (record id, "create" | "update" | "unchanged"), for importers whose records are audited
    records: list[tuple[str, str]] = field(default_factory=list)

    def as_json(self, lang: str = "ja") -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "warnings": [w.as_json(lang) for w in self.warnings],
            "errors": [],
        }


# --------------------------------------------------------------------------- reading


def read_feature_collection(path: Path) -> list[dict[str, Any]]:
    """Read a GeoJSON FeatureCollection in lon/lat, or raise with the reason."""
    name = str(path)
    raw = read_input(path)
    # UTF-8 (RFC 7946) ± BOM, or CP932 as older GIS tools write it; a file mixing the two
    # names its odd line. NaN / Infinity and deep nesting are refused (load_json).
    doc = load_json(decode(raw, name)[0], name)
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection":
        raise InvalidInputError(name, [Problem("not_feature_collection")])
    crs_problem = _check_crs(doc.get("crs"))
    if crs_problem:
        raise InvalidInputError(name, [crs_problem])
    features = doc.get("features")
    if not isinstance(features, list) or not features:
        raise InvalidInputError(name, [Problem("no_features")])
    return features


def _check_crs(member: Any) -> Problem | None:
    """Accept no ``crs`` (RFC 7946) or a legacy one naming a lon/lat system we accept."""
    if member is None:
        return None
    crs_name = None
    if isinstance(member, dict):
        props = member.get("properties") or {}
        crs_name = props.get("name") or props.get("href")
    if not isinstance(crs_name, str):
        return Problem("unknown_crs", {"crs": json.dumps(member, ensure_ascii=False)})
    if crs_name.replace(":", "").upper().endswith("CRS84"):
        return None
    try:
        crs = CRS.from_user_input(crs_name)
    except CRSError:
        return Problem("unknown_crs", {"crs": crs_name})
    if crs.is_projected:
        return Problem("projected_crs", {"crs": f"{crs_name}（{crs.name}）"})
    if crs.to_epsg() not in _EQUIVALENT_EPSG:
        return Problem("unknown_crs", {"crs": f"{crs_name}（{crs.name}）"})
    return None


def _label(index: int, *parts: Any) -> str:
    """How a feature is named in messages: its position (1-based) and code/name if any."""
    known = " ".join(str(p).replace("\x00", "") for p in parts if p not in (None, ""))
    return f"#{index}" + (f" ({known})" if known else "")


def _geometry(
    feature: Any, label: str, expected: Sequence[str], problems: list[Problem]
) -> BaseGeometry | None:
    geom = feature.get("geometry") if isinstance(feature, dict) else None
    if not isinstance(geom, dict):
        problems.append(Problem("missing_geometry", feature=label, column="geometry"))
        return None
    gtype = geom.get("type")
    if gtype not in expected:
        problems.append(
            Problem(
                "wrong_geometry",
                {"got": gtype, "expected": " / ".join(expected)},
                feature=label,
                column="geometry",
            )
        )
        return None
    try:
        geometry = shape(geom)
    except KeyError:  # a geometry without "coordinates"
        problems.append(
            Problem("bad_geometry", {"detail": "coordinates"}, feature=label, column="geometry")
        )
        return None
    except (ValueError, TypeError, AttributeError, IndexError, shapely.errors.ShapelyError) as exc:
        problems.append(Problem("bad_geometry", {"detail": exc}, feature=label, column="geometry"))
        return None
    if geometry.is_empty:
        problems.append(
            Problem("bad_geometry", {"detail": "empty"}, feature=label, column="geometry")
        )
        return None
    minx, miny, maxx, maxy = geometry.bounds
    if not (
        JAPAN_LON[0] <= minx
        and maxx <= JAPAN_LON[1]
        and JAPAN_LAT[0] <= miny
        and maxy <= JAPAN_LAT[1]
    ):
        lon, lat = (minx, miny) if not _inside_japan(minx, miny) else (maxx, maxy)
        problems.append(
            Problem(
                "outside_japan",
                {"lon": round(lon, 6), "lat": round(lat, 6)},
                feature=label,
                column="geometry",
            )
        )
        return None
    return geometry


def _inside_japan(lon: float, lat: float) -> bool:
    return JAPAN_LON[0] <= lon <= JAPAN_LON[1] and JAPAN_LAT[0] <= lat <= JAPAN_LAT[1]


def _without_nul(
    feature: dict[str, Any], props: dict[str, Any], label: str, problems: list[Problem]
) -> dict[str, Any]:
    """Refuse NUL (\\x00) in a feature, naming each property that holds one.

    PostgreSQL cannot store it and SQLite would, so it is a file problem on both engines;
    the checks after this one see the properties without it.
    """
    if not has_nul(feature):
        return props
    keys = [k for k, v in props.items() if has_nul(k) or has_nul(v)]
    for key in keys or ["geometry"]:
        problems.append(Problem("nul_character", feature=label, column=without_nul(str(key))))
    return without_nul(props)


def _text_property(
    props: dict[str, Any],
    keys: Iterable[str],
    label: str,
    column: str,
    problems: list[Problem],
    *,
    required: bool,
) -> str | None:
    for key in keys:
        value = props.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            problems.append(Problem("not_text", feature=label, column=column))
            return None
        return str(value).strip()
    if required:
        problems.append(Problem("required", feature=label, column=column))
    return None


# ------------------------------------------------------------------------- districts


@dataclass
class _DistrictRow:
    label: str
    code: str
    name: str
    level: str
    parent: str | None
    geometry: BaseGeometry
    properties: dict[str, Any]


def import_districts(session: Session, path: Path) -> ImportResult:
    """Create or update districts by ``code`` from a GeoJSON file (DATA_FORMATS §2).

    All features are validated first; on any problem nothing is written and
    :class:`InvalidInputError` lists every problem. Venues are re-placed afterwards, since
    changed polygons may move them to another district. The caller commits (or, for a dry
    run, rolls back).
    """
    import_lock(session, "geography")
    features = read_feature_collection(path)
    problems: list[Problem] = []
    rows: list[_DistrictRow] = []
    seen: dict[str, int] = {}
    # Levels of every code the file declares, even on features refused for another
    # reason, so their children are not also reported as having an unknown parent.
    declared: dict[str, str] = {}
    for index, feature in enumerate(features, start=1):
        props = feature.get("properties") if isinstance(feature, dict) else None
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            problems.append(Problem("not_a_feature", feature=_label(index)))
            continue
        props = props if isinstance(props, dict) else {}
        label = _label(index, props.get("code"), props.get("name"))
        props = _without_nul(feature, props, label, problems)
        code = _text_property(props, ("code",), label, "code", problems, required=True)
        name = _text_property(props, ("name",), label, "name", problems, required=True)
        level = _text_property(props, ("level",), label, "level", problems, required=True)
        parent = _text_property(props, ("parent",), label, "parent", problems, required=False)
        if level is not None and level not in _LEVEL_RANK:
            problems.append(Problem("bad_level", {"value": level}, feature=label, column="level"))
            level = None
        geometry = _geometry(feature, label, ("Polygon", "MultiPolygon"), problems)
        if geometry is not None and not geometry.is_valid:
            problems.append(
                Problem(
                    "invalid_polygon",
                    {"detail": shapely.is_valid_reason(geometry)},
                    feature=label,
                    column="geometry",
                )
            )
            geometry = None
        if code is not None and level is not None:
            declared.setdefault(code, level)
        if code is not None:
            if code in seen:
                problems.append(
                    Problem(
                        "duplicate_code",
                        {"value": code, "other": seen[code]},
                        feature=label,
                        column="code",
                    )
                )
                continue
            seen[code] = index
        if None in (code, name, level, geometry):
            continue
        extra = {k: v for k, v in props.items() if k not in ("code", "name", "level", "parent")}
        rows.append(_DistrictRow(label, code, name, level, parent, geometry, extra))  # type: ignore[arg-type]

    existing = {d.code: d for d in session.scalars(select(District))}
    levels = {c: d.level for c, d in existing.items()} | declared
    for row in rows:
        if row.parent is None:
            continue
        if row.parent == row.code:
            problems.append(
                Problem("parent_cycle", {"value": row.parent}, feature=row.label, column="parent")
            )
        elif row.parent not in levels:
            problems.append(
                Problem("unknown_parent", {"value": row.parent}, feature=row.label, column="parent")
            )
        elif _LEVEL_RANK[levels[row.parent]] >= _LEVEL_RANK[row.level]:
            expected = " / ".join(DISTRICT_LEVELS[: _LEVEL_RANK[row.level]]) or "-"
            problems.append(
                Problem(
                    "parent_level",
                    {
                        "level": row.level,
                        "expected": expected,
                        "value": row.parent,
                        "got": levels[row.parent],
                    },
                    feature=row.label,
                    column="parent",
                )
            )
    if problems:
        raise InvalidInputError(str(path), problems)

    result = ImportResult()
    by_code = dict(existing)
    # Parents before children, so each parent row exists when its child is written.
    for row in sorted(rows, key=lambda r: _LEVEL_RANK[r.level]):
        district = by_code.get(row.code)
        values = _district_values(row, by_code)
        if district is None:
            district = District(code=row.code, **values)
            session.add(district)
            by_code[row.code] = district
            result.created += 1
        elif _differs(district, values):
            for key, value in values.items():
                setattr(district, key, value)
            result.updated += 1
        else:
            result.unchanged += 1
    session.flush()
    if result.created or result.updated:
        place_all_venues(session)
        bump(session)
    return result


def _district_values(row: _DistrictRow, by_code: dict[str, District]) -> dict[str, Any]:
    centroid = row.geometry.representative_point()
    minx, miny, maxx, maxy = row.geometry.bounds
    return {
        "name": row.name,
        "name_key": normalize(row.name),
        "level": row.level,
        "parent": by_code[row.parent] if row.parent else None,
        "geometry": row.geometry,
        "min_lon": minx,
        "min_lat": miny,
        "max_lon": maxx,
        "max_lat": maxy,
        "centroid_lon": centroid.x,
        "centroid_lat": centroid.y,
        "properties": row.properties,
    }


def _differs(obj: Any, values: dict[str, Any]) -> bool:
    for key, value in values.items():
        current = getattr(obj, key)
        if isinstance(value, BaseGeometry):
            if current is None or not shapely.equals_exact(current, value, tolerance=0):
                return True
        elif isinstance(value, float) and isinstance(current, float):
            if not np.isclose(current, value, rtol=0, atol=1e-12):
                return True
        elif current != value:
            return True
    return False


# --------------------------------------------------------------------------- venues


def import_venues(session: Session, path: Path) -> ImportResult:
    """Create or update venues from GeoJSON Points; each is placed in its district.

    Venues are matched on ``code`` when the file has one (or the feature's ``id``), else
    on the normalised name within the municipality they lie in.
    A venue outside every district is kept (they exist, just over a border or on the
    coast) with a warning that names it.
    """
    import_lock(session, "geography")
    features = read_feature_collection(path)
    problems: list[Problem] = []
    parsed: list[tuple[str, str | None, str, str | None, float, float, dict[str, Any]]] = []
    for index, feature in enumerate(features, start=1):
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            problems.append(Problem("not_a_feature", feature=_label(index)))
            continue
        props = feature.get("properties")
        props = props if isinstance(props, dict) else {}
        if feature.get("id") not in (None, "") and not any(props.get(k) for k in _VENUE_CODE_KEYS):
            props = {"code": feature["id"], **props}  # GeoJSON's own feature id
        raw_code = next((props[k] for k in _VENUE_CODE_KEYS if props.get(k)), None)
        raw_name = next((props[k] for k in _VENUE_NAME_KEYS if props.get(k)), None)
        label = _label(index, raw_code, raw_name)
        props = _without_nul(feature, props, label, problems)
        code = _text_property(props, _VENUE_CODE_KEYS, label, "code", problems, required=False)
        name = _text_property(props, _VENUE_NAME_KEYS, label, "name", problems, required=True)
        address = _text_property(
            props, _VENUE_ADDRESS_KEYS, label, "address", problems, required=False
        )
        geometry = _geometry(feature, label, ("Point",), problems)
        if name is None or geometry is None:
            continue
        assert isinstance(geometry, Point)  # _geometry accepted "Point" only
        used = set(_VENUE_CODE_KEYS + _VENUE_NAME_KEYS + _VENUE_ADDRESS_KEYS)
        extra = {k: v for k, v in props.items() if k not in used}
        parsed.append((label, code, name, address, geometry.x, geometry.y, extra))

    placed = locate_points(districts_frame(session), [r[4] for r in parsed], [r[5] for r in parsed])
    tree = ancestor_map(session)
    seen: dict[str, str] = {}
    rows = []
    for (label, code, name, address, lon, lat, extra), district_id in zip(
        parsed, placed, strict=True
    ):
        key = code if code is not None else _venue_key(name, district_id, tree, session)
        if key in seen:
            problems.append(
                Problem(
                    "duplicate_code",
                    {"value": code or name, "other": seen[key]},
                    feature=label,
                    column="code" if code else "name",
                )
            )
            continue
        seen[key] = label
        rows.append((label, key, name, address, lon, lat, extra, district_id))
    if problems:
        raise InvalidInputError(str(path), problems)

    existing = {v.code: v for v in session.scalars(select(Venue))}
    result = ImportResult()
    for label, key, name, address, lon, lat, extra, district_id in rows:
        values = {
            "name": name,
            "name_key": normalize(name),
            "address": address,
            "lon": lon,
            "lat": lat,
            "district_id": district_id,
            "properties": extra,
        }
        if district_id is None:
            result.warnings.append(
                Problem("venue_outside_districts", {"name": name}, feature=label, column="geometry")
            )
        venue = existing.get(key)
        if venue is None:
            session.add(Venue(code=key, **values))
            result.created += 1
        elif _differs(venue, values):
            for k, v in values.items():
                setattr(venue, k, v)
            result.updated += 1
        else:
            result.unchanged += 1
    session.flush()
    if result.created or result.updated:
        bump(session)
    return result


def _venue_key(
    name: str,
    district_id: int | None,
    tree: dict[int, tuple[int | None, str]],
    session: Session,
) -> str:
    """The key of a venue without a code: its normalised name within its municipality.

    Two towns may each have a 中央公民館; scoping the name keeps one town's import from
    overwriting the other's venue.
    """
    municipality = ancestor_at(tree, district_id, "municipality") if district_id else None
    if municipality is None:
        return normalize(name)
    code = session.get(District, municipality)
    return f"{code.code if code else municipality}:{normalize(name)}"


# ------------------------------------------------------------------ point in polygon


def districts_frame(session: Session) -> gpd.GeoDataFrame:
    """All districts as a GeoDataFrame (WGS84) with ``id``, ``code``, ``name``, ``level``."""
    rows = session.execute(
        select(District.id, District.code, District.name, District.level, District.geometry)
    ).all()
    return gpd.GeoDataFrame(
        {
            "id": [r.id for r in rows],
            "code": [r.code for r in rows],
            "name": [r.name for r in rows],
            "level": [r.level for r in rows],
        },
        geometry=[r.geometry for r in rows],
        crs=WGS84,
    )


def locate_points(
    frame: gpd.GeoDataFrame, lons: Sequence[float], lats: Sequence[float]
) -> list[int | None]:
    """Return, for each point, the id of the most detailed district that contains it.

    Most detailed means the deepest level (a 行政区 rather than its area); ``None`` when no
    district contains the point.
    """
    if not len(lons):
        return []
    points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lons, lats), crs=WGS84)
    if frame.empty:
        return [None] * len(points)
    ranked = frame.assign(rank=frame["level"].map(_LEVEL_RANK))
    joined = gpd.sjoin(points, ranked, how="left", predicate="within")
    joined = joined.dropna(subset=["id"]).sort_values("rank", ascending=False)
    best = joined[~joined.index.duplicated(keep="first")]["id"].reindex(range(len(points)))
    return [None if math.isnan(v) else int(v) for v in best.tolist()]


_METRES_PER_DEGREE = EARTH_RADIUS_M * math.pi / 180


def pairs_within(
    lon: np.ndarray, lat: np.ndarray, other_lon: np.ndarray, other_lat: np.ndarray, metres: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every (i, j, distance) with point i of the first set within ``metres`` of point j
    of the other, by great-circle distance.

    Candidates come from an R-tree in degrees with a radius wide enough east–west at the
    highest latitude given (no planar projection distorts the distance), then are kept
    by haversine distance.
    """
    if not len(lon) or not len(other_lon):
        empty = np.empty(0, dtype=np.intp)
        return empty, empty, np.empty(0)
    # Points within ``metres`` lie at nearly the latitude of the first set's points.
    top = min(float(np.max(np.abs(lat))) + 0.1, 89.0)
    degrees = metres / (_METRES_PER_DEGREE * math.cos(math.radians(top))) * 1.01
    # 1-d coordinates give an array of points (types-shapely allows a lone Point too).
    tree = shapely.STRtree(cast("NDArray[np.object_]", shapely.points(other_lon, other_lat)))
    i, j = tree.query(shapely.points(lon, lat), predicate="dwithin", distance=degrees)
    d = haversine_m(lat[i], lon[i], other_lat[j], other_lon[j])
    keep = d <= metres
    return i[keep], j[keep], d[keep]


def nearest_within(
    lon: np.ndarray, lat: np.ndarray, other_lon: np.ndarray, other_lat: np.ndarray, metres: float
) -> tuple[np.ndarray, np.ndarray]:
    """For each point that has one, the nearest point of the other set within ``metres``:
    (indexes of the points, indexes of their nearest). Ties go to the lower index."""
    i, j, d = pairs_within(lon, lat, other_lon, other_lat, metres)
    order = np.lexsort((j, d, i))
    i, j = i[order], j[order]
    first = np.ones(len(i), dtype=bool)
    first[1:] = i[1:] != i[:-1]
    return i[first], j[first]


def place_all_venues(session: Session) -> None:
    """Recompute every venue's district (after districts change)."""
    venues = list(session.scalars(select(Venue)))
    if not venues:
        return
    placed = locate_points(
        districts_frame(session), [v.lon for v in venues], [v.lat for v in venues]
    )
    for venue, district_id in zip(venues, placed, strict=True):
        if venue.district_id != district_id:
            venue.district_id = district_id

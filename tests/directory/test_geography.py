"""Importing districts and venues: the demo town's real files, and every kind of bad input.

Bad input is refused with the feature named and the reason, and changes nothing.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import Point, shape
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from directory.db import transaction
from directory.errors import InvalidInputError
from directory.geography import import_districts, import_venues
from directory.models import District, Venue

SEEDS = Path(__file__).resolve().parents[2] / "seeds" / "kami"
DISTRICTS = json.loads((SEEDS / "districts.geojson").read_text(encoding="utf-8"))
VENUES = json.loads((SEEDS / "venues.geojson").read_text(encoding="utf-8"))


def write(tmp_path: Path, doc: dict[str, Any], name: str = "file.geojson") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def signature(engine: Engine) -> str:
    """Count and hash of every district and venue row: equal means nothing changed."""
    with Session(engine) as s:
        rows = [
            (d.code, d.name, d.level, d.parent_id, d.geometry.wkt, d.properties)
            for d in s.scalars(select(District).order_by(District.code))
        ] + [
            (v.code, v.name, v.address, v.lat, v.lon, v.district_id)
            for v in s.scalars(select(Venue).order_by(Venue.code))
        ]
    return hashlib.sha256(repr(rows).encode()).hexdigest() + f":{len(rows)}"


def load(engine: Engine, importer: Any, path: Path) -> Any:
    with transaction(engine) as session:
        return importer(session, path)


def refused(engine: Engine, importer: Any, path: Path) -> InvalidInputError:
    before = signature(engine)
    with pytest.raises(InvalidInputError) as info:
        load(engine, importer, path)
    assert signature(engine) == before, "a refused file must change nothing"
    return info.value


@pytest.fixture
def town(engine: Engine) -> Engine:
    load(engine, import_districts, SEEDS / "districts.geojson")
    return engine


# ------------------------------------------------------------------- the real files


def test_demo_districts_import_with_their_hierarchy(engine: Engine) -> None:
    result = load(engine, import_districts, SEEDS / "districts.geojson")
    assert (result.created, result.updated, result.unchanged) == (87, 0, 0)
    with Session(engine) as s:
        levels = dict(
            s.execute(select(District.level, func.count()).group_by(District.level)).all()
        )
        assert levels == {"municipality": 1, "area": 3, "district": 83}
        area = s.scalar(select(District).where(District.code == "04445-A1"))
        assert area is not None and area.parent is not None and area.parent.code == "04445"
        assert area.properties["population_2015"] == 12537
        expected = {
            f["properties"]["code"]
            for f in DISTRICTS["features"]
            if f["properties"].get("parent") == "04445-A1"
        }
        assert {c.code for c in area.children} == expected
        assert area.geometry.equals(shape(DISTRICTS["features"][1]["geometry"]))


def test_reimport_updates_by_code_and_leaves_the_rest_unchanged(
    town: Engine, tmp_path: Path
) -> None:
    doc = copy.deepcopy(DISTRICTS)
    doc["features"][4]["properties"]["name"] = "改名した地区"
    result = load(town, import_districts, write(tmp_path, doc))
    assert (result.created, result.updated, result.unchanged) == (0, 1, 86)
    with Session(town) as s:
        code = doc["features"][4]["properties"]["code"]
        assert s.scalar(select(District.name).where(District.code == code)) == "改名した地区"
        assert s.scalar(select(func.count(District.id))) == 87


def test_demo_venues_are_placed_in_their_districts(town: Engine) -> None:
    result = load(town, import_venues, SEEDS / "venues.geojson")
    assert result.created == 35
    districts = [f for f in DISTRICTS["features"] if f["properties"]["level"] == "district"]
    polygons = [(f["properties"]["code"], shape(f["geometry"])) for f in districts]
    with Session(town) as s:
        for venue in s.scalars(select(Venue)):
            point = Point(venue.lon, venue.lat)
            containing = [code for code, poly in polygons if poly.covers(point)]
            placed = venue.district.code if venue.district else None
            if containing:
                assert placed in containing, venue.name
            else:
                assert placed is None
                assert any(w.params["name"] == venue.name for w in result.warnings)
    again = load(town, import_venues, SEEDS / "venues.geojson")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 35)


def test_a_venue_outside_every_district_is_kept_with_a_warning(
    town: Engine, tmp_path: Path
) -> None:
    doc = copy.deepcopy(VENUES)
    # 松島湾 (Matsushima bay): in Japan, but outside the town.
    doc["features"].append(
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [141.07, 38.35]},
            "properties": {"name": "湾岸の集会所", "address": "どこか"},
        }
    )
    result = load(town, import_venues, write(tmp_path, doc))
    assert result.created == 36
    named = [w for w in result.warnings if w.params.get("name") == "湾岸の集会所"]
    assert len(named) == 1
    assert named[0].feature == "#36 (湾岸の集会所)"
    assert "湾岸の集会所" in named[0].reason("ja")
    with Session(town) as s:
        kept = s.scalar(select(Venue).where(Venue.name == "湾岸の集会所"))
        assert kept is not None and kept.district_id is None


def test_changed_polygons_move_venues_to_their_new_district(town: Engine, tmp_path: Path) -> None:
    load(town, import_venues, SEEDS / "venues.geojson")
    with Session(town) as s:
        venue = s.scalars(select(Venue).where(Venue.district_id.is_not(None))).first()
        assert venue is not None
        old_code = venue.district.code if venue.district else None
        point = Point(venue.lon, venue.lat)
    doc = copy.deepcopy(DISTRICTS)
    # Give the venue's old district a hole around the venue, and a new district there.
    for f in doc["features"]:
        if f["properties"]["code"] == old_code:
            f["geometry"] = json.loads(
                json.dumps(shape(f["geometry"]).difference(point.buffer(0.001)).__geo_interface__)
            )
            parent = f["properties"]["parent"]
    doc["features"].append(
        {
            "type": "Feature",
            "geometry": point.buffer(0.001).__geo_interface__,
            "properties": {
                "code": "NEW-1",
                "name": "新しい地区",
                "level": "district",
                "parent": parent,
            },
        }
    )
    doc = json.loads(json.dumps(doc))
    load(town, import_districts, write(tmp_path, doc))
    with Session(town) as s:
        moved = s.get(Venue, venue.id)
        assert moved is not None and moved.district is not None
        assert moved.district.code == "NEW-1"


# ------------------------------------------------------------------------ bad input


def one_bad_feature(index: int, **changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(DISTRICTS)
    feature = doc["features"][index]
    for key, value in changes.items():
        if key == "geometry":
            feature["geometry"] = value
        elif value is None:
            feature["properties"].pop(key, None)
        else:
            feature["properties"][key] = value
    return doc


def test_a_projected_crs_member_is_refused(town: Engine, tmp_path: Path) -> None:
    doc = copy.deepcopy(DISTRICTS)
    doc["crs"] = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::6678"}}
    err = refused(town, import_districts, write(tmp_path, doc))
    assert [p.code for p in err.problems] == ["projected_crs"]
    assert "EPSG::6678" in err.describe("ja")
    assert "JGD2011 / Japan Plane Rectangular CS X" in err.describe("ja")


@pytest.mark.parametrize(
    "crs", ["urn:ogc:def:crs:OGC:1.3:CRS84", "EPSG:4326", "urn:ogc:def:crs:EPSG::6668", "EPSG:4612"]
)
def test_lon_lat_crs_members_are_accepted(engine: Engine, tmp_path: Path, crs: str) -> None:
    doc = copy.deepcopy(DISTRICTS)
    doc["crs"] = {"type": "name", "properties": {"name": crs}}
    assert load(engine, import_districts, write(tmp_path, doc)).created == 87


def test_projected_coordinates_without_a_crs_member_are_refused(
    town: Engine, tmp_path: Path
) -> None:
    # Plane rectangular metres, as an old GIS export without the crs member would hold.
    square = [
        [
            [-5000.0, -190000.0],
            [-4000.0, -190000.0],
            [-4000.0, -189000.0],
            [-5000.0, -189000.0],
            [-5000.0, -190000.0],
        ]
    ]
    doc = one_bad_feature(6, geometry={"type": "Polygon", "coordinates": square})
    err = refused(town, import_districts, write(tmp_path, doc))
    (problem,) = err.problems
    assert problem.code == "outside_japan"
    props = doc["features"][6]["properties"]
    assert problem.feature == f"#7 ({props['code']} {props['name']})"
    assert problem.column == "geometry"
    assert "日本の経緯度の範囲" in problem.reason("ja") and "-5000.0" in problem.reason("ja")
    assert "not longitude/latitude in Japan" in problem.reason("en")


def test_latitude_and_longitude_swapped_are_refused(town: Engine, tmp_path: Path) -> None:
    geom = copy.deepcopy(DISTRICTS["features"][10]["geometry"])
    geom["coordinates"] = [[[lat, lon] for lon, lat in ring] for ring in geom["coordinates"]]
    err = refused(town, import_districts, write(tmp_path, one_bad_feature(10, geometry=geom)))
    assert [p.code for p in err.problems] == ["outside_japan"]
    assert err.problems[0].feature is not None and err.problems[0].feature.startswith("#11 ")


def test_a_missing_code_is_refused_naming_the_feature(town: Engine, tmp_path: Path) -> None:
    name = DISTRICTS["features"][5]["properties"]["name"]
    err = refused(town, import_districts, write(tmp_path, one_bad_feature(5, code=None)))
    (problem,) = err.problems
    assert (problem.code, problem.column, problem.feature) == ("required", "code", f"#6 ({name})")
    assert (
        err.describe("ja") == f"{tmp_path / 'file.geojson'}:#6 ({name}):code: 必須の値がありません"
    )


def test_an_unknown_parent_is_refused(engine: Engine, tmp_path: Path) -> None:
    err = refused(engine, import_districts, write(tmp_path, one_bad_feature(8, parent="04445-A9")))
    (problem,) = err.problems
    assert problem.code == "unknown_parent" and problem.params["value"] == "04445-A9"
    assert "04445-A9" in problem.reason("ja") and "04445-A9" in problem.reason("en")


def test_a_parent_may_already_be_in_the_database(town: Engine, tmp_path: Path) -> None:
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[140.8, 38.5], [140.81, 38.5], [140.81, 38.51], [140.8, 38.5]]
                    ],
                },
                "properties": {
                    "code": "X-1",
                    "name": "追加地区",
                    "level": "district",
                    "parent": "04445-A2",
                },
            }
        ],
    }
    assert load(town, import_districts, write(tmp_path, doc)).created == 1


def test_a_parent_below_its_child_is_refused(engine: Engine, tmp_path: Path) -> None:
    district_code = DISTRICTS["features"][4]["properties"]["code"]
    err = refused(
        engine, import_districts, write(tmp_path, one_bad_feature(1, parent=district_code))
    )
    assert [p.code for p in err.problems] == ["parent_level"]


def test_an_invalid_polygon_is_refused(town: Engine, tmp_path: Path) -> None:
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [[140.80, 38.50], [140.82, 38.52], [140.82, 38.50], [140.80, 38.52], [140.80, 38.50]]
        ],
    }
    err = refused(town, import_districts, write(tmp_path, one_bad_feature(20, geometry=bowtie)))
    (problem,) = err.problems
    assert problem.code == "invalid_polygon"
    assert "Self-intersection" in problem.reason("en")


def test_every_problem_of_a_file_is_reported_at_once(engine: Engine, tmp_path: Path) -> None:
    doc = one_bad_feature(5, code=None)
    doc["features"][9]["properties"]["level"] = "県"
    doc["features"][12]["geometry"] = {"type": "Point", "coordinates": [140.8, 38.5]}
    doc["features"][14]["properties"]["code"] = doc["features"][13]["properties"]["code"]
    err = refused(engine, import_districts, write(tmp_path, doc))
    assert sorted(p.code for p in err.problems) == [
        "bad_level",
        "duplicate_code",
        "required",
        "wrong_geometry",
    ]
    assert {p.feature.split()[0] for p in err.problems if p.feature} == {"#6", "#10", "#13", "#15"}


@pytest.mark.parametrize(
    ("content", "code"),
    [
        ("{not json", "not_json"),
        ('{"type": "Feature"}', "not_feature_collection"),
        ('{"type": "FeatureCollection", "features": []}', "no_features"),
    ],
)
def test_files_that_are_not_feature_collections_are_refused(
    engine: Engine, tmp_path: Path, content: str, code: str
) -> None:
    path = tmp_path / "bad.geojson"
    path.write_text(content, encoding="utf-8")
    err = refused(engine, import_districts, path)
    assert [p.code for p in err.problems] == [code]


def test_a_bad_venue_is_refused_and_the_good_ones_are_not_written(
    town: Engine, tmp_path: Path
) -> None:
    doc = copy.deepcopy(VENUES)
    del doc["features"][3]["properties"]["name"]
    doc["features"][7]["geometry"]["coordinates"] = [38.5, 140.8]
    err = refused(town, import_venues, write(tmp_path, doc))
    assert sorted((p.code, p.feature.split()[0]) for p in err.problems if p.feature) == [
        ("outside_japan", "#8"),
        ("required", "#4"),
    ]
    with Session(town) as s:
        assert s.scalar(select(func.count(Venue.id))) == 0


def test_venues_with_the_same_name_need_a_code(engine: Engine, tmp_path: Path) -> None:
    doc = copy.deepcopy(VENUES)
    doc["features"][2]["properties"]["name"] = doc["features"][1]["properties"]["name"]
    err = refused(engine, import_venues, write(tmp_path, doc))
    assert [p.code for p in err.problems] == ["duplicate_code"]
    for i, f in enumerate(doc["features"]):
        f["properties"]["code"] = f"V{i}"
    assert load(engine, import_venues, write(tmp_path, doc)).created == 35


def test_same_named_venues_of_two_towns_do_not_overwrite_each_other(
    town: Engine, tmp_path: Path
) -> None:
    other = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[141.0, 38.0], [141.1, 38.0], [141.1, 38.1], [141.0, 38.1], [141.0, 38.0]]
                    ],
                },
                "properties": {"code": "99999", "name": "隣町", "level": "municipality"},
            },
            {
                "type": "Feature",
                "geometry": {
                    "type": "Polygon",
                    "coordinates": [
                        [[141.0, 38.0], [141.1, 38.0], [141.1, 38.1], [141.0, 38.1], [141.0, 38.0]]
                    ],
                },
                "properties": {
                    "code": "99999-1",
                    "name": "隣町一区",
                    "level": "district",
                    "parent": "99999",
                },
            },
        ],
    }
    load(town, import_districts, write(tmp_path, other, "other.geojson"))
    kami_venue = copy.deepcopy(VENUES["features"][1])
    name = kami_venue["properties"]["name"]
    twin = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [141.05, 38.05]},
        "properties": {"name": name, "address": "隣町1-1"},
    }
    load(
        town,
        import_venues,
        write(tmp_path, {"type": "FeatureCollection", "features": [kami_venue]}, "a.geojson"),
    )
    result = load(
        town,
        import_venues,
        write(tmp_path, {"type": "FeatureCollection", "features": [twin]}, "b.geojson"),
    )
    assert result.created == 1
    with Session(town) as s:
        venues = s.scalars(select(Venue).where(Venue.name == name)).all()
        assert sorted(v.address or "" for v in venues) == sorted(
            [kami_venue["properties"]["address"], "隣町1-1"]
        )


def test_shift_jis_geojson_and_feature_ids_are_understood(town: Engine, tmp_path: Path) -> None:
    doc = copy.deepcopy(VENUES)
    for i, f in enumerate(doc["features"]):
        f["id"] = f"GSI-{i}"
        f["properties"] = {"名称": f["properties"]["name"], "住所": f["properties"]["address"]}
    path = tmp_path / "sjis.geojson"
    path.write_bytes(json.dumps(doc, ensure_ascii=False).encode("cp932"))
    assert load(town, import_venues, path).created == 35
    with Session(town) as s:
        venue = s.scalar(select(Venue).where(Venue.code == "GSI-0"))
        assert venue is not None and venue.name == VENUES["features"][0]["properties"]["name"]


def test_haversine_is_metric_for_scalars_and_arrays() -> None:
    import numpy as np

    from directory.distance import haversine_m, haversine_rad_m

    # one degree of latitude on the 6,371,008.8 m sphere
    assert haversine_m(35.0, 136.0, np.array([36.0]), np.array([136.0]))[0] == pytest.approx(
        111_195, rel=1e-4
    )
    # Tokyo Station → Osaka Station, about 403 km; scalars give one number
    tokyo_osaka = haversine_m(35.6812, 139.7671, 34.7025, 135.4959)
    assert float(tokyo_osaka) == pytest.approx(403_000, rel=0.01) and np.ndim(tokyo_osaka) == 0
    assert haversine_m(34.7025, 135.4959, 35.6812, 139.7671) == tokyo_osaka  # symmetric
    assert haversine_m(35.0, 136.0, 35.0, 136.0) == 0.0
    # the radian form the matcher uses gives the same metres
    lat = np.array([35.6812, 43.0621, 26.2124])
    lon = np.array([139.7671, 141.3544, 127.6809])
    p, la = np.radians(lat), np.radians(lon)
    p0, l0 = np.radians(34.7025), np.radians(135.4959)
    assert np.allclose(
        haversine_rad_m(p0, l0, p, la, np.cos(p0), np.cos(p)),
        haversine_m(34.7025, 135.4959, lat, lon),
        rtol=0,
        atol=1e-6,
    )


def test_pairs_within_measures_great_circle_metres_in_every_direction() -> None:
    import numpy as np

    from directory.distance import haversine_m
    from directory.geography import nearest_within, pairs_within

    metre = 1 / 111_195  # of latitude
    # Around 45.3° N, 141.9° E (Japan's north): 45 m north, 45 m east, 60 m east.
    lat0, lon0 = 45.3, 141.9
    east = metre / np.cos(np.radians(lat0))
    lat = np.array([lat0 + 45 * metre, lat0, lat0])
    lon = np.array([lon0, lon0 + 45 * east, lon0 + 60 * east])
    d = haversine_m(lat, lon, np.full(3, lat0), np.full(3, lon0))
    assert np.allclose(d, [45, 45, 60], atol=0.2)
    i, j, dist = pairs_within(
        lat=lat, lon=lon, other_lat=np.array([lat0]), other_lon=np.array([lon0]), metres=50
    )
    assert sorted(i.tolist()) == [0, 1] and j.tolist() == [0, 0]
    assert np.allclose(sorted(dist), [45, 45], atol=0.2)
    # The nearer of two candidates wins; a point with none within reach gets none.
    src, dst = nearest_within(
        np.array([lon0, lon0 + 1]),
        np.array([lat0, lat0]),
        np.array([lon0 + 40 * east, lon0 + 10 * east]),
        np.array([lat0, lat0]),
        50,
    )
    assert src.tolist() == [0] and dst.tolist() == [1]

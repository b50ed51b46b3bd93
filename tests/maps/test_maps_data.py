"""directory.map_data: what the maps may see, read from the demo town."""

from __future__ import annotations

import subprocess
import sys

import pytest
from maphelpers import public
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.map_data import (
    CoordinatorResource,
    PublicResource,
    UnknownAreaError,
    coordinator_resources,
    map_districts,
    public_resources,
)
from directory.models import District, Resource


def test_public_resources_are_public_and_active_only(demo: Session) -> None:
    rows = demo.execute(select(Resource.external_id, Resource.public, Resource.status)).all()
    expected = {r.external_id for r in rows if r.public and r.status == "active"}
    got = public_resources(demo)
    assert {r.external_id for r in got} == expected
    assert all(type(r) is PublicResource and r.status == "active" for r in got)
    assert len(expected) < len(rows)  # the demo has paused, ended and private ones


def test_coordinator_resources_include_paused_ended_and_private(demo: Session) -> None:
    got = coordinator_resources(demo)
    assert len(got) == len(demo.scalars(select(Resource.id)).all())
    assert {r.status for r in got} == {"active", "paused", "ended"}
    assert any(not r.public for r in got)
    assert all(type(r) is CoordinatorResource for r in got)


def test_fields_come_from_the_directory(demo: Session) -> None:
    by_id = {r.external_id: r for r in coordinator_resources(demo)}
    salon = by_id["R-001"]  # 赤塚ふれあいサロン: venue coordinates, 第2・第4木曜
    assert salon.categories == ("salon",)
    assert salon.lat == pytest.approx(38.548893) and salon.lon == pytest.approx(140.878152)
    assert "第2・第4木曜" in salon.schedule and "10:00～12:00" in salon.schedule
    assert salon.phone == "0229-00-2001"
    assert str(salon.last_verified_on) == "2024-04-01"
    served_only = [r for r in by_id.values() if r.lat is None]
    assert served_only and all(r.lon is None and r.districts for r in served_only)


def test_an_area_holds_its_venues_and_the_services_that_serve_it(demo: Session) -> None:
    areas = demo.scalars(select(District.code).where(District.level == "area")).all()
    everything = {r.external_id for r in public_resources(demo)}
    union: set[str] = set()
    for code in areas:
        part = {r.external_id for r in public_resources(demo, area_code=code)}
        assert part and part < everything
        union |= part
    assert union == everything
    # 全域 (the whole municipality) services are on every area's map
    municipality = demo.scalar(select(District.code).where(District.level == "municipality"))
    whole = {r.external_id for r in public_resources(demo) if municipality in r.districts}
    assert whole
    for code in areas:
        assert whole <= {r.external_id for r in public_resources(demo, area_code=code)}


def test_map_districts_of_an_area_are_the_area_and_below(demo: Session) -> None:
    area = demo.scalars(select(District).where(District.level == "area")).first()
    assert area is not None
    got = map_districts(demo, area_code=area.code)
    assert {d.code for d in got if d.level == "area"} == {area.code}
    assert all(d.level in ("area", "district") for d in got)
    assert all(d.parent == area.code for d in got if d.level == "district")
    assert len(map_districts(demo)) > len(got)


def test_unknown_area_is_an_error(demo: Session) -> None:
    with pytest.raises(UnknownAreaError):
        public_resources(demo, area_code="no-such-area")
    with pytest.raises(UnknownAreaError):
        map_districts(demo, area_code="no-such-area")


def test_a_public_resource_cannot_be_paused() -> None:
    with pytest.raises(ValueError, match="active"):
        public("R-1", "休んでいるサロン", ("salon",), 38.1, 140.1, status="paused")


def test_importing_maps_imports_no_database_or_web_module() -> None:
    # maps may share matching's plain vocabulary (matching.reasons), never its database code
    code = (
        "import sys, maps; bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('sqlalchemy', 'flask', 'web', 'psycopg') or m.startswith('matching.') and "
        "m != 'matching.reasons'); print(bad); raise SystemExit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr

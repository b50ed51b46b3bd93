"""The directory models: relationships, portable geometry and optimistic locking."""

from __future__ import annotations

import datetime as dt

import pytest
from shapely.geometry import Polygon
from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from directory.db import make_sessionmaker
from directory.models import (
    Category,
    District,
    Organization,
    Resource,
    Schedule,
    Venue,
    resource_category,
)


def make_district(code: str = "D1", level: str = "district") -> District:
    poly = Polygon([(140.8, 38.5), (140.81, 38.5), (140.81, 38.51), (140.8, 38.51)])
    c = poly.centroid
    return District(
        code=code,
        name=f"地区{code}",
        name_key=code,
        level=level,
        geometry=poly,
        min_lon=140.8,
        min_lat=38.5,
        max_lon=140.81,
        max_lat=38.51,
        centroid_lon=c.x,
        centroid_lat=c.y,
    )


def make_resource(session: Session, **overrides: object) -> Resource:
    district = make_district()
    fields: dict[str, object] = {
        "external_id": "R-1",
        "name": "架空サロン",
        "name_key": "かくうさろん",
        "organization": Organization(name="架空の会", name_key="かくうのかい"),
        "venue": Venue(
            code="V1",
            name="集会所",
            name_key="しゅうかいしょ",
            lat=38.505,
            lon=140.805,
            district=district,
        ),
        "categories": [session.get(Category, "salon")],
        "districts": [district],
        "schedules": [
            Schedule(
                rrule="FREQ=MONTHLY;BYDAY=2TH,4TH",
                start_time=dt.time(10),
                end_time=dt.time(12),
                source_text="第2・第4木曜 10時～12時",
            )
        ],
        "last_verified_on": dt.date(2024, 4, 1),
    } | overrides
    resource = Resource(**fields)
    session.add(resource)
    session.commit()
    return resource


def test_a_resource_keeps_every_relation_and_geometry(engine: Engine) -> None:
    with Session(engine) as s:
        make_resource(s)
    with Session(engine) as s:
        r = s.scalars(select(Resource)).one()
        assert [c.code for c in r.categories] == ["salon"]
        assert r.venue is not None and r.venue.district is not None
        assert r.districts[0].geometry.area == pytest.approx(0.0001)
        assert r.schedules[0].start_time == dt.time(10)
        assert r.status == "active" and r.public is True and r.version == 1


def test_a_stale_edit_is_refused_not_silently_applied(engine: Engine) -> None:
    with Session(engine) as s:
        resource_id = make_resource(s).id
    # Two coordinators open the same resource (each read ends its transaction, as a web
    # request does), then both save.
    writer = make_sessionmaker(engine, write=True)
    first, second = writer(), writer()
    try:
        mine = first.get(Resource, resource_id)
        first.commit()
        theirs = second.get(Resource, resource_id)
        second.commit()
        assert mine is not None and theirs is not None
        mine.name = "先に保存した名前"
        first.commit()
        theirs.name = "古い版からの名前"
        with pytest.raises(StaleDataError):
            second.commit()
        second.rollback()
    finally:
        first.close()
        second.close()
    with Session(engine) as s:
        saved = s.get(Resource, resource_id)
        assert saved is not None and saved.name == "先に保存した名前" and saved.version == 2


def test_categories_must_exist_in_the_taxonomy(engine: Engine) -> None:
    with Session(engine) as s:
        resource_id = make_resource(s).id
        with pytest.raises(IntegrityError):
            s.execute(
                insert(resource_category).values(
                    resource_id=resource_id, category_code="no-such-code"
                )
            )
            s.commit()

"""The unmet report is remembered between requests, and never outlives the data it counts.

Each test asks twice and watches the matcher: a second answer that did not run it came
from the cache (:mod:`web.report_cache`). After each kind of change, the report runs again
and says what a report computed from nothing says.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session
from webhelpers import add_account, sign_in

import web.services
from directory.db import transaction
from directory.demo import SEEDS_DIR
from directory.fiscal import today_in_japan
from directory.models import District, Resource
from directory.state import bump
from matching.models import Match, Need, NeedCategory
from matching.needs import import_needs
from matching.reasons import UnmetCount
from matching.service import SnapshotCache, load_needs, match_needs
from web.actors import Actor
from web.db import Database
from web.report_cache import Fingerprint, ReportCache, _running
from web.services import need_fiscal_years, unmet_report

OWN, OTHER = "04445-A1", "04445-A2"
TODAY = today_in_japan()


@pytest.fixture
def db(demo_town_with_needs: Engine, app: Flask) -> Database:
    """The demo town with its 150 needs, and the app's database object."""
    database: Database = app.extensions["tsunagu_db"]
    return database


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many needs each run of the matcher scored, one entry per run."""
    seen: list[int] = []

    def counting(session: Session, cache: SnapshotCache, needs: Any, **kw: Any) -> Any:
        seen.append(len(needs))
        return match_needs(session, cache, needs, **kw)

    monkeypatch.setattr(web.services, "match_needs", counting)
    yield seen


def area_actor(engine: Engine, role: str, *codes: str, login: str = "someone") -> Actor:
    with Session(engine) as s:
        ids = frozenset(s.scalars(select(District.id).where(District.code.in_(codes))))
    return Actor(login=login, role=role, area_ids=ids, area_codes=codes)


TIER1 = Actor(login="tier1", role="tier1")


def fresh(db: Database, actor: Actor, **kw: Any) -> list[UnmetCount]:
    """The report computed from nothing (a cache of its own, thrown away after)."""
    kept = db.unmet_reports
    db.unmet_reports = ReportCache()
    try:
        return unmet_report(db, actor, **{"on": TODAY, **kw})
    finally:
        db.unmet_reports = kept


def report(db: Database, actor: Actor, **kw: Any) -> list[UnmetCount]:
    return unmet_report(db, actor, **{"on": TODAY, **kw})


def an_unmet_need(engine: Engine, area: str | None = None) -> str:
    with Session(engine) as s:
        needs = load_needs(s)
        results = match_needs(s, SnapshotCache(), needs, on=TODAY, top=1)
        area_id = s.scalar(select(District.id).where(District.code == area)) if area else None
        for n, r in zip(needs, results, strict=True):
            if r.unmet and (area_id is None or n.district.parent_id == area_id):
                return n.external_id
    raise AssertionError("the demo has no unmet need there")


def test_the_second_report_is_the_first_without_running_the_matcher(
    db: Database, runs: list[int]
) -> None:
    first = report(db, TIER1)
    assert len(runs) == 1 and runs[0] > 0 and first
    again = report(db, TIER1)
    assert again == first and len(runs) == 1
    again.clear()  # a caller's list is its own: the kept answer is untouched
    assert report(db, TIER1) == first and len(runs) == 1
    # every filter is part of the question
    report(db, TIER1, level="area")
    report(db, TIER1, fy=2024)
    report(db, TIER1, fy=2024, month=6)
    report(db, TIER1, area=OWN)
    report(db, TIER1, ends=False)
    assert len(runs) == 6
    report(db, TIER1, fy=2024, month=6)
    assert len(runs) == 6


def test_a_new_need_is_counted_at_once(db: Database, engine: Engine, runs: list[int]) -> None:
    before = report(db, TIER1)
    unmet_id = an_unmet_need(engine)
    with transaction(engine) as s:
        model = s.scalars(select(Need).where(Need.external_id == unmet_id)).one()
        copy = {
            c.key: getattr(model, c.key)
            for c in Need.__table__.columns
            if c.key not in {"id", "external_id", "version", "created_at", "updated_at"}
        }
        s.add(
            Need(
                **copy,
                external_id="N-NEW",
                category_links=[
                    NeedCategory(category_code=c, inferred=False) for c in model.category_codes
                ],
            )
        )
    after = report(db, TIER1)
    assert len(runs) == 2
    assert sum(r.count for r in after) > sum(r.count for r in before)
    assert after == fresh(db, TIER1)


def test_a_closed_or_edited_need_is_counted_at_once(
    db: Database, engine: Engine, runs: list[int], tmp_path: Path
) -> None:
    report(db, TIER1)
    unmet_id = an_unmet_need(engine)
    with transaction(engine) as s:
        s.scalars(select(Need).where(Need.external_id == unmet_id)).one().status = "closed"
    closed = report(db, TIER1)
    assert len(runs) == 2 and closed == fresh(db, TIER1)
    with transaction(engine) as s:
        s.scalars(select(Need).where(Need.external_id == unmet_id)).one().status = "open"
    report(db, TIER1)
    assert len(runs) == 4  # reopened (and the fresh report in between)
    # an import that changes only the need's categories
    items = json.loads((SEEDS_DIR / "kami" / "needs.json").read_text(encoding="utf-8"))
    item = next(i for i in items if i["id"] == unmet_id)
    item["categories"] = [
        next(i for i in items if i["categories"] != item["categories"])["categories"][0]
    ]
    edit = tmp_path / "edit.json"
    edit.write_text(json.dumps([item], ensure_ascii=False), encoding="utf-8")
    with transaction(engine) as s:
        assert import_needs(s, edit).updated == 1
    edited = report(db, TIER1)
    assert len(runs) == 5 and edited == fresh(db, TIER1)
    # a need deleted (retention)
    with transaction(engine) as s:
        s.execute(delete(Need).where(Need.external_id == unmet_id))
    deleted = report(db, TIER1)
    assert len(runs) == 7 and deleted == fresh(db, TIER1)


def test_a_referral_that_ends_is_counted_at_once(
    db: Database, engine: Engine, runs: list[int]
) -> None:
    with transaction(engine) as s:
        need = s.scalars(select(Need).where(Need.external_id == "N-0001")).one()
        resource = s.scalars(select(Resource.id).order_by(Resource.id)).first()
        s.add(Match(need_id=need.id, resource_id=resource, score=0.5))
    before = report(db, TIER1)
    assert not any(r.reason == "declined" for r in before)
    with transaction(engine) as s:
        s.scalars(select(Match)).one().status = "declined"
    after = report(db, TIER1)
    assert len(runs) == 2
    assert any(r.reason == "declined" for r in after) and after == fresh(db, TIER1)
    with transaction(engine) as s:  # an ended referral deleted (no other row changes)
        s.execute(delete(Match))
    assert report(db, TIER1) == before
    assert len(runs) == 4


def test_a_deletion_that_moves_no_id_or_stamp_is_seen_at_once(
    db: Database, engine: Engine, runs: list[int]
) -> None:
    """Deleting a row that is neither the newest nor the last changed leaves every largest
    id and latest stamp as it was: the deletion counter (migration 0010's triggers, on
    both engines) is what tells the cache."""
    with transaction(engine) as s:
        need = s.scalars(select(Need).where(Need.external_id == "N-0001")).one()
        first, second = s.scalars(select(Resource.id).order_by(Resource.id).limit(2)).all()
        s.add(Match(need_id=need.id, resource_id=first, score=0.5, status="declined"))
    with transaction(engine) as s:  # a newer referral, stamped later
        s.add(Match(need_id=need.id, resource_id=second, score=0.4))
    before = report(db, TIER1)
    assert any(r.reason == "declined" for r in before)
    with transaction(engine) as s:
        s.execute(delete(Match).where(Match.resource_id == first))
    after = report(db, TIER1)
    assert len(runs) == 2 and after == fresh(db, TIER1)
    assert not any(r.reason == "declined" for r in after)
    # an unmet need that is not the newest: the latest stamp is the referral's
    with Session(engine) as s:
        newest = s.scalar(select(Need.id).order_by(Need.id.desc()).limit(1))
        victim = next(
            ext
            for ext, nid in s.execute(select(Need.external_id, Need.id))
            if nid != newest and ext == an_unmet_need(engine)
        )
    with transaction(engine) as s:
        s.execute(delete(Need).where(Need.external_id == victim))
    gone = report(db, TIER1)
    assert len(runs) == 4 and gone == fresh(db, TIER1)
    assert sum(r.count for r in gone) == sum(r.count for r in after) - 1


def test_a_directory_change_is_seen_at_once(db: Database, engine: Engine, runs: list[int]) -> None:
    before = report(db, TIER1)
    with transaction(engine) as s:
        for r in s.scalars(select(Resource)):
            r.status = "paused"
        bump(s)
    after = report(db, TIER1)
    assert len(runs) == 2 and after != before and after == fresh(db, TIER1)


def test_another_day_is_another_report(db: Database, runs: list[int]) -> None:
    report(db, TIER1)
    report(db, TIER1, on=TODAY + dt.timedelta(days=1))
    assert len(runs) == 2
    report(db, TIER1)
    assert len(runs) == 2


def test_each_set_of_areas_has_its_own_report(
    db: Database, engine: Engine, runs: list[int]
) -> None:
    own = report(db, area_actor(engine, "tier2", OWN))
    other = report(db, area_actor(engine, "tier2", OTHER))
    assert len(runs) == 2 and own != other
    assert other == fresh(db, area_actor(engine, "tier2", OTHER))
    # the same areas see the same counts: a colleague's visit runs nothing
    assert report(db, area_actor(engine, "tier2", OWN, login="colleague")) == own
    assert len(runs) == 3  # (the fresh report above)
    both = report(db, area_actor(engine, "tier2", OWN, OTHER))
    everywhere = report(db, TIER1)
    assert len(runs) == 5 and both != own and everywhere != own
    assert report(db, Actor(login="admin", role="admin")) == everywhere
    assert len(runs) == 5
    # another area's code asked for by name is refused, cached answers or not
    with pytest.raises(web.services.NotFoundForActor):
        report(db, area_actor(engine, "tier2", OWN), area=OTHER)
    report(db, TIER1, area=OTHER)
    with pytest.raises(web.services.NotFoundForActor):
        report(db, area_actor(engine, "tier2", OWN), area=OTHER)


def test_the_page_and_the_api_are_served_from_the_cache(
    db: Database, app: Flask, runs: list[int]
) -> None:
    account = add_account(app, "coordinator", "tier2", (OWN,))
    client: FlaskClient = app.test_client()
    assert sign_in(client, account).status_code == 303  # type: ignore[attr-defined]
    fy = today_in_japan().year - (0 if today_in_japan().month >= 4 else 1)
    for path in (f"/unmet?fy={fy}", f"/api/v1/unmet?fy={fy}", f"/unmet.csv?fy={fy}"):
        assert client.get(path).status_code == 200
    assert len(runs) == 1
    assert client.get("/unmet?fy=2024").status_code == 200
    assert client.get("/api/v1/unmet?fy=2024").status_code == 200
    assert len(runs) == 2


def test_report_years_start_at_the_first_need(db: Database, engine: Engine) -> None:
    with Session(engine) as s:
        first = min(n.recorded_on or n.created_at.date() for n in s.scalars(select(Need)))
    years = need_fiscal_years(db, TIER1)
    assert years[-1] == first.year - (0 if first.month >= 4 else 1)
    assert years == sorted(years, reverse=True)
    assert need_fiscal_years(db, Actor(login="v", role="viewer")) == years[:1]


def test_a_writer_that_commits_after_a_later_one_is_not_missed(
    db: Database, engine: Engine, runs: list[int]
) -> None:
    """PostgreSQL: T1 stamps a need first but commits last, behind T2's later stamp."""
    if engine.dialect.name != "postgresql":
        pytest.skip("only PostgreSQL lets two writers overlap (SQLite: BEGIN IMMEDIATE)")
    unmet_id = an_unmet_need(engine)
    with Session(engine) as slow:
        slow.scalars(select(Need).where(Need.external_id == unmet_id)).one().status = "closed"
        slow.flush()  # stamped now, not committed
        with transaction(engine) as quick:
            quick.scalars(select(Need).where(Need.external_id == "N-0002")).one().text = "x"
        while_running = report(db, TIER1)
        slow.commit()
    after = report(db, TIER1)
    assert len(runs) == 2 and after != while_running and after == fresh(db, TIER1)


def test_fingerprints_and_the_bounded_cache() -> None:
    assert _running("10:20:12,15") == {12, 15} and _running("10:10:") == frozenset()
    old = Fingerprint((1, 2), frozenset({12}))
    assert old.still_matches(Fingerprint((1, 2), frozenset({12, 17})))
    assert not old.still_matches(Fingerprint((1, 2), frozenset({17})))  # 12 has finished
    assert not old.still_matches(Fingerprint((1, 3), frozenset({12})))
    now = [0.0]
    cache: ReportCache[str] = ReportCache(size=2, max_age=60, clock=lambda: now[0])
    f = Fingerprint((1,))
    cache.put("a", f, "A")
    cache.put("b", f, "B")
    assert cache.get("a", f) == "A"
    cache.put("c", f, "C")  # "b" was the least recently used
    assert cache.get("b", f) is None and cache.get("a", f) == "A" and cache.get("c", f) == "C"
    now[0] = 61
    assert cache.get("a", f) is None


def test_the_page_renders_its_tables_once_per_counts_query_and_language(
    db: Database, app: Flask, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tables are most of the page: made again only when the counts, the filters or
    the language differ, and then they show the new counts."""
    import web.unmet_views

    made: list[str] = []
    real = web.unmet_views._table

    def counting(table_id: str, *args: Any, **kw: Any) -> Any:
        made.append(table_id)
        return real(table_id, *args, **kw)

    monkeypatch.setattr(web.unmet_views, "_table", counting)
    account = add_account(app, "coordinator", "tier2", (OWN,))
    client: FlaskClient = app.test_client()
    assert sign_in(client, account).status_code == 303  # type: ignore[attr-defined]

    def total() -> str:
        page = client.get("/unmet").get_data(as_text=True)
        unmet = page.split('id="unmet"')[1].split("</section>")[0]
        return unmet.split('<td class="num">')[-1].split("<")[0]  # its grand total

    before = total()
    assert total() == before
    assert made == ["unmet", "ended"]
    assert "Unmet needs by the reason" in client.get("/unmet?lang=en").get_data(as_text=True)
    assert len(made) == 4
    client.get("/unmet?lang=ja")
    need_id = an_unmet_need(engine, OWN)
    with transaction(engine) as s:
        need = s.scalar(select(Need).where(Need.external_id == need_id))
        assert need is not None
        need.status = "closed"
    assert len(made) == 4
    after = total()
    assert len(made) == 6
    assert int(after) == int(before) - 1

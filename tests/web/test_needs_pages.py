"""The coordinator's needs pages (issue 12 points 3 and 4, DATA_FORMATS §8): intake, the
need with its ranked matches and timeline, referrals, the area's list, the resident's list,
and who may see any of it.

The demo town (加美町): 中新田 (04445-A1) is the coordinator's own area, 小野田
(04445-A2) another's. 字町裏 (04445011003) lies in 中新田, where 町裏いきいきサロン
(R-002) meets on Tuesdays.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from webhelpers import Account, add_account, csrf_token, sign_in

from directory.db import transaction
from directory.models import Resource
from directory.state import bump
from matching.models import Match, MatchEvent, Need
from web.models import AuditEvent

OWN, OTHER = "04445-A1", "04445-A2"
DISTRICT = "04445011003"  # 字町裏, in 中新田
OTHER_DISTRICT_NAME = "小野田"
SALON = "R-002"  # 町裏いきいきサロン（架空）: 火 10:00～11:30

GOOD = {
    "district": DISTRICT,
    "categories": ["salon"],
    "text": "近所の人とおしゃべりしたい",
    "consent_on": "2026-11-30",
    "consent_by": "本人",
    "recorded_on": "2026-11-30",
}


@dataclass
class Town:
    app: Flask
    engine: Engine
    own: Account
    other: Account
    tier1: Account
    viewer: Account

    def client(self, who: Account | None = None) -> FlaskClient:
        client = self.app.test_client()
        if who is not None:
            assert sign_in(client, who).status_code == 303  # type: ignore[attr-defined]
        return client


@pytest.fixture
def town(engine: Engine, app: Flask, demo_town: Engine) -> Iterator[Town]:
    yield Town(
        app,
        engine,
        add_account(app, "coord", "tier2", (OWN,)),
        add_account(app, "neighbour", "tier2", (OTHER,)),
        add_account(app, "chief", "tier1"),
        add_account(app, "reader", "viewer"),
    )


def post(client: FlaskClient, path: str, data: dict[str, object], form_page: str = "/") -> object:
    return client.post(path, data={"csrf_token": csrf_token(client, form_page), **data})


def record(client: FlaskClient, **changes: object) -> str:
    """Record a need through the form; returns its id (from the 303's Location)."""
    response = post(client, "/needs/new", {**GOOD, **changes}, "/needs/new")
    assert response.status_code == 303, response.get_data(as_text=True)[-2000:]  # type: ignore[attr-defined]
    location = response.headers["Location"]  # type: ignore[attr-defined]
    found = re.fullmatch(r"/needs/([A-Z0-9-]+)\?created=1", location)
    assert found, location
    return found.group(1)


def events(engine: Engine, record_id: str | None = None) -> list[AuditEvent]:
    with transaction(engine) as s:
        stmt = select(AuditEvent).order_by(AuditEvent.id)
        if record_id is not None:
            stmt = stmt.where(AuditEvent.record_id == record_id)
        rows = list(s.scalars(stmt))
        s.expunge_all()
    return rows


def text_of(response: object) -> str:
    return response.get_data(as_text=True)  # type: ignore[attr-defined]


# ----------------------------------------------------------------------------- intake


def test_the_form_offers_only_the_districts_of_ones_own_areas(town: Town) -> None:
    page = text_of(town.client(town.own).get("/needs/new"))
    assert 'name="csrf_token"' in page and "<label" in page
    assert 'value="04445011003"' in page  # 字町裏, in 中新田
    assert f'label="{OTHER_DISTRICT_NAME}"' not in page
    # the §8 field names, Japanese labels, categories as checkboxes
    for name in ("district", "text", "time", "max_walk_m", "age", "consent_on", "consent_by"):
        assert f'name="{name}"' in page, name
    for name in ("categories", "days", "months", "attributes"):
        assert f'type="checkbox" name="{name}"' in page, name
    assert "サロン" in page and "ゴミ出し支援" in page
    # tier 1 picks from every area
    chief = text_of(town.client(town.tier1).get("/needs/new"))
    assert f'label="{OTHER_DISTRICT_NAME}"' in chief


def test_a_need_is_recorded_and_its_page_shows_ranked_matches_with_reasons(town: Town) -> None:
    client = town.client(town.own)
    need_id = record(client)
    page = text_of(client.get(f"/needs/{need_id}?created=1"))
    assert "町裏いきいきサロン" in page
    # every reason of the engine, the resource's phone and its own hours
    assert "対象地区内" in page and "空きあり" in page
    assert "0229-00-2002" in page and "毎週 火 10:00～11:30" in page
    assert f'action="/needs/{need_id}/matches/{SALON}"' in page
    with transaction(town.engine) as s:
        need = s.scalars(select(Need).where(Need.external_id == need_id)).one()
        assert need.consent_by == "本人" and need.district.code == DISTRICT
        assert need.category_codes == ["salon"]
        timeline = list(s.scalars(select(MatchEvent).where(MatchEvent.need_id == need.id)))
        assert [e.status for e in timeline] == ["recorded"]
        assert s.scalars(select(Match)).first() is None  # showing the page writes no match
    assert [e.action for e in events(town.engine, need_id)] == ["create", "read"]


def test_every_field_error_is_shown_in_japanese_beside_its_field(town: Town) -> None:
    client = town.client(town.own)
    bad = {
        **GOOD,
        "categories": ["no-such-kind"],
        "time": "いつでも",
        "max_walk_m": "遠く",
        "age": "200",
        "days": ["月", "xx"],
        "recorded_on": "2999-01-01",
    }
    response = post(client, "/needs/new", bad, "/needs/new")
    assert response.status_code == 422  # type: ignore[attr-defined]
    page = text_of(response)
    for field in ("categories", "time", "max_walk_m", "age", "days", "recorded_on"):
        block = re.search(
            rf'<ul class="field-errors" id="{field}-errors" role="alert">(.*?)</ul>', page, re.S
        )
        assert block, field
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", block.group(1)), field  # Japanese
    assert 'aria-invalid="true" aria-describedby="age-errors"' in page
    assert "いつでも" in page  # what was typed stays in the form …
    with transaction(town.engine) as s:
        assert s.scalars(select(Need)).first() is None  # … and nothing was written
    assert [(e.action, e.outcome) for e in events(town.engine)][-1] == ("create", "failed")


def test_consent_with_who_gave_it_or_a_statutory_basis_is_required(town: Town) -> None:
    client = town.client(town.own)
    none = {k: v for k, v in GOOD.items() if k not in ("consent_on", "consent_by")}
    page = text_of(post(client, "/needs/new", none, "/needs/new"))
    assert 'id="consent_on-errors"' in page and 'id="basis-errors"' in page
    half = {**none, "consent_on": "2026-11-30"}
    page = text_of(post(client, "/needs/new", half, "/needs/new"))
    assert 'id="consent_by-errors"' in page
    assert record(client, consent_on="", consent_by="", basis="介護保険法第115条の45")


def test_a_district_outside_ones_areas_is_refused_and_audited(town: Town) -> None:
    client = town.client(town.own)
    with transaction(town.engine) as s:
        from directory.models import District

        foreign = s.scalar(
            select(District.code)
            .where(District.level == "district")
            .where(
                District.parent_id
                == select(District.id).where(District.code == OTHER).scalar_subquery()
            )
        )
    response = post(client, "/needs/new", {**GOOD, "district": foreign}, "/needs/new")
    assert response.status_code == 403  # type: ignore[attr-defined]
    assert 'id="district-errors"' in text_of(response)
    with transaction(town.engine) as s:
        assert s.scalars(select(Need)).first() is None
    assert [(e.action, e.outcome) for e in events(town.engine)][-1] == ("create", "denied")


def test_a_viewer_cannot_record_needs(town: Town) -> None:
    assert town.client(town.viewer).get("/needs/new").status_code == 403
    assert town.client().get("/needs/new").status_code == 302  # to the sign-in page


# -------------------------------------------------------------------------- referrals


def test_status_changes_are_recorded_in_the_timeline_and_audited(town: Town) -> None:
    client = town.client(town.own)
    need_id = record(client)
    path = f"/needs/{need_id}/matches/{SALON}"
    page = f"/needs/{need_id}"
    steps = [
        ("contacted", "電話で空きを確認", 303),
        ("connected", "", 303),
        ("proposed", "", 409),  # connected → proposed is not a §8 step
        ("ended", "本人が通えなくなった", 303),
        ("gone", "", 400),
    ]
    for status, note, expected in steps:
        response = post(client, path, {"status": status, "note": note, "on": "2026-12-01"}, page)
        assert response.status_code == expected, (status, text_of(response)[-500:])  # type: ignore[attr-defined]
    with transaction(town.engine) as s:
        need = s.scalars(select(Need).where(Need.external_id == need_id)).one()
        match = s.scalars(select(Match).where(Match.need_id == need.id)).one()
        assert match.status == "ended" and match.reasons  # stored with the engine's reasons
        timeline = list(
            s.scalars(
                select(MatchEvent).where(MatchEvent.need_id == need.id).order_by(MatchEvent.id)
            )
        )
        assert [e.status for e in timeline] == ["recorded", "contacted", "connected", "ended"]
        assert timeline[1].note == "電話で空きを確認" and timeline[1].recorded_by == "coord"
        assert need.status == "open"  # connected, then ended: open again
    shown = text_of(client.get(page))
    assert "電話で空きを確認" in shown and "本人が通えなくなった" in shown
    audit = [(e.action, e.outcome, e.detail) for e in events(town.engine, need_id)]
    assert ("update", "ok", f"referral={SALON} status=contacted") in audit
    assert ("update", "failed", "status=proposed") in audit
    assert all("電話" not in (e.detail or "") for e in events(town.engine))


def test_connecting_makes_the_need_connected_and_closing_takes_it_off_the_open_list(
    town: Town,
) -> None:
    client = town.client(town.own)
    need_id = record(client)
    page = f"/needs/{need_id}"
    for status in ("contacted", "connected"):
        post(client, f"/needs/{need_id}/matches/{SALON}", {"status": status}, page)
    listing = text_of(client.get("/needs/?state=connected"))
    assert need_id in listing
    assert need_id not in text_of(client.get("/needs/?state=open"))
    assert post(client, f"/needs/{need_id}/close", {"note": "終了"}, page).status_code == 303  # type: ignore[attr-defined]
    assert need_id not in text_of(client.get("/needs/"))
    assert need_id in text_of(client.get("/needs/?state=closed"))
    assert post(client, f"/needs/{need_id}/close", {}, page).status_code == 409  # type: ignore[attr-defined]
    assert post(client, f"/needs/{need_id}/reopen", {}, page).status_code == 303  # type: ignore[attr-defined]
    assert need_id in text_of(client.get("/needs/?state=connected"))


def test_the_list_shows_unmet_needs_by_district_and_date(town: Town) -> None:
    client = town.client(town.own)
    met = record(client)
    unmet = record(client, categories=["snow"], days=["日"], time="05:00-06:00")
    rows = text_of(client.get("/needs/?state=unmet"))
    assert unmet in rows and met not in rows
    assert met in text_of(client.get("/needs/?state=open"))
    # the /unmet page's drill-down: area, kind, state and period
    drill = text_of(client.get(f"/needs/?area={OWN}&category=snow&state=unmet&since=2026-04-01"))
    assert unmet in drill and met not in drill
    assert unmet not in text_of(client.get(f"/needs/?area={OTHER}&state=unmet"))
    dated = text_of(client.get("/needs/?since=2026-12-01"))
    assert met not in dated  # recorded on 30 November
    assert client.get("/needs/?since=yesterday").status_code == 400
    assert ("list", "ok") in [(e.action, e.outcome) for e in events(town.engine)]


# ---------------------------------------------------------------------------- access


def test_another_areas_coordinator_gets_404_for_page_list_map_and_api(town: Town) -> None:
    need_id = record(town.client(town.own))
    other = town.client(town.other)
    page = f"/needs/{need_id}"
    for path in (
        page,
        f"{page}/map",
        f"{page}/list",
        f"{page}/list.pdf",
        f"/api/v1/needs/{need_id}",
        f"/api/v1/needs/{need_id}/matches",
    ):
        response = other.get(path)
        assert response.status_code == 404, path
        assert "おしゃべり" not in text_of(response)
    token = csrf_token(other, "/")
    for path in (f"{page}/matches/{SALON}", f"{page}/close"):
        assert (
            other.post(path, data={"csrf_token": token, "status": "contacted"}).status_code == 404
        )
    assert need_id not in text_of(other.get("/needs/"))
    outcomes = [(e.actor, e.outcome) for e in events(town.engine, need_id)]
    assert ("neighbour", "not_found") in outcomes
    # tier 1 reaches every area
    assert town.client(town.tier1).get(page).status_code == 200


def test_the_next_match_sees_an_edit_made_a_moment_ago(town: Town) -> None:
    client = town.client(town.own)
    need_id = record(client)
    assert "町裏いきいきサロン" in text_of(client.get(f"/needs/{need_id}"))
    cache = town.app.extensions["tsunagu_db"].snapshots
    builds = cache.builds
    with transaction(town.engine) as s:  # a coordinator pauses the salon
        salon = s.scalars(select(Resource).where(Resource.external_id == SALON)).one()
        salon.status = "paused"
        bump(s, [salon.id])
    page = text_of(client.get(f"/needs/{need_id}"))
    assert f'id="r-{SALON}"' not in page  # no longer a match …
    assert "休止" in page  # … and the page says why nothing can meet it
    assert cache.builds == builds and cache.updates >= 1  # applied, not rebuilt


def test_a_candidates_phone_changed_a_moment_ago_is_on_the_next_page(town: Town) -> None:
    # the candidates' phone, hours and place are kept per directory version
    client = town.client(town.own)
    need_id = record(client)
    assert f'id="r-{SALON}"' in client.get(f"/needs/{need_id}").get_data(as_text=True)
    with transaction(town.engine) as s:
        salon = s.scalars(select(Resource).where(Resource.external_id == SALON)).one()
        salon.phone = "0199-55-0101"
        bump(s, [salon.id])
    page = client.get(f"/needs/{need_id}").get_data(as_text=True)
    assert 'href="tel:0199-55-0101"' in page


# ---------------------------------------------------------------------- resident list


def test_the_resident_list_holds_what_was_picked_and_no_value_of_the_need(town: Town) -> None:
    client = town.client(town.own)
    secret = "ZQX持病の腰痛ZQX"
    need_id = record(
        client,
        text=f"腰が痛いので近くがよい {secret}",
        attributes=["独居", "要支援"],
        resident="R-77ab12",
        age="83",
        basis="介護保険法第115条の45",
        days=[],
    )
    page = f"/needs/{need_id}"
    empty = text_of(client.get(f"{page}/list"))
    assert "町裏いきいきサロン" not in empty  # nothing contacted or ticked yet
    post(client, f"{page}/matches/{SALON}", {"status": "contacted", "note": "NOTE-ZQX"}, page)
    sheet = client.get(f"{page}/list")
    assert sheet.status_code == 200
    html = text_of(sheet)
    assert "町裏いきいきサロン" in html and "0229-00-2002" in html
    assert "毎週 火 10:00～11:30" in html and "次の日程" in html
    assert "<svg" in html and "宮城県加美町字町裏320" in html
    for value in (
        secret,
        "腰が痛い",
        "独居",
        "要支援",
        "R-77ab12",
        need_id,
        "83歳",
        "115条",
        "NOTE-ZQX",
        "本人",
    ):
        assert value not in html.replace(f"/needs/{need_id}", ""), value
    ticked = text_of(client.get(f"{page}/list?r=R-001"))
    assert "町裏いきいきサロン" not in ticked
    pdf = client.get(f"{page}/list.pdf?r={SALON}")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert secret.encode() not in pdf.data and need_id.encode() not in pdf.data
    exports = [e.detail for e in events(town.engine, need_id) if e.action == "export"]
    assert (
        exports
        == [
            "resident_list=html n=0",
            "resident_list=html n=1",
            "resident_list=html n=1",
            "resident_list=pdf n=1",
        ][: len(exports)]
    )
    assert len(exports) == 4


def test_no_need_value_reaches_a_log_url_or_error_page(
    town: Town, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    canary = "ZQXCANARY-腰痛"
    client = town.client(town.own)
    responses = []
    need_id = record(client, text=f"相談 {canary}", basis=f"{canary} 条")
    responses.append(
        post(client, "/needs/new", {**GOOD, "text": canary, "age": canary}, "/needs/new")
    )
    page = f"/needs/{need_id}"
    for status in ("contacted", "gone"):
        response = post(client, f"{page}/matches/{SALON}", {"status": status, "note": canary}, page)
        responses.append(response)
        if status == "contacted":
            assert response.headers["Location"].startswith(page)  # type: ignore[attr-defined]
            assert canary not in response.headers["Location"]  # type: ignore[attr-defined]
    other = town.client(town.other)
    responses += [other.get(page), other.get(f"{page}/list"), other.get(f"/api/v1/needs/{need_id}")]
    said = [r.getMessage() for r in caplog.records] + [str(r.exc_info) for r in caplog.records]
    said += [e.detail or "" for e in events(town.engine)]
    assert [s for s in said if canary in s] == []
    # the failed post shows the form again (its own values), the errors name fields only
    errors = re.findall(r'<ul class="field-errors"[^>]*>(.*?)</ul>', text_of(responses[0]), re.S)
    assert errors and all(canary not in e for e in errors)
    assert all(canary not in text_of(r) for r in responses[1:])

"""The needs half of the JSON API (DATA_FORMATS §8) with Bearer tokens: a §4 object in,
201 with Location; the caller's areas only (another area's need is 404); §5 matches with
the referral's status; statuses recorded with the pages' rules; errors as
``{"error", "message"}``."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from test_needs_pages import DISTRICT, SALON, Town, events, town  # noqa: F401 (fixture)

from directory.db import transaction
from matching.models import MatchEvent, Need
from web import accounts
from web.actors import system_actor
from web.db import get_db

NEED = {
    "id": "API-0001",
    "district": DISTRICT,
    "categories": ["サロン"],
    "text": "おしゃべりしたい",
    "age": 80,
    "recorded_on": "2026-11-30",
}


def bearer(place: Town, login: str) -> dict[str, str]:
    with place.app.app_context(), get_db().write() as s:
        token = accounts.issue_token(s, system_actor("test"), login)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def api(town: Town) -> tuple[FlaskClient, dict[str, str], dict[str, str]]:  # noqa: F811
    return town.app.test_client(), bearer(town, "coord"), bearer(town, "neighbour")


def test_a_need_is_created_read_listed_and_matched(town: Town, api: Any) -> None:  # noqa: F811
    client, own, _other = api
    created = client.post("/api/v1/needs", json=NEED, headers=own)
    assert created.status_code == 201, created.get_json()
    assert created.headers["Location"] == "/api/v1/needs/API-0001"
    body = created.get_json()
    assert body["district"] == DISTRICT and body["categories"] == ["salon"]
    # §4 makes the basis optional: a warning, not a refusal
    assert any(w["field"] == "basis" for w in body["warnings"])
    assert (
        client.get("/api/v1/needs/API-0001", headers=own).get_json()["text"] == "おしゃべりしたい"
    )
    assert [n["id"] for n in client.get("/api/v1/needs", headers=own).get_json()] == ["API-0001"]
    matches = client.get("/api/v1/needs/API-0001/matches?on=2026-12-01", headers=own).get_json()
    assert matches["need"] == "API-0001" and not matches["unmet"]
    top = matches["matches"][0]
    assert top["resource"] == SALON and top["reasons"] and top["status"] == "proposed"
    english = client.get("/api/v1/needs/API-0001/matches?lang=en", headers=own).get_json()
    assert "in the served district" in " ".join(english["matches"][0]["reasons"])
    again = client.post("/api/v1/needs", json=NEED, headers=own)
    assert again.status_code == 409 and again.get_json()["error"] == "conflict"


def test_statuses_are_recorded_with_the_pages_rules(town: Town, api: Any) -> None:  # noqa: F811
    client, own, _other = api
    client.post("/api/v1/needs", json=NEED, headers=own)
    path = f"/api/v1/needs/API-0001/matches/{SALON}"
    ok = client.post(path, json={"status": "contacted", "note": "電話した"}, headers=own)
    assert ok.status_code == 200 and ok.get_json()["status"] == "contacted"
    assert client.post(path, json={"status": "ended"}, headers=own).status_code == 409
    assert client.post(path, json={"status": "maybe"}, headers=own).status_code == 422
    assert client.post(path, json={"note": "x"}, headers=own).status_code == 422
    assert (
        client.post(path, json={"status": "connected", "on": "soon"}, headers=own).status_code
        == 422
    )
    assert client.post(path, json={"status": "connected"}, headers=own).status_code == 200
    missing = client.post(
        "/api/v1/needs/API-0001/matches/R-NONE", json={"status": "contacted"}, headers=own
    )
    assert missing.status_code == 404
    body = client.get("/api/v1/needs/API-0001", headers=own).get_json()
    assert body["status"] == "matched"
    assert body["referrals"] == [{"resource": SALON, "status": "connected", "note": "電話した"}]
    assert [e["status"] for e in body["timeline"]] == ["connected", "contacted", "recorded"]
    matches = client.get("/api/v1/needs/API-0001/matches", headers=own).get_json()
    assert matches["matches"][0]["status"] == "connected"
    with transaction(town.engine) as s:
        need = s.scalars(select(Need).where(Need.external_id == "API-0001")).one()
        assert len(list(s.scalars(select(MatchEvent).where(MatchEvent.need_id == need.id)))) == 3


def test_another_areas_need_is_404_and_its_district_is_refused(town: Town, api: Any) -> None:  # noqa: F811
    client, own, other = api
    client.post("/api/v1/needs", json=NEED, headers=own)
    for path in ("/api/v1/needs/API-0001", "/api/v1/needs/API-0001/matches"):
        response = client.get(path, headers=other)
        assert response.status_code == 404
        assert response.get_json()["error"] == "not_found"
        assert "おしゃべり" not in response.get_data(as_text=True)
    response = client.post(
        f"/api/v1/needs/API-0001/matches/{SALON}", json={"status": "contacted"}, headers=other
    )
    assert response.status_code == 404
    assert client.get("/api/v1/needs", headers=other).get_json() == []
    refused = client.post("/api/v1/needs", json={**NEED, "id": "API-0002"}, headers=other)
    assert refused.status_code == 403 and refused.get_json()["error"] == "forbidden"
    outcomes = {(e.actor, e.action, e.outcome) for e in events(town.engine)}
    assert ("neighbour", "read", "not_found") in outcomes
    assert ("neighbour", "create", "denied") in outcomes


def test_bad_input_is_a_clear_json_error(town: Town, api: Any) -> None:  # noqa: F811
    client, own, _other = api
    assert client.get("/api/v1/needs").status_code == 401
    assert (
        client.post(
            "/api/v1/needs", data="[1, 2]", headers=own, content_type="application/json"
        ).status_code
        == 400
    )
    invalid = client.post("/api/v1/needs", json={**NEED, "age": "old", "time": "朝"}, headers=own)
    assert invalid.status_code == 422
    body = invalid.get_json()
    assert body["error"] == "invalid" and {p["field"] for p in body["problems"]} == {"age", "time"}
    assert all("old" not in p["reason"] for p in body["problems"])  # never the value
    generated = client.post(
        "/api/v1/needs", json={k: v for k, v in NEED.items() if k != "id"}, headers=own
    )
    assert generated.status_code == 201 and generated.get_json()["id"].startswith("W-")
    bad_on = client.get("/api/v1/needs/API-0001/matches?on=tomorrow", headers=own)
    assert bad_on.status_code in (400, 404)
    assert (
        client.get(f"{generated.headers['Location']}/matches?top=0", headers=own).status_code == 400
    )


def test_the_openapi_document_lists_the_needs_operations(town: Town) -> None:  # noqa: F811
    doc = town.app.test_client().get("/api/v1/openapi.json").get_json()
    assert {"get", "post"} <= set(doc["paths"]["/needs"])
    assert "get" in doc["paths"]["/needs/{id}"] and "get" in doc["paths"]["/needs/{id}/matches"]
    post = doc["paths"]["/needs/{id}/matches/{resource}"]["post"]
    assert {"404", "409", "422"} <= set(post["responses"])
    statuses = doc["components"]["schemas"]["Referral"]["properties"]["status"]["enum"]
    assert {"contacted", "connected", "unreachable", "ended"} <= set(statuses)

"""The resource API: search and one resource (public ones for anonymous callers), PATCH with
If-Match (409 on a stale version, nothing written), errors as {"error", "message"}, and the
OpenAPI document."""

from __future__ import annotations

import pytest
from flask import Flask
from resourcehelpers import OWN_RESOURCE, PAUSED_RESOURCE, PRIVATE_RESOURCE, Town, town_accounts
from sqlalchemy import Engine

from web import accounts
from web.actors import system_actor
from web.db import get_db


@pytest.fixture
def town(demo_town: Engine, app: Flask) -> Town:
    return town_accounts(app)


def token(town: Town, login: str) -> dict[str, str]:
    with town.app.app_context(), get_db().write() as s:
        secret = accounts.issue_token(s, system_actor("test"), login)
    return {"Authorization": f"Bearer {secret}"}


def ids(body: dict) -> list[str]:  # type: ignore[type-arg]
    return [r["id"] for r in body["resources"]]


def test_search_forgives_and_counts_like_the_page(town: Town) -> None:
    client = town.app.test_client()
    body = client.get("/api/v1/resources?q=さろん&per_page=100").get_json()
    assert OWN_RESOURCE in ids(body)
    assert body["total"] == len(body["resources"])
    salon = next(v for v in body["facets"]["category"] if v["value"] == "salon")
    filtered = client.get("/api/v1/resources?q=さろん&category=salon&per_page=100").get_json()
    assert filtered["total"] == salon["count"]
    typo = client.get("/api/v1/resources?q=ぼらんてあ").get_json()
    assert typo["total"] > 0 and all("ボランティア" in r["name"] for r in typo["resources"][:3])
    first = body["resources"][ids(body).index(OWN_RESOURCE)]
    assert first["phone"] == "0229-00-2001" and "第2・第4木曜" in first["schedule"]


def test_anonymous_callers_get_public_active_resources_only(town: Town) -> None:
    anonymous = town.app.test_client()
    script = token(town, "viewer")
    for resource, query in ((PRIVATE_RESOURCE, "見守りネットワーク"), (PAUSED_RESOURCE, "広原")):
        assert resource not in ids(anonymous.get(f"/api/v1/resources?q={query}").get_json())
        assert resource in ids(
            anonymous.get(f"/api/v1/resources?q={query}", headers=script).get_json()
        )
        missing = anonymous.get(f"/api/v1/resources/{resource}")
        assert missing.status_code == 404
        assert set(missing.get_json()) == {"error", "message"}
        assert anonymous.get(f"/api/v1/resources/{resource}", headers=script).status_code == 200


def test_one_resource_has_its_schedule_in_words_and_as_rrules(town: Town) -> None:
    response = town.app.test_client().get(f"/api/v1/resources/{OWN_RESOURCE}")
    assert response.status_code == 200
    body = response.get_json()
    assert response.headers["ETag"] == f'"{body["version"]}"'
    assert "第2・第4木曜" in body["schedule"]["words"]
    assert body["schedule"]["rrules"][0]["rrule"] == "FREQ=MONTHLY;BYDAY=2TH,4TH"
    assert body["schedule"]["rrules"][0]["start_time"] == "10:00"
    assert len(body["schedule"]["next_dates"]) == 5
    assert "notes" not in body["fields"]  # staff notes are not public


def test_patch_with_if_match_saves_and_a_stale_one_is_409_with_nothing_written(town: Town) -> None:
    client = town.app.test_client()
    script = token(town, "coord")
    version = client.get(f"/api/v1/resources/{OWN_RESOURCE}").get_json()["version"]
    ok = client.patch(
        f"/api/v1/resources/{OWN_RESOURCE}",
        json={"fee": "1回200円", "vacancy": "残り2"},
        headers=script | {"If-Match": f'"{version}"'},
    )
    assert ok.status_code == 200
    assert ok.headers["ETag"] == f'"{version + 1}"'
    assert ok.get_json()["fields"]["fee"] == "1回200円"
    stored = town.resource(OWN_RESOURCE)
    assert stored.seats_left == 2 and stored.accepts_new is True
    stale = client.patch(
        f"/api/v1/resources/{OWN_RESOURCE}",
        json={"fee": "無料"},
        headers=script | {"If-Match": str(version)},
    )
    assert stale.status_code == 409
    body = stale.get_json()
    assert body["error"] == "conflict" and body["current_version"] == version + 1
    assert body["current"]["fee"] == "1回200円"
    assert town.resource(OWN_RESOURCE).fee == "1回200円"
    (change,) = town.history(OWN_RESOURCE)
    assert change.changed_by == "coord"
    assert set(change.changes) == {"fee", "vacancy"}


@pytest.mark.parametrize(
    ("who", "headers", "body", "status", "code"),
    [
        (None, {"If-Match": "1"}, {"fee": "無料"}, 401, "unauthorized"),
        ("nobody", {"If-Match": "1"}, {"fee": "無料"}, 401, "unauthorized"),
        ("other", {"If-Match": "1"}, {"fee": "無料"}, 403, "forbidden"),
        ("viewer", {"If-Match": "1"}, {"fee": "無料"}, 403, "forbidden"),
        ("coord", {}, {"fee": "無料"}, 400, "if_match_required"),
        ("coord", {"If-Match": "1"}, {"capacity": "たくさん"}, 422, "invalid"),
        ("coord", {"If-Match": "1"}, {"colour": "red"}, 422, "invalid"),
        ("coord", {"If-Match": "1"}, {"external_id": "R-999"}, 422, "invalid"),
        ("coord", {"If-Match": "1"}, ["fee"], 400, "bad_request"),
    ],
)
def test_patch_refusals_are_json_errors_and_change_nothing(
    town: Town,
    who: str | None,
    headers: dict[str, str],
    body: object,
    status: int,
    code: str,
) -> None:
    client = town.app.test_client()
    if who == "nobody":  # a program with neither token nor cookie
        auth = {}
    elif who:
        auth = token(town, who)
    else:  # a browser session without sign-in (with its CSRF token): 401, not a CSRF error
        from webhelpers import csrf_token

        auth = {"X-CSRFToken": csrf_token(client, "/login")}
    response = client.patch(f"/api/v1/resources/{OWN_RESOURCE}", json=body, headers=auth | headers)
    assert response.status_code == status
    payload = response.get_json()
    assert payload["error"] == code and payload["message"]
    assert town.resource(OWN_RESOURCE).version == 1
    assert town.history(OWN_RESOURCE) == []


def test_bad_search_parameters_are_400_json(town: Town) -> None:
    client = town.app.test_client()
    for query in ("category=ぱそこん", "open_on=tomorrow", "per_page=1000", "weekday=xx"):
        response = client.get(f"/api/v1/resources?{query}")
        assert response.status_code == 400, query
        assert response.get_json()["error"] == "bad_request"


def test_the_openapi_document_lists_the_resource_operations(town: Town) -> None:
    doc = town.app.test_client().get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    assert {"get"} <= set(doc["paths"]["/resources"])
    assert {"get", "patch"} <= set(doc["paths"]["/resources/{id}"])
    patch = doc["paths"]["/resources/{id}"]["patch"]
    assert "409" in patch["responses"] and patch["parameters"][0]["name"] == "If-Match"
    assert doc["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    # every $ref points at a schema that exists
    import json
    import re

    refs = set(re.findall(r'"#/components/schemas/([A-Za-z]+)"', json.dumps(doc)))
    assert refs <= set(doc["components"]["schemas"])

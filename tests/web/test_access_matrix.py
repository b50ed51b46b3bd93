"""Deny by default, proven: every route × every kind of caller (issue 10 point 8).

A route added to the app without a row here fails :func:`test_every_route_is_in_the_matrix`,
so nobody can add a page without deciding who may see it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from webhelpers import add_account, area_codes, csrf_token, sign_in

from directory.db import transaction
from directory.demo import SEEDS_DIR, demo_manifest, load_demo
from matching.models import Need
from web.actors import NeedAreas
from web.services import NotFoundForActor
from web.services import match as match_service

CALLERS = ("anonymous", "viewer", "tier2_own", "tier2_other", "tier1", "admin")
ALL_OK = dict.fromkeys(CALLERS, 200)
EDITORS = dict.fromkeys(CALLERS, 403) | {"anonymous": 302}  # + what editors get


@dataclass(frozen=True)
class Cell:
    method: str
    url: Callable[[str], str]  # area code → URL
    expected: dict[str, int]
    form: bool = False  # POST with a valid CSRF token


_SEE_NEEDS = ("tier2_own", "tier2_other", "tier1", "admin")


def _own_see(status: int) -> dict[str, int]:
    return dict.fromkeys(("tier2_own", "tier1", "admin"), status)


NEED_STAFF = {"anonymous": 302, "viewer": 403, "tier2_own": 200, "tier2_other": 200}
NEED_STAFF |= {"tier1": 200, "admin": 200}
OWN_NEED = NEED_STAFF | {"tier2_other": 404}
API_STAFF = NEED_STAFF | {"anonymous": 401}
API_OWN_NEED = OWN_NEED | {"anonymous": 401}
_N = "/needs/N-OWN"
_NEEDS: dict[str, list[Cell]] = {
    "needs.index": [Cell("GET", lambda a: "/needs/?state=unmet", NEED_STAFF)],
    "needs.new": [
        Cell("GET", lambda a: "/needs/new", NEED_STAFF),
        # an empty form: every field error, nothing written
        Cell(
            "POST", lambda a: "/needs/new", NEED_STAFF | dict.fromkeys(_SEE_NEEDS, 422), form=True
        ),
    ],
    "needs.show": [Cell("GET", lambda a: _N, OWN_NEED)],
    "needs.map_page": [Cell("GET", lambda a: f"{_N}/map", OWN_NEED)],
    "needs.resident_list": [Cell("GET", lambda a: f"{_N}/list", OWN_NEED)],
    "needs.resident_pdf": [Cell("GET", lambda a: f"{_N}/list.pdf?r=R-002", OWN_NEED)],
    # no status: refused after the area check (400), nothing written
    "needs.referral": [
        Cell("POST", lambda a: f"{_N}/matches/R-002", OWN_NEED | _own_see(400), form=True)
    ],
    # each caller closes the need, then opens it again
    "needs.close": [Cell("POST", lambda a: f"{_N}/close", OWN_NEED | _own_see(303), form=True)],
    "needs.reopen": [Cell("POST", lambda a: f"{_N}/reopen", OWN_NEED | _own_see(303), form=True)],
    "api_needs.needs": [Cell("GET", lambda a: "/api/v1/needs", API_STAFF)],
    # a form, not a §4 JSON object: 400 after the permission check
    "api_needs.create": [
        Cell(
            "POST", lambda a: "/api/v1/needs", API_STAFF | dict.fromkeys(_SEE_NEEDS, 400), form=True
        )
    ],
    "api_needs.need": [Cell("GET", lambda a: "/api/v1/needs/N-OWN", API_OWN_NEED)],
    "api_needs.matches": [Cell("GET", lambda a: "/api/v1/needs/N-OWN/matches", API_OWN_NEED)],
    "api_needs.referral": [
        Cell(
            "POST",
            lambda a: "/api/v1/needs/N-OWN/matches/R-002",
            API_OWN_NEED | _own_see(422),
            form=True,
        )
    ],
}


# unmet needs: counts of the caller's own areas (tier 2), everything (tier 1, admin);
# another area's drill-down is not found. Public maps: anyone, no sign-in.
_COUNTS = {"anonymous": 302, "viewer": 403} | dict.fromkeys(
    ("tier2_own", "tier2_other", "tier1", "admin"), 200
)
_UNMET_AND_PUBLIC: dict[str, list[Cell]] = {
    "unmet.index": [
        Cell("GET", lambda a: "/unmet?level=area&fy=2024", _COUNTS),
        Cell("GET", lambda a: f"/unmet?level=district&area={a}", _COUNTS | {"tier2_other": 404}),
    ],
    "unmet.csv_download": [Cell("GET", lambda a: "/unmet.csv?fy=2024&month=6", _COUNTS)],
    "unmet.xlsx_download": [
        Cell("GET", lambda a: f"/unmet.xlsx?area={a}&public=1", _COUNTS | {"tier2_other": 404})
    ],
    "unmet.map_page": [Cell("GET", lambda a: "/unmet/map?public=1", _COUNTS)],
    "api_unmet.unmet": [
        Cell("GET", lambda a: "/api/v1/unmet?level=area&fy=2024", _COUNTS | {"anonymous": 401})
    ],
    "public.municipality": [Cell("GET", lambda a: "/public/04445", ALL_OK)],
    "public.area": [Cell("GET", lambda a: f"/public/04445/{a}", ALL_OK)],
    "public.municipality_pdf": [Cell("GET", lambda a: "/public/04445.pdf?paper=A3", ALL_OK)],
    "public.area_pdf": [Cell("GET", lambda a: f"/public/04445/{a}.pdf", ALL_OK)],
}

# reports: counts per area, tier 2 their own areas (another area's is not found)
_REPORTS: dict[str, list[Cell]] = {
    "reports.index": [
        Cell("GET", lambda a: "/reports?fy=2024", _COUNTS),
        Cell("GET", lambda a: f"/reports?fy=2024&area={a}", _COUNTS | {"tier2_other": 404}),
    ],
    "reports.xlsx": [
        Cell(
            "GET",
            lambda a: f"/reports.xlsx?fy=2024&month=6&area={a}",
            _COUNTS | {"tier2_other": 404},
        )
    ],
}

# verification rounds: the call sheet for staff; confirming for those who may edit it
_STAFF = {"anonymous": 302, "viewer": 403} | dict.fromkeys(
    ("tier2_own", "tier2_other", "tier1", "admin"), 200
)
_VERIFICATION: dict[str, list[Cell]] = {
    "verification.index": [
        Cell("GET", lambda a: "/verification?days=0", _STAFF),
        Cell("GET", lambda a: f"/verification?area={a}", _STAFF),
    ],
    "verification.sheet_csv": [Cell("GET", lambda a: "/verification.csv?days=30", _STAFF)],
    "verification.confirm": [
        Cell(
            "POST",
            lambda a: "/verification/R-001/confirm",
            EDITORS | {"tier2_own": 303, "tier1": 303, "admin": 303},
            form=True,
        )
    ],
    "verification.import_sheet": [
        Cell(
            "POST",
            lambda a: "/verification/import",
            _STAFF | dict.fromkeys(("tier2_own", "tier2_other", "tier1", "admin"), 400),
            form=True,
        )
    ],
}

# likely duplicates: staff see the pairs they may merge; merging needs both to be theirs.
# lie in the own area, R-067 in a third: tier 1 merges it, and admin,
# a moment later, is told it has ended already (400: nothing merged twice)
_DUPLICATES: dict[str, list[Cell]] = {
    "duplicates.index": [Cell("GET", lambda a: "/resources/duplicates", _STAFF)],
    "duplicates.merge": [
        Cell(
            "GET",
            lambda a: "/resources/duplicates/merge?keep=R-001&drop=R-002",
            EDITORS | {"tier2_own": 200, "tier1": 200, "admin": 200},
        ),
        Cell(
            "POST",
            lambda a: "/resources/duplicates/merge?keep=R-001&drop=R-067",
            EDITORS | {"tier1": 303, "admin": 400},
            form=True,
        ),
    ],
}


MATRIX: dict[str, list[Cell]] = {
    "static": [Cell("GET", lambda a: "/static/tsunagu.css", ALL_OK)],
    "auth.login": [
        Cell("GET", lambda a: "/login", dict.fromkeys(CALLERS, 302) | {"anonymous": 200}),
        Cell("POST", lambda a: "/login", ALL_OK, form=True),  # wrong password: 200 + message
    ],
    "auth.enrol": [Cell("GET", lambda a: "/login/second-factor", dict.fromkeys(CALLERS, 302))],
    "auth.logout": [
        Cell(
            "POST", lambda a: "/logout", dict.fromkeys(CALLERS, 303) | {"anonymous": 302}, form=True
        )
    ],
    "directory.index": [Cell("GET", lambda a: "/", ALL_OK)],
    "maps.index": [Cell("GET", lambda a: "/maps/", ALL_OK)],
    "maps.resident": [Cell("GET", lambda a: f"/maps/resident?area={a}", ALL_OK)],
    "maps.coordinator": [
        Cell(
            "GET",
            lambda a: f"/maps/coordinator?area={a}",
            ALL_OK | {"anonymous": 302, "viewer": 403},
        ),
        Cell("GET", lambda a: "/maps/coordinator", ALL_OK | {"anonymous": 302, "viewer": 403}),
    ],
    # resources: R-001 serves the first area (own); a form post without `version` is a
    # stale edit for whoever may edit (409, nothing written)
    "resources.search_page": [
        Cell("GET", lambda a: "/resources?q=さろん", ALL_OK),
        Cell("GET", lambda a: f"/resources?area={a}&weekday=火", ALL_OK),
    ],
    "resources.detail": [Cell("GET", lambda a: "/resources/R-001", ALL_OK)],
    "resources.edit": [
        Cell(
            "GET",
            lambda a: "/resources/R-001/edit",
            EDITORS | {"tier2_own": 200, "tier1": 200, "admin": 200},
        ),
        Cell(
            "POST",
            lambda a: "/resources/R-001/edit",
            EDITORS | {"tier2_own": 409, "tier1": 409, "admin": 409},
            form=True,
        ),
    ],
    "resources.confirm": [
        Cell(
            "POST",
            lambda a: "/resources/R-001/confirm",
            EDITORS | {"tier2_own": 409, "tier1": 409, "admin": 409},
            form=True,
        ),
    ],
    "resources.new": [
        Cell("GET", lambda a: "/resources/new", ALL_OK | {"anonymous": 302, "viewer": 403})
    ],
    "resources.upload": [
        Cell("GET", lambda a: "/resources/import", EDITORS | {"tier1": 200, "admin": 200}),
    ],
    "resources.upload_step": [
        Cell(
            "POST",
            lambda a: "/resources/import/no-such-upload",
            EDITORS | {"tier1": 404, "admin": 404},
            form=True,
        ),
    ],
    "api.openapi": [Cell("GET", lambda a: "/api/v1/openapi.json", ALL_OK)],
    "api.resources": [Cell("GET", lambda a: "/api/v1/resources?q=ごみだし", ALL_OK)],
    "api.resource": [Cell("GET", lambda a: "/api/v1/resources/R-001", ALL_OK)],
    "api.update_resource": [
        # no If-Match: refused after the permission check (400), nothing written
        Cell(
            "PATCH",
            lambda a: "/api/v1/resources/R-001",
            EDITORS | {"anonymous": 401, "tier2_own": 400, "tier1": 400, "admin": 400},
            form=True,
        ),
    ],
    **_UNMET_AND_PUBLIC,
    **_REPORTS,
    **_VERIFICATION,
    # needs: N-OWN lies in the first area (own); tier2_other gets 404 as for no need at all
    **_NEEDS,
    **_DUPLICATES,
}


def test_every_route_is_in_the_matrix(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints - set(MATRIX) == set(), "routes with no access rule in the matrix"
    assert set(MATRIX) - endpoints == set(), "matrix rows for routes that no longer exist"


@pytest.fixture
def town(engine: Engine, app: Flask) -> Flask:
    from matching.needs import parse_needs, save_needs

    with transaction(engine) as s:
        load_demo(s)
        # N-OWN: a need in the first area (04445-A1, 字町裏), for the needs rows
        parsed, errors, _ = parse_needs(
            s, [{"id": "N-OWN", "district": "04445011003", "categories": ["サロン"]}]
        )
        assert not errors
        save_needs(s, parsed)
    return app


def test_the_matrix(town: Flask) -> None:
    own, other = area_codes(town)[:2]
    accounts = {
        caller: add_account(
            town,
            caller,
            caller.split("_")[0],
            {"tier2_own": (own,), "tier2_other": (other,)}.get(caller, ()),
        )
        for caller in CALLERS
        if caller != "anonymous"
    }
    failures = []
    for caller in CALLERS:
        for endpoint, cells in MATRIX.items():
            for cell in cells:
                client = town.test_client()  # a fresh sign-in per cell: logout ends sessions
                if caller in accounts:
                    assert sign_in(client, accounts[caller]).status_code == 303  # type: ignore[attr-defined]
                url = cell.url(own)
                if cell.method == "GET":
                    response = client.get(url)
                else:
                    data = {
                        "csrf_token": csrf_token(client, "/login" if caller == "anonymous" else "/")
                    }
                    if endpoint == "auth.login":
                        data |= {"login": "nobody", "password": "wrong-password-here"}
                    response = client.open(url, method=cell.method, data=data)
                if response.status_code != cell.expected[caller]:
                    failures.append(
                        (
                            endpoint,
                            cell.method,
                            url,
                            caller,
                            response.status_code,
                            cell.expected[caller],
                        )
                    )
                # every response carries the security headers
                assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
                assert response.headers["X-Content-Type-Options"] == "nosniff"
                response.close()
    assert failures == []


def test_unknown_paths_are_404_for_everyone_and_say_nothing(town: Flask) -> None:
    client = town.test_client()
    for path in (
        "/needs/N-0001/nothing",
        "/api/v1/nothing",
        "/admin",
        "/maps/coordinator/../../etc",
    ):
        response = client.get(path)
        assert response.status_code == 404, path


CANARY = "CANARY-7f3a-健康状態"


@pytest.fixture
def planted(town: Flask, engine: Engine, cli, tmp_path) -> tuple[Flask, str, list[str]]:  # type: ignore[no-untyped-def]
    """The demo needs, with a canary in every intake text; returns (app, own area, ids of
    needs in other areas)."""
    import json

    items = json.loads((SEEDS_DIR / demo_manifest()["needs"]).read_text(encoding="utf-8"))
    for item in items:
        item["text"] = f"{item.get('text', '')} {CANARY}"
    path = tmp_path / "needs.json"
    path.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    assert cli("import", "needs", path).exit_code == 0
    own = area_codes(town)[0]
    with transaction(engine) as s:
        areas = NeedAreas(s)
        from directory.models import District

        own_id = s.scalar(select(District.id).where(District.code == own))
        others = [
            n.external_id for n in s.scalars(select(Need)) if areas.area_of(n.district_id) != own_id
        ]
    return town, own, others


def test_needs_of_another_area_are_not_found_and_nothing_leaks(planted, cli) -> None:  # type: ignore[no-untyped-def]
    app, own, others = planted
    add_account(app, "coord", "tier2", (own,))
    from web.accounts import actor_for, find_user
    from web.db import get_db

    with app.app_context(), get_db().read() as s:
        user = find_user(s, "coord")
        assert user is not None
        actor = actor_for(user)

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(st.sampled_from(others), min_size=1, max_size=3, unique=True))
    def attempt(ids: list[str]) -> None:
        with app.app_context():
            with pytest.raises(NotFoundForActor) as caught:
                match_service(get_db(), actor, ids, on=__import__("datetime").date(2026, 12, 1))
            assert CANARY not in str(caught.value)
        result = cli("match", "--as", "coord", *[a for i in ids for a in ("--need", i)])
        assert result.exit_code == 1
        assert CANARY not in result.stdout + result.stderr

    attempt()

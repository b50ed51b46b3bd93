"""Keeping resources true: edits with optimistic locking, history, audit, 「本日確認」, who may
edit (tier 2 of an area the resource serves, tier 1, admin; never a viewer), new resources."""

from __future__ import annotations

import re

import pytest
from flask import Flask
from resourcehelpers import OWN_RESOURCE, Town, form_of, town_accounts
from sqlalchemy import Engine

from directory import state
from web.db import get_db
from web.resource_service import today_in_japan

EDIT = f"/resources/{OWN_RESOURCE}/edit"


@pytest.fixture
def town(demo_town: Engine, app: Flask) -> Town:
    return town_accounts(app)


def directory_version(town: Town) -> int:
    with town.app.app_context(), get_db().read() as s:
        return state.current(s)


def test_an_edit_saves_bumps_the_version_and_is_kept_in_history_and_audit(town: Town) -> None:
    client = town.client("coord")
    before = town.resource(OWN_RESOURCE)
    seen = directory_version(town)
    form = form_of(client, EDIT)
    assert form["name"] == before.name and form["version"] == str(before.version)
    form["name"] = "赤塚ふれあいサロン「ひなた」（架空）"
    form["phone"] = "0229-00-9999"
    response = client.post(EDIT, data=form)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/resources/{OWN_RESOURCE}?saved=1")
    after = town.resource(OWN_RESOURCE)
    assert after.name == "赤塚ふれあいサロン「ひなた」（架空）" and after.phone == "0229-00-9999"
    assert after.version == before.version + 1
    assert directory_version(town) == seen + 1  # matching and search see it …
    with town.app.app_context(), get_db().read() as s:
        assert state.changed_since(s, seen, seen + 1) == {after.id}  # … and re-read just it
    (change,) = town.history(OWN_RESOURCE)
    assert change.changed_by == "coord" and change.action == "update"
    assert change.version == after.version
    assert change.changes == {
        "name": [before.name, after.name],
        "phone": [before.phone or "", "0229-00-9999"],
    }
    assert ("coord", "update", "ok", "fields=name,phone") in town.audit(OWN_RESOURCE)
    page = client.get(f"/resources/{OWN_RESOURCE}").get_data(as_text=True)
    assert "coord" in page and "0229-00-9999" in page  # the history on the page


def test_a_stale_version_is_409_with_both_versions_and_nothing_overwritten(town: Town) -> None:
    first, second = town.client("coord"), town.client("tier1")
    form_a = form_of(first, EDIT)
    form_b = form_of(second, EDIT)  # both opened the same version
    form_a["fee"] = "1回150円"
    assert first.post(EDIT, data=form_a).status_code == 303
    form_b["fee"] = "無料（Bの編集）"
    response = second.post(EDIT, data=form_b)
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "無料（Bの編集）" in page and "1回150円" in page  # yours and the saved one
    assert re.search(r'<tr class="differs">\s*<th scope="row">[^<]*<span', page)
    # only the field the two edits changed is marked: the form's text and the stored
    # values compare in one shape (district codes, 公開, lists)
    assert len(re.findall(r'<tr class="differs">', page)) == 1
    stored = town.resource(OWN_RESOURCE)
    assert stored.fee == "1回150円"  # the first edit stands
    assert len(town.history(OWN_RESOURCE)) == 1
    assert ("tier1", "update", "failed", "stale_version") in town.audit(OWN_RESOURCE)


def test_nothing_changed_keeps_the_version_and_writes_no_history(town: Town) -> None:
    client = town.client("coord")
    before = town.resource(OWN_RESOURCE)
    response = client.post(EDIT, data=form_of(client, EDIT))
    assert response.status_code == 303 and response.headers["Location"].endswith("saved=0")
    assert town.resource(OWN_RESOURCE).version == before.version
    assert town.history(OWN_RESOURCE) == []


@pytest.mark.parametrize(("who", "status"), [("other", 403), ("viewer", 403)])
def test_who_may_not_edit_is_refused_audited_and_changes_nothing(
    town: Town, who: str, status: int
) -> None:
    editor = town.client("coord")
    form = form_of(editor, EDIT)
    form["name"] = "書き換えられた名前"
    client = town.client(who)
    assert client.get(EDIT).status_code == status
    from webhelpers import csrf_token

    form["csrf_token"] = csrf_token(client, "/")
    assert client.post(EDIT, data=form).status_code == status
    assert (
        client.post(
            f"/resources/{OWN_RESOURCE}/confirm",
            data={"csrf_token": form["csrf_token"], "version": form["version"]},
        ).status_code
        == status
    )
    assert town.resource(OWN_RESOURCE).name != "書き換えられた名前"
    assert (who, "update", "denied", None) in town.audit(OWN_RESOURCE)
    # no edit or confirm button on the page for them
    page = client.get(f"/resources/{OWN_RESOURCE}").get_data(as_text=True)
    assert "/edit" not in page and "/confirm" not in page


@pytest.mark.parametrize("who", ["coord", "tier1", "admin"])
def test_tier2_of_the_area_tier1_and_admin_may_edit(town: Town, who: str) -> None:
    client = town.client(who)
    form = form_of(client, EDIT)
    form["notes"] = f"{who} が確認"
    assert client.post(EDIT, data=form).status_code == 303
    assert town.resource(OWN_RESOURCE).notes == f"{who} が確認"


def test_confirmed_today_in_one_click(town: Town) -> None:
    client = town.client("coord")
    page = client.get(f"/resources/{OWN_RESOURCE}").get_data(as_text=True)
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version and "本日確認" in page
    from webhelpers import csrf_token

    response = client.post(
        f"/resources/{OWN_RESOURCE}/confirm",
        data={"csrf_token": csrf_token(client, "/"), "version": version[1]},
    )
    assert response.status_code == 303
    assert town.resource(OWN_RESOURCE).last_verified_on == today_in_japan()
    (change,) = town.history(OWN_RESOURCE)
    assert change.action == "confirm"
    assert change.changes["last_verified_on"][1] == today_in_japan().isoformat()
    assert ("coord", "update", "ok", "confirmed") in town.audit(OWN_RESOURCE)


def test_bad_values_are_named_per_field_and_nothing_is_saved(town: Town) -> None:
    client = town.client("coord")
    before = town.resource(OWN_RESOURCE)
    form = form_of(client, EDIT)
    form |= {"name": "", "capacity": "たくさん", "lat": "95", "lon": "140.1", "categories": []}
    response = client.post(EDIT, data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'class="error-summary" role="alert"' in page
    for field in ("name", "capacity", "lat", "categories"):
        assert f'href="#f-{field}"' in page, field
    assert 'aria-invalid="true"' in page
    after = town.resource(OWN_RESOURCE)
    assert after.version == before.version and after.name == before.name


def test_a_new_schedule_is_read_again_and_shown_in_words(town: Town) -> None:
    client = town.client("coord")
    form = form_of(client, EDIT)
    form |= {
        "schedule_days": "",
        "schedule_start": "13:30",
        "schedule_end": "15:00",
        "schedule_note": "毎月第1月曜 祝日休み",
    }
    assert client.post(EDIT, data=form).status_code == 303
    page = client.get(f"/resources/{OWN_RESOURCE}").get_data(as_text=True)
    assert "第1月曜" in page and "13:30" in page
    assert re.search(r'<ul class="next-dates">(\s*<li>[^<]+</li>){5}', page)


def test_venue_and_organisation_are_edited_with_the_resource(town: Town) -> None:
    client = town.client("coord")
    form = form_of(client, EDIT)
    form |= {"organization": "赤塚サロンの会（架空）", "organization_phone": "0229-00-1234"}
    form |= {"venue_name": "赤塚集会所（架空）", "venue_lat": "38.5489", "venue_lon": "140.8781"}
    assert client.post(EDIT, data=form).status_code == 303
    stored = form_of(client, EDIT)
    assert stored["organization"] == "赤塚サロンの会（架空）"
    assert stored["organization_phone"] == "0229-00-1234"
    assert stored["venue_name"] == "赤塚集会所（架空）"
    (change,) = town.history(OWN_RESOURCE)
    assert {"organization", "organization_phone", "venue_name"} <= set(change.changes)


def test_a_tier2_coordinator_adds_a_resource_in_their_area_only(town: Town) -> None:
    client = town.client("coord")
    form = form_of(client, "/resources/new")
    form |= {
        "external_id": "R-900",
        "name": "赤塚おしゃべり会（架空）",
        "categories": ["salon"],
        "districts": "04445001009",
        "schedule_days": "水",
        "schedule_start": "10:00",
        "schedule_end": "11:30",
    }
    response = client.post("/resources/new", data=form)
    assert response.status_code == 303
    created = town.resource("R-900")
    assert created.name == "赤塚おしゃべり会（架空）" and created.version == 1
    (change,) = town.history("R-900")
    assert change.action == "create" and change.changed_by == "coord"
    assert ("coord", "create", "ok", "created") in town.audit("R-900")
    assert change.changes["name"] == [None, "赤塚おしゃべり会（架空）"]
    assert "url" not in change.changes  # empty fields are not listed
    # the same in another coordinator's area is refused, and nothing is added
    other = town.client("other")
    form = form_of(other, "/resources/new")
    form |= {
        "external_id": "R-901",
        "name": "よそのサロン",
        "categories": ["salon"],
        "districts": "04445001009",
    }
    assert other.post("/resources/new", data=form).status_code == 403
    with pytest.raises(Exception):  # noqa: B017 - no such row
        town.resource("R-901")
    # an ID already in use is a field error
    form = form_of(client, "/resources/new")
    form |= {
        "external_id": OWN_RESOURCE,
        "name": "重複",
        "categories": ["salon"],
        "districts": "04445001009",
    }
    response = client.post("/resources/new", data=form)
    assert response.status_code == 422 and 'href="#f-external_id"' in response.get_data(
        as_text=True
    )


def test_a_viewer_cannot_add_resources(town: Town) -> None:
    assert town.client("viewer").get("/resources/new").status_code == 403


def test_a_url_that_is_not_http_is_shown_as_text_never_as_a_link(
    town: Town, engine: Engine
) -> None:
    """Imported files may hold anything in URL: only http(s) becomes a link."""
    from sqlalchemy import update

    from directory.db import transaction
    from directory.models import Resource

    with transaction(engine) as s:
        s.execute(
            update(Resource)
            .where(Resource.external_id == OWN_RESOURCE)
            .values(url="javascript:alert(1)")
        )
    page = town.client().get(f"/resources/{OWN_RESOURCE}").get_data(as_text=True)
    assert "javascript:alert(1)" in page and 'href="javascript' not in page

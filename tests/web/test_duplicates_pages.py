"""``/resources/duplicates`` and the merge page: a coordinator sees the likely pairs they
may merge (and only those), compares the two side by side, merges, and the duplicate is
ended with its history whole; a form sent twice or by someone else changes nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask import Flask
from planting import copy_of, demo_row, import_rows, north
from resourcehelpers import OWN_RESOURCE, Town, make_town
from sqlalchemy import Engine
from webhelpers import csrf_token

PLANTED = "P-1"


@pytest.fixture
def town(engine: Engine, app: Flask, tmp_path: Path) -> Town:
    """The demo town, and R-001 entered a second time (width variants, venue 30 m away)."""
    town = make_town(engine, app)
    r1 = demo_row(OWN_RESOURCE)
    north_30 = north(float(r1["緯度"]), 30)
    copy = copy_of(r1, ID=PLANTED, 名称="赤塚ﾌﾚｱｲｻﾛﾝ", 緯度=north_30, 経度=r1["経度"])
    import_rows(engine, tmp_path, [copy])
    return town


def _pairs(page: str) -> set[tuple[str, str]]:
    return set(re.findall(r"keep=([\w-]+)&amp;drop=([\w-]+)", page))


def test_coordinators_see_the_pairs_they_may_merge(town: Town) -> None:
    page = town.client("coord").get("/resources/duplicates")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert {(PLANTED, OWN_RESOURCE), (OWN_RESOURCE, PLANTED)} <= _pairs(text)
    assert "会場の距離 30 m" in text and "赤塚ﾌﾚｱｲｻﾛﾝ" in text
    for who in ("tier1", "admin"):
        assert (PLANTED, OWN_RESOURCE) in _pairs(
            town.client(who).get("/resources/duplicates").get_data(as_text=True)
        )
    # a coordinator of another area may edit neither: nothing to show
    other = town.client("other").get("/resources/duplicates").get_data(as_text=True)
    assert _pairs(other) == set() and "重複の候補はありません" in other
    assert town.client("viewer").get("/resources/duplicates").status_code == 403
    assert town.client().get("/resources/duplicates").status_code == 302  # sign in first


def test_merge_after_seeing_both_side_by_side(town: Town) -> None:
    client = town.client("coord")
    confirm = client.get(f"/resources/duplicates/merge?keep={OWN_RESOURCE}&drop={PLANTED}")
    assert confirm.status_code == 200
    page = confirm.get_data(as_text=True)
    assert "赤塚ﾌﾚｱｲｻﾛﾝ" in page and town.resource(OWN_RESOURCE).name in page
    assert f"{PLANTED} を {OWN_RESOURCE} に統合する" in page
    form = {"keep": OWN_RESOURCE, "drop": PLANTED}
    path = "/resources/duplicates/merge"
    assert client.post(path, data=form).status_code == 400  # no CSRF token
    # another area's coordinator may not merge them, nor see the page
    other = town.client("other")
    assert other.get(f"{path}?keep={OWN_RESOURCE}&drop={PLANTED}").status_code == 403
    refused = other.post(path, data=form | {"csrf_token": csrf_token(other, "/")})
    assert refused.status_code == 403
    assert town.resource(PLANTED).status == "active"
    done = client.post(path, data=form | {"csrf_token": csrf_token(client, "/")})
    assert done.status_code == 303
    listed = client.get(done.headers["Location"]).get_data(as_text=True)
    assert f"{PLANTED} を {OWN_RESOURCE} に統合しました" in listed
    assert _pairs(listed) == set()  # the ended duplicate is no longer a candidate
    gone = town.resource(PLANTED)
    assert gone.status == "ended" and OWN_RESOURCE in (gone.notes or "")
    assert [c.action for c in town.history(OWN_RESOURCE)] == ["merge"]
    assert [c.action for c in town.history(PLANTED)][-1] == "merge"
    assert ("coord", "update", "ok", f"merged={PLANTED} referrals=0") in town.audit(OWN_RESOURCE)
    # the same form again (a double click, or a colleague a moment later): refused, says why
    again = client.post(path, data=form | {"csrf_token": csrf_token(client, "/")})
    assert again.status_code == 400
    assert "すでに終了しています" in again.get_data(as_text=True)
    assert [c.action for c in town.history(PLANTED)].count("merge") == 1


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("", 400),
        (f"keep={OWN_RESOURCE}", 400),
        (f"keep={OWN_RESOURCE}&drop={OWN_RESOURCE}", 400),
        (f"keep={OWN_RESOURCE}&drop=R-999", 404),
    ],
)
def test_bad_merge_requests_say_what_is_wrong(town: Town, query: str, status: int) -> None:
    response = town.client("tier1").get(f"/resources/duplicates/merge?{query}")
    assert response.status_code == status
    assert "Traceback" not in response.get_data(as_text=True)

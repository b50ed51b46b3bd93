"""Another municipality's data, served with accounts made from the CLI (issue 10, "How it
is checked"): anonymous visitors see none of its non-public resources and no need;
sign-out really ends the session; the audit chain verifies. Nothing here names the demo
town: codes and names come from the files."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from webhelpers import PASSWORD, Account, csrf_token, sign_in, sign_out

from directory.db import transaction
from directory.models import District, Resource
from matching.models import Need

DATA = Path(__file__).resolve().parents[1] / "data"


def _serve(cli) -> None:  # type: ignore[no-untyped-def]
    """Another town's districts, venues, resources (cp932) and needs, through the CLI."""
    town = DATA / "other_town"
    for kind, path in (
        ("districts", town / "districts.geojson"),
        ("venues", town / "venues.geojson"),
        ("resources", town / "resources_cp932.csv"),
        ("needs", DATA / "needs_other_town.json"),
    ):
        result = cli("import", kind, path)
        assert result.exit_code == 0, result.stderr


def test_another_town_served_with_cli_accounts(cli, engine: Engine, app: Flask) -> None:
    _serve(cli)
    with transaction(engine) as s:
        areas = s.scalars(select(District.code).where(District.level == "area")).all()
        hidden = [
            (r.external_id, r.name)
            for r in s.scalars(select(Resource))
            if not r.public or r.status != "active"
        ]
        shown = [r.name for r in s.scalars(select(Resource)) if r.public and r.status == "active"]
        need_ids = s.scalars(select(Need.external_id)).all()
    assert areas and hidden and shown and need_ids
    assert (
        cli(
            "user",
            "add",
            "coord1",
            "--role",
            "tier2",
            "--area",
            areas[0],
            "--password-stdin",
            input_=PASSWORD + "\n",
        ).exit_code
        == 0
    )

    anonymous = app.test_client()
    pages = [
        anonymous.get("/").get_data(as_text=True),
        anonymous.get("/maps/").get_data(as_text=True),
    ]
    pages += [anonymous.get(f"/maps/resident?area={a}").get_data(as_text=True) for a in areas]
    everything = "\n".join(pages)
    for external_id, name in hidden:
        assert f'data-resource="{external_id}"' not in everything and name not in everything
    assert any(name in everything for name in shown)
    for need in need_ids:
        assert need not in everything
    assert anonymous.get("/maps/coordinator").status_code == 302

    browser = app.test_client()
    assert sign_in(browser, Account("coord1", "tier2", (areas[0],))).status_code == 303  # type: ignore[attr-defined]
    staff_page = browser.get("/").get_data(as_text=True)
    assert any(f'data-resource="{rid}"' in staff_page for rid, _ in hidden)
    copied = browser.get_cookie("tsunagu_session")
    assert copied is not None
    sign_out(browser)
    replay = app.test_client()
    replay.set_cookie("tsunagu_session", copied.value)
    assert replay.get("/maps/coordinator").status_code == 302
    assert not any(
        f'data-resource="{rid}"' in replay.get("/").get_data(as_text=True) for rid, _ in hidden
    )

    matched = cli("match", "--as", "coord1", "--json")
    assert matched.exit_code == 0, matched.stderr
    assert json.loads(matched.stdout) is not None
    verified = cli("audit", "verify")
    assert verified.exit_code == 0, verified.stderr


def test_a_coordinator_of_another_town_finds_records_and_connects(
    cli, engine: Engine, app: Flask
) -> None:  # type: ignore[no-untyped-def]
    """Issue 12's check on another municipality's files: search forgives a whole name typed
    with a slip, a need recorded through /needs/new gets the engine's top resource on its
    page, another area's coordinator cannot open it, /public/<code> shows every published
    resource and no trace of a need, /unmet names the reasons."""
    from jaconv import kata2hira

    from directory.attributes import ATTRIBUTES
    from directory.text import normalize, reading
    from matching.reasons import unmet_label

    _serve(cli)
    with Session(engine) as s:
        municipality = s.scalars(select(District.code).where(District.level == "municipality"))
        code = next(iter(municipality))
        areas = sorted(s.scalars(select(District.code).where(District.level == "area")))
        published = {
            r.external_id: r.name
            for r in s.scalars(select(Resource))
            if r.public and r.status == "active"
        }
        need_words = [
            w for n in s.scalars(select(Need)) for w in (n.external_id, n.resident_ref, n.text) if w
        ]
        # a district of the first area that a published resource serves, and its kind
        served = next(
            (d, r)
            for r in s.scalars(select(Resource).order_by(Resource.external_id))
            if r.external_id in published and r.categories
            for d in r.districts
            if d.parent is not None and d.parent.code == areas[0]
        )
        district, resource = served[0].code, served[1]
        kind = resource.categories[0].code
        eligibility = resource.eligibility
        # the resource's name with its last character mistyped (a neighbour in the kana)
        name = resource.name
        slip = name[:-1] + chr(ord(name[-1]) + 1)
        assert normalize(slip) not in normalize(name)
    for login, area in (("coord1", areas[0]), ("coord2", areas[1])):
        added = cli(
            "user",
            "add",
            login,
            "--role",
            "tier2",
            "--area",
            area,
            "--password-stdin",
            input_=PASSWORD + "\n",
        )
        assert added.exit_code == 0, added.stderr
    browser = app.test_client()
    assert sign_in(browser, Account("coord1", "tier2", (areas[0],))).status_code == 303  # type: ignore[attr-defined]

    # forgiving search: the slip, the name's katakana written in hiragana where it has any,
    # and the whole name in hiragana, though the list gives no reading (名称_カナ empty)
    assert not resource.kana
    for query in {slip, kata2hira(name), reading(name)}:
        found = browser.get("/resources", query_string={"q": query}).get_data(as_text=True)
        assert f"/resources/{resource.external_id}" in found, query

    # record a need through the §8 form; its page ranks what the engine ranks first
    form = {
        "csrf_token": csrf_token(browser, "/needs/new"),
        "district": district,
        "categories": [kind],
        "text": "近くで参加できるところを探している",
        "age": "80",
        # the resident is one the resource is for (its 対象者 words)
        "attributes": [a for a in ATTRIBUTES if a in (eligibility or "")],
        "consent_on": "2026-11-30",
        "consent_by": "本人",
        "recorded_on": "2026-11-30",
    }
    created = browser.post("/needs/new", data=form)
    assert created.status_code == 303, created.get_data(as_text=True)[-1500:]
    need_id = created.headers["Location"].split("/needs/")[1].split("?")[0]
    page = browser.get(f"/needs/{need_id}").get_data(as_text=True)
    matched = cli("match", "--need", need_id, "--as", "coord1", "--json")
    assert matched.exit_code == 0, matched.stderr
    (result,) = json.loads(matched.stdout)
    assert result["matches"], (district, kind, resource.external_id, result)
    top = result["matches"][0]["resource"]
    assert page.index(f'action="/needs/{need_id}/matches/{top}"') == min(
        page.index(f'action="/needs/{need_id}/matches/{m["resource"]}"') for m in result["matches"]
    )
    with Session(engine) as s:
        best = s.scalars(select(Resource).where(Resource.external_id == top)).one()
        assert kind in {c.code for c in best.categories}

    # another area's coordinator: neither the page nor its printed list
    neighbour = app.test_client()
    assert sign_in(neighbour, Account("coord2", "tier2", (areas[1],))).status_code == 303  # type: ignore[attr-defined]
    assert neighbour.get(f"/needs/{need_id}").status_code in (403, 404)
    assert neighbour.get(f"/needs/{need_id}/list?r={top}").status_code in (403, 404)

    # the public map: every published resource, nothing of any need
    public = app.test_client().get(f"/public/{code}")
    assert public.status_code == 200
    shown = public.get_data(as_text=True)
    assert all(n in shown for n in published.values())
    assert not [w for w in [*need_words, need_id, form["text"]] if w in shown]

    # the unmet page names the reasons the engine gives
    unmet = cli("unmet", "--as", "coord1", "--json")
    assert unmet.exit_code == 0, unmet.stderr
    reasons = {row["reason"] for row in json.loads(unmet.stdout)}
    listed = browser.get("/unmet?fy=2024").get_data(as_text=True)
    assert reasons and all(unmet_label(r) in listed for r in reasons)

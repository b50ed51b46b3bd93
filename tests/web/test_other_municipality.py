"""Another municipality's data, served with accounts made from the CLI (issue 10, "How it
is checked"): anonymous visitors see none of its non-public resources and no need;
sign-out really ends the session; the audit chain verifies. Nothing here names the demo
town: codes and names come from the files."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask
from sqlalchemy import Engine, select
from webhelpers import PASSWORD, Account, sign_in, sign_out

from directory.db import transaction
from directory.models import District, Resource
from matching.models import Need

DATA = Path(__file__).resolve().parents[1] / "data"


def test_another_town_served_with_cli_accounts(cli, engine: Engine, app: Flask) -> None:
    town = DATA / "other_town"
    for kind, path in (
        ("districts", town / "districts.geojson"),
        ("venues", town / "venues.geojson"),
        ("resources", town / "resources_cp932.csv"),
        ("needs", DATA / "needs_other_town.json"),
    ):
        result = cli("import", kind, path)
        assert result.exit_code == 0, result.stderr
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

"""Verification rounds: the call sheet of resources not confirmed for a year, confirmed
one click at a time or imported back as a filled sheet (issue 13)."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from webhelpers import add_account, csrf_token, sign_in

from directory.demo import SEEDS_DIR
from directory.fiscal import today_in_japan
from directory.models import Resource, ResourceChange
from directory.resources.cells import parse_verified

CSV = SEEDS_DIR / "kami" / "resources.csv"


@pytest.fixture
def demo(demo_town: Engine) -> Engine:
    return demo_town


def due_from_seeds(days: int) -> set[str]:
    """Resources not ended and not confirmed within ``days`` of today, from the CSV."""
    today = today_in_japan()
    with CSV.open(encoding="utf-8-sig") as f:
        return {
            r["ID"]
            for r in csv.DictReader(f)
            if r["状態"] != "終了"
            and (
                not r["最終確認日"]
                or parse_verified(r["最終確認日"]) <= today - dt.timedelta(days=days)
            )
        }


def sheet_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def test_the_call_sheet_lists_what_is_due_and_comes_back_confirmed(
    demo: Engine, cli, tmp_path: Path
) -> None:
    days = 800  # the demo was confirmed in 2023–2024: some are due, some not
    listed = cli("directory", "unconfirmed", "--days", str(days), "--json")
    assert listed.exit_code == 0, listed.stderr
    import json

    payload = json.loads(listed.stdout)
    assert {p["id"] for p in payload} == due_from_seeds(days)
    assert all(p["phone"] for p in payload if p["organization"])  # a number to call
    sheet = tmp_path / "sheet.csv"
    assert cli("directory", "unconfirmed", "--days", str(days), "-o", sheet).exit_code == 0
    rows = sheet_rows(sheet)
    assert [r["ID"] for r in rows] == [p["id"] for p in payload]
    reached = rows[0]["ID"], rows[1]["ID"]
    rows[0]["確認日"] = today_in_japan().isoformat()
    rows[1]["確認日"] = "令和6年12月1日"  # written the Japanese way
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    sheet.write_text(out.getvalue(), encoding="utf-8-sig")
    dry = cli("import", "confirmations", sheet, "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    done = cli("import", "confirmations", sheet)
    assert done.exit_code == 0, done.stderr
    assert "2 件を確認しました" in done.stderr
    with Session(demo) as s:
        got = {
            rid: day
            for rid, day in s.execute(
                select(Resource.external_id, Resource.last_verified_on).where(
                    Resource.external_id.in_(reached)
                )
            )
        }
        assert got[reached[0]] == today_in_japan()
        assert got[reached[1]] == dt.date(2024, 12, 1)
        history = s.scalars(select(ResourceChange).where(ResourceChange.action == "confirm")).all()
        assert len(history) == 2
    again = json.loads(cli("directory", "unconfirmed", "--days", str(days), "--json").stdout)
    assert reached[0] not in {p["id"] for p in again}


def test_a_bad_sheet_confirms_nothing_and_names_each_row(demo: Engine, cli, tmp_path: Path) -> None:
    sheet = tmp_path / "bad.csv"
    tomorrow = (today_in_japan() + dt.timedelta(days=1)).isoformat()
    sheet.write_text(
        "ID,名称,確認日\n"
        "R-001,赤塚,2024-06-01\n"
        "R-999,ない資源,2024-06-01\n"
        f"R-002,町裏,{tomorrow}\n"
        "R-003,西田,きのう\n"
        "R-005,平柳,\n",
        encoding="utf-8",
    )
    with Session(demo) as s:
        before = s.scalar(select(Resource.last_verified_on).where(Resource.external_id == "R-001"))
    result = cli("import", "confirmations", sheet)
    assert result.exit_code == 1
    assert f"{sheet}:3:ID:" in result.stderr and "R-999" in result.stderr
    assert f"{sheet}:4:確認日:" in result.stderr
    assert f"{sheet}:5:確認日:" in result.stderr
    with Session(demo) as s:
        after = s.scalar(select(Resource.last_verified_on).where(Resource.external_id == "R-001"))
    assert after == before  # the good row was not written either


def test_tier2_confirm_only_what_serves_their_area(
    demo: Engine, app: Flask, tmp_path: Path
) -> None:
    account = add_account(app, "sato", "tier2", ("04445-A1",))
    client = app.test_client()
    sign_in(client, account)
    page = client.get("/verification?days=0")
    assert page.status_code == 200
    # what was wrong is said on the page, not only that something was
    bad_days = client.get("/verification?days=soon")
    assert bad_days.status_code == 400
    assert "日数は整数で指定してください" in bad_days.get_data(as_text=True)
    no_file = client.post(
        "/verification/import", data={"csrf_token": csrf_token(client, "/verification")}
    )
    assert no_file.status_code == 400
    assert "アップロードするファイルを選んでください" in no_file.get_data(as_text=True)
    html = page.get_data(as_text=True)
    assert "R-001" in html  # 中新田 (A1)
    assert "R-067" not in html  # 宮崎 (A3): not theirs by default
    with Session(demo) as s:
        version = s.scalar(select(Resource.version).where(Resource.external_id == "R-001"))
    token = csrf_token(client, "/verification?days=0")
    done = client.post(
        "/verification/R-001/confirm?days=0", data={"csrf_token": token, "version": version}
    )
    assert done.status_code == 303 and "done=confirmed" in done.headers["Location"]
    stale = client.post(
        "/verification/R-001/confirm?days=0", data={"csrf_token": token, "version": version}
    )
    assert "done=stale" in stale.headers["Location"]
    with Session(demo) as s:
        assert (
            s.scalar(select(Resource.last_verified_on).where(Resource.external_id == "R-001"))
            == today_in_japan()
        )
    # another area's resource: refused, by click and by sheet
    with Session(demo) as s:
        other = s.scalar(select(Resource.version).where(Resource.external_id == "R-067"))
    assert (
        client.post(
            "/verification/R-067/confirm", data={"csrf_token": token, "version": other}
        ).status_code
        == 403
    )
    sheet = io.BytesIO("ID,確認日\nR-067,2024-06-01\n".encode())
    refused = client.post(
        "/verification/import",
        data={"csrf_token": token, "file": (sheet, "sheet.csv")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 200 and "R-067" in refused.get_data(as_text=True)
    assert "地域" in refused.get_data(as_text=True)
    csv_sheet = client.get("/verification.csv?days=0")
    assert csv_sheet.status_code == 200 and csv_sheet.data.startswith("\ufeffID".encode())

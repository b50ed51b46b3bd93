"""Uploading a resource file in the browser: a dry run reported as row/column/reason, a
column-mapping step for headers the importer does not know, then the import itself (the
importer of ``tsunagu import resources``), with a size limit; tier 1 and admin only."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from resourcehelpers import Town, town_accounts
from sqlalchemy import Engine, func, select
from webhelpers import csrf_token

from directory.models import Resource
from web.db import get_db

GOOD = (
    "ID,名称,種別,対象地区,連絡用TEL,メモ欄\r\n"
    "R-500,試験サロン（架空）,サロン,04445001009,0229-00-5000,メモ\r\n"
    "R-501,試験ごみ出し（架空）,ごみ出し,04445001010,0229-00-5001,\r\n"
)
BAD = (
    "ID,名称,種別,定員\r\n"
    "R-600,よい行（架空）,サロン,10\r\n"
    "R-601,,サロン,たくさん\r\n"
    "R-602,悪い種別（架空）,ぱそこん,5\r\n"
)


@pytest.fixture
def town(demo_town: Engine, app: Flask, tmp_path: Path) -> Town:
    app.config["RESOURCE_UPLOAD_DIR"] = str(tmp_path / "uploads")
    return town_accounts(app)


def count(town: Town) -> int:
    with town.app.app_context(), get_db().read() as s:
        return int(s.scalar(select(func.count(Resource.id))) or 0)


def upload(client: FlaskClient, text: str, name: str = "list.csv", **extra: str) -> str:
    data = {
        "csrf_token": csrf_token(client, "/resources/import"),
        "file": (io.BytesIO(text.encode("cp932")), name),
    } | extra
    response = client.post("/resources/import", data=data, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return response.get_data(as_text=True)


def token_of(page: str) -> str:
    m = re.search(r'action="/resources/import/([^"]+)"', page)
    assert m, "no next step on the page"
    return m[1]


def test_dry_run_then_map_the_unknown_columns_then_import(town: Town) -> None:
    client = town.client("tier1")
    before = count(town)
    page = upload(client, GOOD)
    assert count(town) == before  # checking writes nothing
    assert "2" in re.search(r'<p class="summary" role="status">(.*?)</p>', page, re.S)[1]  # type: ignore[index]
    # the two headers the importer does not know are offered for mapping
    assert 'name="map:連絡用TEL"' in page and 'name="map:メモ欄"' in page
    assert '<button type="submit" name="action" value="confirm">' in page
    token = token_of(page)
    mapped = client.post(
        f"/resources/import/{token}",
        data={
            "csrf_token": csrf_token(client, "/"),
            "map:連絡用TEL": "電話番号",
            "map:メモ欄": "備考",
            "action": "check",
        },
    ).get_data(as_text=True)
    assert re.search(r'<option value="電話番号" selected>', mapped)
    assert count(town) == before
    done = client.post(
        f"/resources/import/{token}",
        data={"csrf_token": csrf_token(client, "/"), "action": "confirm"},
    )
    assert done.status_code == 200
    assert count(town) == before + 2
    assert town.resource("R-500").phone == "0229-00-5000"  # the mapped column was read
    assert town.resource("R-500").notes == "メモ"
    assert any(
        a == ("tier1", "create", "ok", "created=2 updated=0 unchanged=0")
        for a in _import_events(town)
    )
    # the upload is gone once imported
    again = client.post(
        f"/resources/import/{token}",
        data={"csrf_token": csrf_token(client, "/"), "action": "confirm"},
    )
    assert again.status_code == 404
    # and the new resources are searchable at once
    assert "R-500" in client.get("/resources?q=試験さろん").get_data(as_text=True)


def _import_events(town: Town) -> list[tuple[str, str, str, str | None]]:
    from web.models import AuditEvent

    with town.app.app_context(), get_db().read() as s:
        return [
            (e.actor, e.action, e.outcome, e.detail)
            for e in s.scalars(
                select(AuditEvent).where(AuditEvent.record_type == "resource_import")
            )
        ]


def test_errors_are_a_table_of_row_column_reason_and_cannot_be_imported(town: Town) -> None:
    client = town.client("admin")
    before = count(town)
    page = upload(client, BAD)
    rows = re.findall(r'<tr><td class="num">(\d+)</td><td>([^<]*)</td><td>([^<]+)</td></tr>', page)
    assert {(r, c) for r, c, _reason in rows} >= {("3", "名称"), ("3", "定員"), ("4", "種別")}
    assert all(re.search(r"[ぁ-んァ-ン一-龥]", reason) for *_rc, reason in rows)
    assert 'value="confirm"' not in page  # all or nothing: nothing to confirm
    token = token_of(page)
    # asking for the valid rows only makes the file importable (the bad rows are listed)
    page = client.post(
        f"/resources/import/{token}",
        data={"csrf_token": csrf_token(client, "/"), "skip_invalid": "1", "action": "check"},
    ).get_data(as_text=True)
    assert 'value="confirm"' in page
    client.post(
        f"/resources/import/{token}",
        data={"csrf_token": csrf_token(client, "/"), "skip_invalid": "1", "action": "confirm"},
    )
    assert count(town) == before + 1
    assert town.resource("R-600").capacity == 10


def test_a_file_over_the_limit_is_413(town: Town) -> None:
    town.app.config["RESOURCE_UPLOAD_MAX_BYTES"] = 200
    client = town.client("tier1")
    data = {
        "csrf_token": csrf_token(client, "/resources/import"),
        "file": (io.BytesIO((GOOD * 20).encode("utf-8")), "big.csv"),
    }
    response = client.post("/resources/import", data=data, content_type="multipart/form-data")
    assert response.status_code == 413
    assert "MiB" in response.get_data(as_text=True)
    assert not list(Path(town.app.config["RESOURCE_UPLOAD_DIR"]).glob("*/upload.csv"))


def test_other_file_types_are_refused_with_a_message(town: Town) -> None:
    client = town.client("tier1")
    data = {
        "csrf_token": csrf_token(client, "/resources/import"),
        "file": (io.BytesIO(b"%PDF-1.4"), "list.pdf"),
    }
    response = client.post("/resources/import", data=data, content_type="multipart/form-data")
    assert response.status_code == 400 and 'role="alert"' in response.get_data(as_text=True)


@pytest.mark.parametrize("who", ["coord", "viewer"])
def test_only_tier1_and_admin_upload(town: Town, who: str) -> None:
    client = town.client(who)
    assert client.get("/resources/import").status_code == 403
    data = {
        "csrf_token": csrf_token(client, "/"),
        "file": (io.BytesIO(GOOD.encode("utf-8")), "list.csv"),
    }
    response = client.post("/resources/import", data=data, content_type="multipart/form-data")
    assert response.status_code == 403


def test_an_upload_belongs_to_the_account_that_made_it(town: Town) -> None:
    token = token_of(upload(town.client("tier1"), GOOD))
    admin = town.client("admin")
    response = admin.post(
        f"/resources/import/{token}",
        data={"csrf_token": csrf_token(admin, "/"), "action": "confirm"},
    )
    assert response.status_code == 404

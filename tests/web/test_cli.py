"""The `tsunagu` command line keeps the contract of DATA_FORMATS §7."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from directory.db import make_engine
from directory.models import District, Venue

SEEDS = Path(__file__).resolve().parents[2] / "seeds"
DISTRICTS = SEEDS / "kami" / "districts.geojson"
VENUES = SEEDS / "kami" / "venues.geojson"


def counts(db_url: str) -> tuple[int, int]:
    engine = make_engine(db_url)
    with Session(engine) as s:
        result = (
            s.scalar(select(func.count(District.id))) or 0,
            s.scalar(select(func.count(Venue.id))) or 0,
        )
    engine.dispose()
    return result


def test_db_upgrade_then_imports(cli, db_url: str) -> None:
    assert cli("db", "upgrade").exit_code == 0
    result = cli("import", "districts", DISTRICTS)
    assert result.exit_code == 0, result.output
    assert "新規 87 件" in result.stderr
    result = cli("import", "venues", VENUES, "--json")
    assert result.exit_code == 0
    payload = json.loads(result.stdout)
    assert set(payload) == {"created", "updated", "unchanged", "warnings", "errors"}
    assert payload["created"] == 35 and payload["errors"] == []
    assert counts(db_url) == (87, 35)


def test_import_before_upgrade_says_what_to_run(cli) -> None:
    result = cli("import", "districts", DISTRICTS)
    assert result.exit_code == 1
    assert "tsunagu db upgrade" in result.stderr


def test_bad_file_exits_1_with_file_feature_column_reason(cli, db_url: str, tmp_path: Path) -> None:
    cli("db", "upgrade")
    doc = json.loads(DISTRICTS.read_text(encoding="utf-8"))
    del doc["features"][2]["properties"]["code"]
    bad = tmp_path / "broken.geojson"
    bad.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    result = cli("import", "districts", bad)
    assert result.exit_code == 1
    assert f"{bad}:#3 (小野田):code: 必須の値がありません" in result.stderr
    assert "何も読み込んでいません" in result.stderr
    assert counts(db_url) == (0, 0)
    english = cli("import", "districts", bad, "--lang", "en")
    assert f"{bad}:#3 (小野田):code: a required value is missing" in english.stderr


def test_json_errors_go_to_stdout_as_objects(cli, tmp_path: Path) -> None:
    cli("db", "upgrade")
    doc = json.loads(DISTRICTS.read_text(encoding="utf-8"))
    doc["crs"] = {"type": "name", "properties": {"name": "EPSG:2451"}}
    bad = tmp_path / "projected.geojson"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    result = cli("import", "districts", bad, "--json")
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert payload["created"] == 0
    (error,) = payload["errors"]
    assert error["row"] is None and error["code"] == "projected_crs"
    assert "EPSG:2451" in error["reason"]


def test_dry_run_writes_nothing(cli, db_url: str) -> None:
    cli("db", "upgrade")
    result = cli("import", "districts", DISTRICTS, "--dry-run", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["created"] == 87
    assert counts(db_url) == (0, 0)


def test_demo_load_is_idempotent(cli, db_url: str) -> None:
    first = cli("demo", "load", "--json")
    assert first.exit_code == 0, first.output
    loaded = json.loads(first.stdout)
    assert loaded["districts"]["created"] == 87
    assert loaded["resources"]["created"] >= 100 and loaded["resources"]["errors"] == []
    after_first = counts(db_url)
    second = cli("demo", "load", "--json")
    payload = json.loads(second.stdout)
    assert payload["districts"]["created"] == 0 and payload["districts"]["unchanged"] == 87
    assert payload["venues"]["unchanged"] == 35
    assert payload["resources"]["unchanged"] == loaded["resources"]["created"]
    assert payload["resources"]["created"] == payload["resources"]["updated"] == 0
    assert counts(db_url) == after_first


def test_misuse_exits_2(cli) -> None:
    assert cli("import", "districts").exit_code == 2
    assert cli("no-such-command").exit_code == 2


def test_console_script_is_installed_and_runs(db_url: str) -> None:
    exe = Path(sys.executable).with_name("tsunagu")
    env = {"DATABASE_URL": db_url, "LANG": "en_US.UTF-8", "PATH": str(exe.parent)}
    out = subprocess.run(
        [exe, "db", "upgrade"], env=env, capture_output=True, text=True, check=False
    )
    assert out.returncode == 0, out.stderr
    assert "up to date" in out.stderr


def test_default_database_is_a_sqlite_file_under_instance(tmp_path: Path, monkeypatch) -> None:
    from directory.db import database_url

    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("TSUNAGU_INSTANCE", str(tmp_path / "instance"))
    assert database_url() == f"sqlite:///{tmp_path / 'instance' / 'tsunagu.sqlite'}"
    assert database_url({"DATABASE_URL": "postgresql://u@h/db"}) == "postgresql+psycopg://u@h/db"

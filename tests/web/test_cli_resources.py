"""`tsunagu import resources`, `export resources` and `schedule expand` (DATA_FORMATS §7)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "other_town"


@pytest.fixture
def town_cli(cli):
    assert cli("db", "upgrade").exit_code == 0
    assert cli("import", "districts", DATA / "districts.geojson").exit_code == 0
    assert cli("import", "venues", DATA / "venues.geojson").exit_code == 0
    return cli


def test_import_resources_json_reports_counts_and_warnings(town_cli) -> None:
    result = town_cli("import", "resources", DATA / "resources_cp932.csv", "--json")
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert (payload["created"], payload["updated"], payload["unchanged"]) == (8, 0, 0)
    assert payload["errors"] == []
    assert {"row": 8, "column": "開催日", "code": "schedule_not_understood"}.items() <= next(
        w for w in payload["warnings"] if w["code"] == "schedule_not_understood"
    ).items()
    assert "警告" in result.stderr and "不定期" in result.stderr


def test_dry_run_then_real_import(town_cli) -> None:
    dry = town_cli("import", "resources", DATA / "resources_cp932.csv", "--dry-run", "--json")
    assert json.loads(dry.stdout)["created"] == 8
    real = town_cli("import", "resources", DATA / "resources_cp932.csv", "--json")
    assert json.loads(real.stdout)["created"] == 8  # the dry run wrote nothing


def test_a_bad_file_exits_1_with_file_row_column_reason(town_cli, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("ID,名称,種別,開始時間\nX-1,サロン,サロン,25時\nX-2,,配食,\n", encoding="utf-8")
    result = town_cli("import", "resources", bad)
    assert result.exit_code == 1
    assert f"{bad}:2:開始時間: 「25時」は時刻として読めません" in result.stderr
    assert f"{bad}:3:名称: 必須の値がありません" in result.stderr
    english = town_cli("import", "resources", bad, "--lang", "en", "--json")
    errors = json.loads(english.stdout)["errors"]
    assert [(e["row"], e["column"]) for e in errors] == [(2, "開始時間"), (3, "名称")]
    assert errors[1]["reason"] == "a required value is missing"


def test_export_csv_to_stdout_is_the_import_format(town_cli) -> None:
    town_cli("import", "resources", DATA / "resources_cp932.csv")
    result = town_cli("export", "resources", "--format", "csv")
    assert result.exit_code == 0
    text = result.stdout_bytes.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["ID", "名称", "種別"]
    assert {r[0] for r in rows[1:]} == {"K-001", "K-002", "K-003", "K-005", "K-006", "K-008"}
    everything = town_cli("export", "resources", "--format", "csv", "--all")
    assert len(list(csv.reader(io.StringIO(everything.stdout_bytes.decode("utf-8-sig"))))) == 9


def test_export_xlsx_needs_a_file_and_reimports_unchanged(town_cli, tmp_path: Path) -> None:
    town_cli("import", "resources", DATA / "resources_cp932.csv")
    assert town_cli("export", "resources", "--format", "xlsx").exit_code == 2
    out = tmp_path / "out.xlsx"
    assert town_cli("export", "resources", "--format", "xlsx", "-o", out, "--all").exit_code == 0
    again = town_cli("import", "resources", out, "--json")
    assert json.loads(again.stdout)["unchanged"] == 8


def test_schedule_expand_json(cli) -> None:
    result = cli(
        "schedule",
        "expand",
        "木 10:00～12:00 第2・第4木曜 祝日休み",
        "--from",
        "2026-11-01",
        "--to",
        "2026-11-30",
        "--json",
    )
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"start": "2026-11-12T10:00", "end": "2026-11-12T12:00"},
        {"start": "2026-11-26T10:00", "end": "2026-11-26T12:00"},
    ]


def test_schedule_expand_without_times_gives_dates(cli) -> None:
    result = cli(
        "schedule", "expand", "毎月15日", "--from", "2026-11-01", "--to", "2027-01-31", "--json"
    )
    assert json.loads(result.stdout) == [
        {"start": "2026-11-15", "end": None},
        {"start": "2026-12-15", "end": None},
        {"start": "2027-01-15", "end": None},
    ]


def test_schedule_expand_counts_fortnights_from_the_import_day(cli) -> None:
    args = ("schedule", "expand", "隔週火曜", "--from", "2026-11-01", "--to", "2026-11-30")
    unanchored = cli(*args, "--json")
    assert unanchored.exit_code == 1 and "隔週" in unanchored.stderr  # which weeks: not guessed
    result = cli(*args, "--since", "2026-11-05", "--json")  # first Tuesday: 10 November
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == [
        {"start": "2026-11-10", "end": None},
        {"start": "2026-11-24", "end": None},
    ]


def test_schedule_expand_refuses_what_it_cannot_understand(cli) -> None:
    result = cli(
        "schedule", "expand", "不定期", "--from", "2026-11-01", "--to", "2026-11-30", "--json"
    )
    assert result.exit_code == 1
    assert "不定期" in result.stderr and result.stdout == ""


@pytest.mark.parametrize("fmt", ["geojson", "hsds", "ics"])
def test_open_exports_leave_out_private_resources(town_cli, fmt: str, tmp_path: Path) -> None:
    town_cli("import", "resources", DATA / "resources_cp932.csv")
    out = tmp_path / f"out.{fmt}"
    result = town_cli("export", "resources", "--format", fmt, "-o", out)
    assert result.exit_code == 0, result.stderr
    text = out.read_text(encoding="utf-8")
    assert "本町いきいきサロン" in text  # public
    assert "西部ごみ出しサポート" not in text  # 公開=否
    everything = town_cli("export", "resources", "--format", fmt, "--all")
    assert "西部ごみ出しサポート" in everything.stdout_bytes.decode("utf-8")
    if fmt != "ics":
        json.loads(text)
    else:
        assert text.startswith("BEGIN:VCALENDAR")

"""Likely duplicates: spelling, kana and width variants and a venue moved 30 m are found;
a resource of a similar name 3 km away is not, even with the same (社協's) phone."""

from __future__ import annotations

from pathlib import Path

import pytest
from planting import copy_of, demo_row, east, import_rows, north
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from directory.db import transaction
from directory.demo import load_demo
from directory.duplicates import find_duplicates


@pytest.fixture
def planted(engine: Engine, demo_town: Engine, tmp_path: Path) -> Engine:
    r1 = demo_row("R-001")
    lat, lon = float(r1["緯度"]), float(r1["経度"])
    result = import_rows(
        engine,
        tmp_path,
        [
            # width and spacing variants, the venue 30 m away
            copy_of(r1, ID="P-1", 名称="赤塚ﾌﾚｱｲｻﾛﾝ", 緯度=north(lat, 30), 経度=lon),
            # hiragana, no venue, 社協's phone written another way
            copy_of(r1, ID="P-2", 名称="あかつか ふれあい さろん", 電話番号="0229 00 2001"),
            # a similar name 3 km away: another salon
            copy_of(r1, ID="P-3", 名称="赤塚ふれあいサロン", 緯度=lat, 経度=east(lat, lon, 3000)),
            # same phone, a near name, 3 km away: 社協 runs both
            copy_of(
                r1,
                ID="P-4",
                名称="赤坂ふれあいサロン",
                緯度=north(lat, 3000),
                経度=lon,
                電話番号=r1["電話番号"],
            ),
        ],
    )
    # the import itself says which rows look like another resource
    warned = {w.row: w for w in result.warnings if w.code == "likely_duplicate"}
    assert set(warned) == {2, 3}  # P-1 and P-2 (rows 2 and 3 of the file)
    assert warned[2].params["other"] == "R-001"
    assert "R-001" in warned[2].reason("ja") and "統合" in warned[2].reason("ja")
    return engine


def test_planted_duplicates_are_found_and_distinct_ones_are_not(planted: Engine) -> None:
    with Session(planted) as s:
        pairs = find_duplicates(s)
    found = {(p.first, p.second) for p in pairs}
    assert ("P-1", "R-001") in found
    assert ("P-2", "R-001") in found
    for far in ("P-3", "P-4"):
        assert not any(far in pair for pair in found), pairs
    moved = next(p for p in pairs if (p.first, p.second) == ("P-1", "R-001"))
    assert moved.distance_m == pytest.approx(30, abs=2)
    assert moved.score >= 0.85
    assert "会場の距離 30 m" in moved.describe("ja")
    phone = next(p for p in pairs if (p.first, p.second) == ("P-2", "R-001"))
    assert "電話番号が同じ" in phone.describe("ja") and phone.distance_m is None
    assert phone.as_json("en")["reasons"][-1] == "same telephone number"


def test_the_demo_directory_has_no_duplicates(engine: Engine) -> None:
    """The demo's resources are all distinct: nothing may be reported on them."""
    with transaction(engine) as s:
        load_demo(s)
    with Session(engine) as s:
        assert find_duplicates(s) == []


def test_cli_lists_pairs_with_scores_and_reasons(planted: Engine, cli) -> None:  # type: ignore[no-untyped-def]
    import json

    result = cli("directory", "duplicates", "--json")
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert {(p["first"], p["second"]) for p in payload} >= {("P-1", "R-001"), ("P-2", "R-001")}
    assert all(0 < p["score"] <= 1 and p["reasons"] for p in payload)
    text = cli("directory", "duplicates")
    assert text.exit_code == 0 and "R-001" in text.stdout and "名称の一致" in text.stdout


def test_numbered_groups_at_one_hall_are_different_groups() -> None:
    from directory.duplicates import Entry, pairs_among

    def entry(i: int, name: str, key: str) -> Entry:
        return Entry(i, f"X-{i}", name, key, key, 38.5, 140.8, "0229002001", 1, frozenset({1}))

    rows = [
        entry(1, "中新田第1長寿会", "中新田第1長寿会"),
        entry(2, "中新田第2長寿会", "中新田第2長寿会"),
        entry(3, "中新田第１長寿会", "中新田第1長寿会"),  # the first one again, full-width
    ]
    assert [(p.first, p.second) for p in pairs_among(rows)] == [("X-1", "X-3")]

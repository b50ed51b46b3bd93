"""The demo's needs through the whole stack: importers → database → snapshot → engine.

``seeds/kami/make_needs.py`` lists the needs built to be unmet, each for one reason of
DATA_FORMATS §5; every other demo need was built to be met. This is the end-to-end check
that the engine gives those answers (and never proposes a forbidden resource).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from directory.db import transaction
from directory.demo import SEEDS_DIR
from directory.models import Resource
from directory.resources import import_resources
from matching.models import Match
from matching.service import (
    SnapshotCache,
    load_needs,
    match_needs,
    record_proposals,
    unmet_counts,
)

ON = dt.date(2026, 11, 23)


def expected_unmet() -> dict[str, str]:
    spec = importlib.util.spec_from_file_location(
        "make_needs", SEEDS_DIR / "kami" / "make_needs.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["make_needs"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return {nid: reason for nid, (reason, _, _) in module.EXPECTED_UNMET.items()}


@pytest.fixture
def demo(demo_town_with_needs: Engine) -> Engine:
    return demo_town_with_needs


def test_every_demo_need_gets_its_intended_answer(demo: Engine) -> None:
    expected = expected_unmet()
    assert len(expected) >= 6
    with Session(demo) as s:
        needs = load_needs(s)
        results = match_needs(s, SnapshotCache(), needs, on=ON)
        statuses = dict(s.execute(select(Resource.id, Resource.status)).all())
    got = {r.need_id: r.unmet_reason for r in results if r.unmet}
    assert got == expected
    for r in results:
        if not r.unmet:
            assert r.matches, r.need_id
            assert all(statuses[m.resource_id] == "active" for m in r.matches)
            assert all(0.0 <= m.score <= 1.0 for m in r.matches)
            assert [m.score for m in r.matches] == sorted(
                (m.score for m in r.matches), reverse=True
            )


def test_unmet_counts_roll_up_the_hierarchy(demo: Engine) -> None:
    with Session(demo) as s:
        needs = load_needs(s)
        results = match_needs(s, SnapshotCache(), needs, on=ON)
        by_level = {
            level: unmet_counts(s, needs, results, level=level)
            for level in ("district", "area", "municipality")
        }
    totals = {level: sum(r.count for r in rows) for level, rows in by_level.items()}
    assert totals["district"] == totals["area"] == totals["municipality"] > 0
    assert {r.district for r in by_level["municipality"]} == {"04445"}
    assert {r.district for r in by_level["area"]} <= {"04445-A1", "04445-A2", "04445-A3"}
    reasons = {r.reason for r in by_level["municipality"]}
    assert reasons == {"no_resource", "schedule", "capacity", "eligibility", "distance", "paused"}


def test_proposals_are_recorded_once_and_keep_their_follow_up(demo: Engine) -> None:
    with transaction(demo) as s:
        needs = load_needs(s)
        results = match_needs(s, SnapshotCache(), needs, on=ON)
        added = record_proposals(s, needs, results)
    assert added == sum(len(r.matches) for r in results) > 0
    with transaction(demo) as s:
        first = s.scalars(select(Match).order_by(Match.id)).first()
        assert first is not None
        first.status, first.note = "contacted", "電話済み"
    with transaction(demo) as s:
        needs = load_needs(s)
        assert record_proposals(s, needs, match_needs(s, SnapshotCache(), needs, on=ON)) == 0
    with Session(demo) as s:
        assert s.scalar(select(func.count(Match.id))) == added
        kept = s.get(Match, first.id)
        assert kept is not None and kept.status == "contacted" and kept.note == "電話済み"


def test_the_snapshot_follows_directory_changes_made_elsewhere(
    demo: Engine, tmp_path: Path
) -> None:
    """A second process's import bumps the version; this process rebuilds before matching."""
    cache = SnapshotCache()
    with Session(demo) as s:
        needs = load_needs(s, ["N-0012"])  # garbage help nobody offers in that district
        assert match_needs(s, cache, needs, on=ON)[0].unmet_reason == "distance"
        district = needs[0].district.code
    assert cache.builds == 1
    new = tmp_path / "new.csv"
    new.write_text(
        "ID,名称,種別,対象地区,利用可能曜日,開始時間,終了時間\n"
        f"NEW-1,新しいごみ出し支援（架空）,ごみ出し,{district},火・金,7:00,9:00\n",
        encoding="utf-8",
    )
    with transaction(demo) as s:  # as if another host imported it
        import_resources(s, new)
    with Session(demo) as s:
        needs = load_needs(s, ["N-0012"])
        result = match_needs(s, cache, needs, on=ON)[0]
        same = match_needs(s, cache, needs, on=ON)[0]
    assert cache.builds == 2  # rebuilt once for the change, then reused
    assert not result.unmet and result.matches[0].external_id == "NEW-1"
    assert same == result


def test_match_cli_prints_the_json_contract(demo: Engine, cli) -> None:
    result = cli("match", "--need", "N-0019", "--need", "N-0001", "--on", ON.isoformat(), "--json")
    assert result.exit_code == 0, result.stderr
    payload = json.loads(result.stdout)
    assert [p["need"] for p in payload] == ["N-0001", "N-0019"]
    unmet = payload[1]
    assert unmet["unmet"] is True and unmet["unmet_reason"] == "paused"
    assert unmet["matches"] == [] and unmet["near_miss"]["resource"] == "R-004"
    met = payload[0]
    assert set(met) == {"need", "unmet", "unmet_reason", "matches"}
    top = met["matches"][0]
    assert set(top) == {"resource", "name", "score", "factors", "reasons"}
    assert all(isinstance(reason, str) for reason in top["reasons"])
    assert cli("match", "--need", "N-9999", "--json").exit_code == 1


def test_unmet_cli_json(demo: Engine, cli) -> None:
    result = cli("unmet", "--level", "area", "--on", ON.isoformat(), "--json")
    assert result.exit_code == 0, result.stderr
    rows = json.loads(result.stdout)
    assert rows and set(rows[0]) == {"district", "name", "category", "reason", "count"}
    assert sum(r["count"] for r in rows) == len(expected_unmet())

"""Reference categories (DATA_FORMATS §1) from real files: imported and shown, but a need
is matched to them only when it names that category itself, and intake text never
infers one (a 相談窓口 or a 特養 is not a 通いの場 for a resident who wants company)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from directory.taxonomy import load_taxonomy
from matching.engine import NeedQuery, score
from matching.inference import infer_categories
from matching.snapshot import DistrictRecord, ResourceRecord, snapshot_from_records

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_CSV = ROOT / "tests" / "data" / "real" / "kourei_shisetsu_en.csv"
DISTRICTS = ROOT / "tests" / "data" / "other_town" / "districts.geojson"
REFERENCE_IDS = {"99999-2", "99999-3", "99999-4", "99999-5", "99999-6", "99999-7", "99999-11"}

NEEDS = [
    # 介護予防 is the parent of 通所型サービス: still not met by it
    {
        "id": "N-1",
        "district": "本町一区",
        "lat": 35.0105,
        "lon": 136.0102,
        "categories": ["介護予防"],
    },
    {
        "id": "N-2",
        "district": "本町一区",
        "lat": 35.0105,
        "lon": 136.0102,
        "categories": ["相談窓口"],
    },
    # no category: inferred from the text, never a reference category
    {
        "id": "N-3",
        "district": "上ノ原",
        "lat": 35.0302,
        "lon": 136.0301,
        "text": "話し相手がほしい",
    },
    # 生活支援 is the parent of 訪問型サービス: still not met by it
    {
        "id": "N-4",
        "district": "上ノ原",
        "lat": 35.0290,
        "lon": 136.0320,
        "categories": ["生活支援"],
    },
    {
        "id": "N-5",
        "district": "上ノ原",
        "lat": 35.0290,
        "lon": 136.0320,
        "categories": ["訪問型サービス"],
    },
]


@pytest.fixture
def matched(cli, tmp_path: Path) -> dict[str, list[str]]:
    assert cli("db", "upgrade").exit_code == 0
    assert cli("import", "districts", DISTRICTS).exit_code == 0
    assert cli("import", "resources", TEMPLATE_CSV, "--skip-invalid").exit_code == 0
    needs = tmp_path / "needs.json"
    needs.write_text(json.dumps(NEEDS, ensure_ascii=False), encoding="utf-8")
    result = cli("import", "needs", needs)
    assert result.exit_code == 0, result.stderr
    result = cli("match", "--json", "--top", "20")
    assert result.exit_code == 0, result.stderr
    return {r["need"]: [m["resource"] for m in r["matches"]] for r in json.loads(result.stdout)}


def test_reference_resources_meet_only_needs_that_name_them(matched: dict[str, list[str]]) -> None:
    for need in ("N-1", "N-3", "N-4"):
        assert not set(matched[need]) & REFERENCE_IDS, need
    assert "99999-1" in matched["N-1"]  # the いこいの家 is a gathering place
    assert matched["N-2"] == ["99999-2"]  # the 地域包括支援センター, named by the need
    assert matched["N-5"] == ["99999-7"]


@pytest.mark.parametrize(
    "text",
    [
        "地域包括支援センターに相談したい",
        "デイサービスに通いたい",
        "特養への入所を考えている",
        "病院に通っている。薬局で薬をもらうのが大変",
        "訪問型サービスを使っている",
    ],
)
def test_intake_text_never_infers_a_reference_category(text: str) -> None:
    assert not set(infer_categories(text)) & load_taxonomy().reference_codes


def test_a_need_naming_no_category_is_never_met_by_a_reference_resource() -> None:
    # (the engine's API: a NeedQuery without categories means "any category")
    district = DistrictRecord(1, None, "municipality", "99999", "架空市", 35.01, 136.01)
    resources = [
        ResourceRecord(id=i, external_id=ext, name=ext, categories=(code,), lat=35.01, lon=136.01)
        for i, (ext, code) in enumerate(
            [("salon", "salon"), ("houkatsu", "consultation"), ("tokuyou", "care_facility")],
            start=1,
        )
    ]
    snap = snapshot_from_records(resources, [district], on=dt.date(2024, 6, 3), version=1)
    anything = NeedQuery(id="N", district_id=1, lat=35.01, lon=136.01, categories=())
    assert [m.external_id for m in score(snap, anything).matches] == ["salon"]
    named = NeedQuery(id="N", district_id=1, lat=35.01, lon=136.01, categories=("consultation",))
    assert [m.external_id for m in score(snap, named).matches] == ["houkatsu"]

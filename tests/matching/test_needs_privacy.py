"""A need's values never come back in an error, a warning or a log line (issue 10, point 6).

Every field of a need may be personal data (要配慮個人情報), so each is planted with a
canary, in a way that makes the field invalid (or a warning) where possible, and the
canary must not appear in anything the importer says. NUL characters are refused the
same way on both engines, before anything reaches the database.
"""

from __future__ import annotations

import copy
import json
import logging
import string
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from directory.db import transaction
from directory.errors import InvalidInputError, Problem
from directory.geography import import_districts
from directory.messages import texts
from matching.models import Need
from matching.needs import import_needs

DATA = Path(__file__).resolve().parents[1] / "data"
TOWN = DATA / "other_town"
ITEMS: list[dict[str, Any]] = json.loads((DATA / "needs_other_town.json").read_text("utf-8"))
MARK = "Q7canary"  # in every planted value: the check looks for it
CANARY = f"{MARK}要介護秘密"
ASCII_CANARY = "R7canary9"  # for fields where a pseudonym shape is valid


@pytest.fixture
def town(engine: Engine) -> Engine:
    with transaction(engine) as s:
        import_districts(s, TOWN / "districts.geojson")
    return engine


def one(**changes: Any) -> dict[str, Any]:
    item = copy.deepcopy(ITEMS[0])
    item.update(changes)
    return item


def write(tmp_path: Path, items: Any) -> Path:
    path = tmp_path / "needs.json"
    path.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    return path


def need_count(engine: Engine) -> int:
    with transaction(engine) as s:
        return s.scalar(select(func.count()).select_from(Need)) or 0


def everything_said(error: InvalidInputError) -> list[str]:
    problems: list[Problem] = error.problems + error.warnings
    said = [error.describe("ja"), error.describe("en"), str(error), repr(error)]
    for p in problems:
        for lang in ("ja", "en"):
            said.append(json.dumps(p.as_json(lang), ensure_ascii=False))
            said.append(p.format("needs.json", lang))
    return said


# Each field planted with the canary so that it is refused (the code is what we expect).
PLANTED = [
    ("id", {"id": f"{CANARY}さん"}, "id_looks_like_name"),
    ("resident", {"resident": CANARY}, "resident_not_pseudonym"),
    ("district", {"district": CANARY}, "need_unknown_district"),
    ("lat", {"lat": CANARY}, "need_not_number"),
    ("lon", {"lon": CANARY}, "need_not_number"),
    ("categories", {"categories": [CANARY]}, "need_unknown_category_suggest"),
    ("categories", {"categories": MARK}, "need_unknown_category"),
    ("text", {"text": [CANARY]}, "not_text"),
    ("days", {"days": [CANARY]}, "need_bad_weekday"),
    ("time", {"time": CANARY}, "need_not_a_time_range"),
    ("months", {"months": [CANARY]}, "need_bad_month"),
    ("max_walk_m", {"max_walk_m": CANARY}, "need_not_number"),
    ("transport", {"transport": CANARY}, "need_not_boolean"),
    ("age", {"age": CANARY}, "need_not_integer"),
    ("recorded_on", {"recorded_on": CANARY}, "need_not_a_date"),
    ("urgency", {"urgency": CANARY}, "need_bad_choice"),
    ("source", {"source": CANARY * 40}, "too_long"),
    ("consent_on", {"consent_on": CANARY}, "need_not_a_date"),
    ("consent_by", {"consent_by": CANARY}, "consent_by_unknown"),
    ("basis", {"basis": CANARY * 40}, "too_long"),
]


@pytest.mark.parametrize(("column", "changes", "code"), PLANTED, ids=[c for c, _, _ in PLANTED])
def test_a_refused_field_is_named_but_its_value_never_shown(
    town: Engine,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    column: str,
    changes: dict[str, Any],
    code: str,
) -> None:
    caplog.set_level(logging.INFO)  # SQLAlchemy logs statements (not parameters) at INFO
    # the canary also sits in the text of a valid need, which must not leak either
    items = [one(id="P-1", text=f"{CANARY}。ゴミ出し"), one(**{"id": "P-2", **changes})]
    with pytest.raises(InvalidInputError) as caught, transaction(town) as s:
        import_needs(s, write(tmp_path, items))
    error = caught.value
    assert [(p.row, p.column, p.code) for p in error.problems] == [(2, column, code)]
    assert not [said for said in everything_said(error) if MARK in said]
    assert not [r for r in caplog.records if MARK in r.getMessage()]
    assert need_count(town) == 0


# Values that cross other rules: out of range, the wrong order, a district not a leaf…
CROSSED = [
    ("age", {"age": 777}, "need_out_of_range", "777"),
    ("age", {"age": "82.5"}, "need_not_integer", "82.5"),
    ("max_walk_m", {"max_walk_m": 987_654}, "need_out_of_range", "987654"),
    ("lat", {"lat": 47.12345, "lon": 136.008}, "need_coordinate_outside_japan", "47.12345"),
    ("time", {"time": "09:17-07:43"}, "need_end_before_start", "09:17"),
    ("months", {"months": [13]}, "need_bad_month", "13"),
    ("recorded_on", {"recorded_on": "2999-07-31"}, "need_date_in_future", "2999"),
    ("recorded_on", {"recorded_on": "令和1年4月1日"}, "need_bad_era_date", "令和1年"),
    ("district", {"district": "架空市"}, "need_district_not_leaf", "架空市"),
    ("lat,lon", {"lat": 35.0381, "lon": 136.0382}, "location_outside_district", "35.0381"),
    ("categories", {"categories": ["サロソ"]}, "need_unknown_category_suggest", "サロソ"),
]


@pytest.mark.parametrize(
    ("column", "changes", "code", "secret"),
    CROSSED,
    ids=[f"{c}-{code}" for c, _, code, _ in CROSSED],
)
def test_other_refusals_name_the_rule_not_the_value(
    town: Engine,
    tmp_path: Path,
    column: str,
    changes: dict[str, Any],
    code: str,
    secret: str,
) -> None:
    with pytest.raises(InvalidInputError) as caught, transaction(town) as s:
        import_needs(s, write(tmp_path, [one(**changes)]))
    error = caught.value
    assert [(p.row, p.column, p.code) for p in error.problems] == [(1, column, code)]
    # the file's own path is said (pytest's folders are numbered: pytest-135 holds "13")
    told = [said.replace(str(tmp_path), "<folder>") for said in everything_said(error)]
    assert not [said for said in told if secret in said]


def test_the_age_message_says_the_rule(town: Engine, tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError) as caught, transaction(town) as s:
        import_needs(s, write(tmp_path, [one(age="abc")]))
    assert caught.value.problems[0].reason("ja") == "age は 0〜120 の整数にしてください"
    assert caught.value.problems[0].reason("en") == "age must be a whole number from 0 to 120"


def test_a_duplicate_id_names_the_rule_and_the_other_need_only(
    town: Engine, tmp_path: Path
) -> None:
    secret_id = f"{ASCII_CANARY}-1"
    items = [one(id=secret_id), one(id=secret_id)]
    with pytest.raises(InvalidInputError) as caught, transaction(town) as s:
        import_needs(s, write(tmp_path, items))
    (problem,) = caught.value.problems
    assert (problem.row, problem.column, problem.code) == (2, "id", "duplicate_need_id")
    assert "1件目" in problem.reason("ja")
    assert not [said for said in everything_said(caught.value) if ASCII_CANARY in said]


def test_warnings_on_a_valid_file_never_show_values(
    town: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    item = one(
        attributes=["独居", CANARY],
        text=f"{CANARY}。ゴミ出し",
        consent_on=None,
        consent_by=None,
        氏名=CANARY,
        note=CANARY,
    )
    item.pop("categories")
    with transaction(town) as s:
        result = import_needs(s, write(tmp_path, [item]))
    codes = {(w.column, w.code) for w in result.warnings}
    assert {
        ("attributes", "need_unknown_attribute"),
        ("氏名", "personal_field_ignored"),
        ("note", "unknown_field"),
        ("basis", "basis_missing"),
    } <= codes
    said = [json.dumps(result.as_json(lang), ensure_ascii=False) for lang in ("ja", "en")]
    said += [w.format("needs.json", lang) for w in result.warnings for lang in ("ja", "en")]
    assert not [s for s in said if CANARY in s]
    assert not [r for r in caplog.records if CANARY in r.getMessage()]
    assert need_count(town) == 1


VALUE_FIELDS = {"value", "start", "end", "lat", "lon", "district", "name"}


def test_no_message_a_need_can_get_takes_a_value(town: Engine, tmp_path: Path) -> None:
    """Every code the need importer reported above has a template without a value blank."""
    used = {code for _, _, code in PLANTED} | {code for _, _, code, _ in CROSSED}
    used |= {
        "duplicate_need_id",
        "need_unknown_attribute",
        "nul_character",
        "categories_inferred",
        "basis_missing",
        "personal_field_ignored",
        "unknown_field",
    }
    for code in sorted(used):
        for template in texts(code):
            blanks = {name for _, name, _, _ in string.Formatter().parse(template) if name}
            assert not blanks & VALUE_FIELDS, (code, blanks)


# ----------------------------------------------------------------------------------- NUL


@pytest.mark.parametrize(
    "field",
    [
        "id",
        "resident",
        "district",
        "text",
        "source",
        "basis",
        "consent_by",
        "urgency",
        "categories",
        "days",
        "attributes",
    ],
)
def test_a_nul_character_is_refused_on_every_engine(
    town: Engine, tmp_path: Path, field: str
) -> None:
    value = ITEMS[0].get(field, "x")
    if isinstance(value, list):
        nul_value: Any = [value[0][:1] + "\x00" + value[0][1:]]
    else:
        text = str(value or "x")
        nul_value = text[:1] + "\x00" + text[1:]
    with pytest.raises(InvalidInputError) as caught, transaction(town) as s:
        import_needs(s, write(tmp_path, [one(id="Z-1"), one(**{"id": "Z-2", field: nul_value})]))
    error = caught.value
    assert (2, field, "nul_character") in {(p.row, p.column, p.code) for p in error.problems}
    assert "NUL 文字（\\x00）は使えません" in error.describe("ja")
    assert "\x00" not in error.describe("ja") + error.describe("en")
    assert need_count(town) == 0


def test_a_nul_character_in_a_field_name_is_refused(town: Engine, tmp_path: Path) -> None:
    item = one()
    item["no\x00te"] = "x"
    with pytest.raises(InvalidInputError) as caught, transaction(town) as s:
        import_needs(s, write(tmp_path, [item]))
    assert [(p.row, p.column, p.code) for p in caught.value.problems] == [
        (1, "note", "nul_character")
    ]

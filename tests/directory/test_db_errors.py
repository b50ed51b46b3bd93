"""Database errors never carry data, and imports turn them into plain messages.

Runs on the engine under test (SQLite file, or a PostgreSQL schema). Canary strings are
planted in the values of failing statements; neither the exception's text nor its
formatted traceback (with chained causes) may contain them.
"""

from __future__ import annotations

import json
import threading
import traceback
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, func, select, text

from directory.db import import_lock, make_engine, transaction
from directory.errors import DatabaseProblem, InvalidInputError
from directory.geography import import_districts, import_venues
from directory.models import District, Resource
from directory.resources import import_resources
from matching.models import Need
from matching.needs import import_needs

DATA = Path(__file__).resolve().parents[1] / "data"
TOWN = DATA / "other_town"
CANARY = "Z9canary要配慮"


def shown(exc: BaseException) -> str:
    return str(exc) + "".join(traceback.format_exception(exc))


@pytest.fixture
def canary_table(engine: Engine) -> Engine:
    with engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE canary_t (id INTEGER PRIMARY KEY, "
                "a VARCHAR(20) NOT NULL CONSTRAINT ck_canary_a CHECK (a <> 'bad'), "
                "b TEXT, n INTEGER)"
            )
        )
        conn.execute(text("INSERT INTO canary_t (id, a, b, n) VALUES (1, 'ok', 'first', 1)"))
    return engine


FAILING = {
    "duplicate key": ("INSERT INTO canary_t (id, a, b, n) VALUES (1, 'ok', :v, 1)", "db_duplicate"),
    "null column": ("INSERT INTO canary_t (id, a, b, n) VALUES (2, NULL, :v, 1)", "db_not_null"),
    "check": ("INSERT INTO canary_t (id, a, b, n) VALUES (3, 'bad', :v, 1)", "db_check"),
}


@pytest.mark.parametrize("case", sorted(FAILING))
def test_a_failing_insert_never_shows_its_values(canary_table: Engine, case: str) -> None:
    sql, _ = FAILING[case]
    assert canary_table.hide_parameters
    with pytest.raises(Exception) as caught, canary_table.begin() as conn:
        conn.execute(text(sql), {"v": CANARY})
    assert CANARY not in shown(caught.value)
    # PostgreSQL's "DETAIL: Failing row contains (…)" is gone too
    assert "Failing row" not in shown(caught.value)


def test_a_refused_value_is_not_quoted(canary_table: Engine) -> None:
    """PostgreSQL quotes a value of the wrong type in the error (SQLite stores it)."""
    if canary_table.dialect.name == "sqlite":
        pytest.skip("SQLite stores text in an INTEGER column")
    with pytest.raises(Exception) as caught, canary_table.begin() as conn:
        conn.execute(text("INSERT INTO canary_t (id, a, n) VALUES (4, 'ok', :v)"), {"v": CANARY})
    assert CANARY not in shown(caught.value)


def test_hide_parameters_also_on_engines_made_with_other_options(db_url: str) -> None:
    engine = make_engine(
        db_url,
        hide_parameters=False,
        connect_args={"timeout": 1} if db_url.startswith("sqlite") else {},
    )
    try:
        assert engine.hide_parameters
    finally:
        engine.dispose()


@pytest.mark.parametrize("case", sorted(FAILING))
def test_transaction_turns_database_errors_into_a_plain_problem(
    canary_table: Engine, case: str
) -> None:
    sql, code = FAILING[case]
    with pytest.raises(DatabaseProblem) as caught, transaction(canary_table) as s:
        s.execute(text(sql), {"v": CANARY})
    problem = caught.value
    assert problem.code == code
    assert problem.__cause__ is None and problem.__suppress_context__
    for lang in ("ja", "en"):
        assert CANARY not in problem.describe(lang)
        assert CANARY not in json.dumps(problem.as_json(lang), ensure_ascii=False)
    assert CANARY not in shown(problem)
    assert "[SQL" not in shown(problem)
    with canary_table.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM canary_t")).scalar() == 1


def test_a_duplicate_names_the_column_not_the_value(canary_table: Engine) -> None:
    with pytest.raises(DatabaseProblem) as caught, transaction(canary_table) as s:
        s.execute(text("INSERT INTO canary_t (id, a, b, n) VALUES (1, 'ok', :v, 1)"), {"v": CANARY})
    assert "canary_t.id" in caught.value.describe("ja")
    assert "重複できません" in caught.value.describe("ja")
    assert "must be unique" in caught.value.describe("en")


def test_a_duplicate_need_id_at_the_database_names_the_column(engine: Engine) -> None:
    with transaction(engine) as s:
        import_districts(s, TOWN / "districts.geojson")
    with pytest.raises(DatabaseProblem) as caught, transaction(engine) as s:
        district = s.scalar(select(District).where(District.code == "99999-01"))
        s.add_all(
            [
                Need(external_id="D-1", district=district, text=CANARY),
                Need(external_id="D-1", district=district, text=CANARY),
            ]
        )
    assert caught.value.code == "db_duplicate"
    assert "external_id" in caught.value.describe("ja")
    assert CANARY not in shown(caught.value)


def test_other_exceptions_pass_through_unchanged(engine: Engine) -> None:
    with pytest.raises(KeyError), transaction(engine):
        raise KeyError("not a database error")


# --------------------------------------------------------------------- two imports at once


NEEDS_A = [{"id": "A-1", "district": "本町一区", "categories": ["ゴミ出し"], "text": CANARY}]
NEEDS_B = [{"id": "B-1", "district": "本町一区", "categories": ["ゴミ出し"], "text": CANARY}]


def test_a_second_import_at_the_same_time_is_refused_in_plain_words(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    with transaction(engine) as s:
        import_districts(s, TOWN / "districts.geojson")
    file_a, file_b = tmp_path / "a.json", tmp_path / "b.json"
    file_a.write_text(json.dumps(NEEDS_A, ensure_ascii=False), encoding="utf-8")
    file_b.write_text(json.dumps(NEEDS_B, ensure_ascii=False), encoding="utf-8")
    # a second engine, as a second process would have; SQLite waits only briefly
    quick = (
        make_engine(db_url, connect_args={"timeout": 0.3})
        if engine.dialect.name == "sqlite"
        else make_engine(db_url)
    )
    outcome: dict[str, Any] = {}

    def second_import() -> None:
        try:
            with transaction(quick) as s:
                outcome["result"] = import_needs(s, file_b)
        except Exception as exc:  # the test inspects whatever it was
            outcome["error"] = exc

    try:
        with transaction(engine) as s:
            first = import_needs(s, file_a)  # holds the import lock until commit
            thread = threading.Thread(target=second_import)
            thread.start()
            thread.join(30)
            assert not thread.is_alive()
        assert first.created == 1
    finally:
        quick.dispose()
    error = outcome.get("error")
    assert isinstance(error, DatabaseProblem), outcome
    assert error.code == "import_running"
    assert error.describe("ja").startswith(
        "別の取り込みが実行中です。終わってからもう一度実行してください"
    )
    assert "another import is running" in error.describe("en")
    assert CANARY not in shown(error)
    with transaction(engine) as s:
        assert s.scalars(select(Need.external_id)).all() == ["A-1"]  # nothing of B
    with transaction(engine) as s:  # and once the first is done, the second goes through
        assert import_needs(s, file_b).created == 1


def test_the_import_lock_is_per_kind(engine: Engine, db_url: str) -> None:
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one write lock for every kind")
    other = make_engine(db_url)
    try:
        with transaction(engine) as s:
            import_lock(s, "needs")
            with transaction(other) as t:
                import_lock(t, "resources")  # another kind: not refused
            with pytest.raises(DatabaseProblem), transaction(other) as t:
                import_lock(t, "needs")
    finally:
        other.dispose()


# ----------------------------------------------------------------------------------- NUL


def test_a_nul_in_a_resource_cell_is_refused_on_every_engine(
    engine: Engine, tmp_path: Path
) -> None:
    with transaction(engine) as s:
        import_districts(s, TOWN / "districts.geojson")
    path = tmp_path / "resources.csv"
    path.write_text(
        "ID,名称,種別,対象地区,備考\n"
        "R1,サロン本町,サロン,本町一区,ふつう\n"
        "R2,体操\x00教室,サロン,本町一区,お\x00茶\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidInputError) as caught, transaction(engine) as s:
        import_resources(s, path)
    found = {(p.row, p.column, p.code) for p in caught.value.problems}
    assert {(3, "名称", "nul_character"), (3, "備考", "nul_character")} <= found
    assert "NUL 文字（\\x00）は使えません" in caught.value.describe("ja")
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(Resource)) == 0


def test_a_nul_in_a_geojson_property_is_refused_on_every_engine(
    engine: Engine, tmp_path: Path
) -> None:
    doc = json.loads((TOWN / "districts.geojson").read_text("utf-8"))
    doc["features"][0]["properties"]["name"] += "\x00"
    doc["features"][1]["properties"]["note"] = {"deep": ["a\x00b"]}
    path = tmp_path / "districts.geojson"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(InvalidInputError) as caught, transaction(engine) as s:
        import_districts(s, path)
    found = [(p.feature, p.column, p.code) for p in caught.value.problems]
    assert [(c, code) for _, c, code in found] == [
        ("name", "nul_character"),
        ("note", "nul_character"),
    ]
    assert found[0][0].startswith("#1") and found[1][0].startswith("#2")
    assert "\x00" not in caught.value.describe("ja")
    with transaction(engine) as s:
        assert s.scalar(select(func.count()).select_from(District)) == 0


def test_a_nul_in_a_venue_is_refused(engine: Engine, tmp_path: Path) -> None:
    with transaction(engine) as s:
        import_districts(s, TOWN / "districts.geojson")
    doc = json.loads((TOWN / "venues.geojson").read_text("utf-8"))
    doc["features"][0]["properties"]["address"] = "本町\x001-1"
    path = tmp_path / "venues.geojson"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(InvalidInputError) as caught, transaction(engine) as s:
        import_venues(s, path)
    assert [(p.column, p.code) for p in caught.value.problems] == [("address", "nul_character")]

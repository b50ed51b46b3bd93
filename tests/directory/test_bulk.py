"""The bulk INSERT path stores exactly what the ORM would, on both engines."""

from __future__ import annotations

import datetime as dt
import gc

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.bulk import bulk_insert, bulk_insert_columns, gc_paused, insert_returning_ids
from directory.models import Venue
from directory.resources.cells import _clean


def _venue_columns(codes: list[str], properties: list[dict]) -> dict[str, list]:
    n = len(codes)
    return {
        "code": codes,
        "name": [f"会場{c}" for c in codes],
        "name_key": codes,
        "address": [None] * n,
        "lat": [38.5] * n,
        "lon": [140.8] * n,
        "district_id": [None] * n,
        "properties": properties,
        "updated_at": [dt.datetime(2025, 4, 1, 9, 30)] * n,
    }


def test_processors_run_once_per_value_yet_keep_equal_values_of_other_types_apart(
    session: Session,
) -> None:
    # True == 1 as dict keys; JSON must still store true and 1 as written.
    shared: dict = {"tags": ["サロン"]}
    props = [{"flag": True}, {"flag": 1}, shared, shared, {}]
    ids = insert_returning_ids(
        session, Venue.__table__, _venue_columns(["a", "b", "c", "d", "e"], props), "code"
    )
    stored = {v.code: v for v in session.scalars(select(Venue))}
    assert [stored[c].id for c in "abcde"] == ids
    assert stored["a"].properties == {"flag": True}
    assert stored["b"].properties == {"flag": 1}
    assert stored["c"].properties == stored["d"].properties == {"tags": ["サロン"]}
    assert stored["e"].properties == {}
    assert stored["a"].updated_at == dt.datetime(2025, 4, 1, 9, 30)


def test_insert_returning_ids_maps_each_key_to_its_new_row_after_existing_rows(
    session: Session,
) -> None:
    bulk_insert(
        session, Venue.__table__, [{k: v[0] for k, v in _venue_columns(["old"], [{}]).items()}]
    )
    ids = insert_returning_ids(
        session, Venue.__table__, _venue_columns(["z", "y", "x"], [{}, {}, {}]), "code"
    )
    by_code = dict(session.execute(select(Venue.code, Venue.id)).tuples().all())
    assert ids == [by_code["z"], by_code["y"], by_code["x"]]
    assert by_code["old"] not in ids
    assert insert_returning_ids(session, Venue.__table__, _venue_columns([], []), "code") == []


def test_bulk_insert_columns_accepts_more_rows_than_one_chunk(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("directory.bulk.CHUNK", 2)
    codes = [f"v{i}" for i in range(5)]
    bulk_insert_columns(session, Venue.__table__, _venue_columns(codes, [{}] * 5))
    assert sorted(session.scalars(select(Venue.code))) == codes


def test_gc_paused_restores_the_collector_even_after_an_error() -> None:
    assert gc.isenabled()
    with pytest.raises(RuntimeError), gc_paused():
        assert not gc.isenabled()
        raise RuntimeError
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        (["a", "", "b"], ["a", None, "b"]),  # the fast path: nothing to strip
        ([" a", "b ", "\u3000", "\tc\n"], ["a", "b", None, "c"]),
        (["'=SUM(A1)", "'+81", "'abc", "it's"], ["=SUM(A1)", "+81", "'abc", "it's"]),
        (["a", None, "  "], ["a", None, None]),
        (["x\x00 y"], ["x\x00 y"]),  # the separator inside a cell only costs the slow path
    ],
)
def test_clean_strips_cells_and_undoes_our_formula_quote(cells: list, expected: list) -> None:
    assert _clean(cells) == expected


def test_large_cache_is_for_the_bulk_write_only(session: Session) -> None:
    from directory.bulk import large_cache

    if session.get_bind().dialect.name != "sqlite":
        with large_cache(session):  # other engines: nothing to change
            pass
        return
    conn = session.connection()
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    with large_cache(session, mib=64):
        assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == -64 * 1024
    assert conn.exec_driver_sql("PRAGMA cache_size").scalar() == before

"""Fast bulk INSERT for imports of national size (150,000 rows and their links).

SQLAlchemy's executemany builds and processes a parameter dict per row (~40 µs each);
for large imports that is most of the time. Here values come column by column; each
distinct value goes through the column type's own bind processor once (values repeat
heavily: timestamps, dates, flags, empty JSON), and the DBAPI's executemany runs the
statement SQLAlchemy compiled for this dialect, so the stored values are exactly what
the ORM would have written.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from typing import Any

from sqlalchemy import Connection, Table, insert, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

CHUNK = 20_000
_UNHASHABLE_TYPES = {dict, list, set}


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for the duration of bulk work.

    An import holds millions of small objects (150,000 rows of cells); each automatic
    collection walks them all, which made a national-size import ~1.7× slower. Nothing
    here creates reference cycles, so collection can wait until the end.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextmanager
def large_cache(session: Session, mib: int = 96) -> Iterator[None]:
    """On SQLite, give the connection a larger page cache for the length of a bulk write.

    The default cache (2 MiB) is far smaller than the indexes a national import touches
    in random order (name keys), so pages are evicted and written over and over; with
    room for them the write runs ~1.5× faster. Other engines are left as they are.
    """
    if session.get_bind().dialect.name != "sqlite":
        yield
        return
    conn = session.connection()
    before = conn.exec_driver_sql("PRAGMA cache_size").scalar_one()
    conn.exec_driver_sql(f"PRAGMA cache_size = -{mib * 1024}")
    try:
        yield
    finally:
        # Restoring must never hide the error that ended the write (the size is only
        # memory: a connection left with the larger cache still works).
        with suppress(SQLAlchemyError):
            conn.exec_driver_sql(f"PRAGMA cache_size = {int(before)}")


def bulk_insert(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys, every non-key column given) into ``table``."""
    if rows:
        bulk_insert_columns(session, table, {c: [row[c] for row in rows] for c in rows[0]})


def bulk_insert_columns(
    session: Session, table: Table, columns: Mapping[str, Sequence[Any]]
) -> None:
    """Insert rows given column by column (equal-length sequences) into ``table``."""
    names = list(columns)
    if not names or not len(columns[names[0]]):
        return
    conn = session.connection()
    dialect = conn.dialect
    values: dict[str, Sequence[Any]] = {}
    for name in names:
        proc = table.c[name].type.dialect_impl(dialect).bind_processor(dialect)
        values[name] = _processed(columns[name], proc) if proc is not None else columns[name]
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        _copy(conn, table, names, values)
        return
    compiled = insert(table).inline().compile(dialect=dialect, column_keys=names)
    sql = str(compiled)
    total = len(values[names[0]])
    for start in range(0, total, CHUNK):
        stop = start + CHUNK
        if compiled.positiontup is not None:  # qmark / format: tuples in statement order
            params: list[Any] = list(
                zip(*(values[c][start:stop] for c in compiled.positiontup), strict=True)
            )
        else:  # named (pyformat): one dict per row
            params = [
                dict(zip(names, row, strict=True))
                for row in zip(*(values[c][start:stop] for c in names), strict=True)
            ]
        conn.exec_driver_sql(sql, params)


def _copy(
    conn: Connection, table: Table, names: list[str], values: Mapping[str, Sequence[Any]]
) -> None:
    """PostgreSQL: the rows through ``COPY … FROM STDIN`` in the session's transaction,
    several times faster than executemany for a national import."""
    quote = conn.dialect.identifier_preparer
    sql = (
        f"COPY {quote.format_table(table)} ({', '.join(quote.quote(n) for n in names)}) FROM STDIN"
    )
    cursor = conn.connection.cursor()
    try:
        with cursor.copy(sql) as copy:
            for row in zip(*(values[n] for n in names), strict=True):
                copy.write_row(row)
    finally:
        cursor.close()


def _processed(values: Sequence[Any], proc: Callable[[Any], Any]) -> list[Any]:
    """``proc`` of every value, called once per distinct value (C-speed lookups after)."""
    types = set(map(type, values))
    if types & _UNHASHABLE_TYPES:  # JSON dicts/lists: importers share one object per value
        by_id = {id(v): v for v in values}  # every object stays alive in ``values``
        memo_ids = {i: proc(v) for i, v in by_id.items()}
        return list(map(memo_ids.__getitem__, map(id, values)))
    types.discard(type(None))
    if len(types) > 1:  # True == 1 as keys: keep the type in the key
        memo_typed = {(type(v), v): None for v in values}
        for key in memo_typed:
            memo_typed[key] = proc(key[1])
        return [memo_typed[(type(v), v)] for v in values]
    memo = {v: proc(v) for v in set(values)}
    return list(map(memo.__getitem__, values))


def insert_returning_ids(
    session: Session, table: Table, columns: Mapping[str, Sequence[Any]], key: str
) -> list[int]:
    """Insert rows column by column and return their ids in order.

    ``key`` must be a unique column. An executemany, then one SELECT of the rows with an
    id above the largest before the insert, is several times faster than INSERT …
    RETURNING row by row, on both engines (ids only grow: SQLite within the write lock,
    PostgreSQL because a sequence hands out larger values than any already visible).
    """
    keys = columns[key]
    if not len(keys):
        return []
    before = session.execute(select(table.c.id).order_by(table.c.id.desc()).limit(1)).scalar()
    bulk_insert_columns(session, table, columns)
    stmt = select(table.c[key], table.c.id)
    if before is not None:
        stmt = stmt.where(table.c.id > before)
    ids = dict(session.execute(stmt).tuples().all())
    return [ids[k] for k in keys]

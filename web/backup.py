"""A consistent copy of the whole database, and back: ``tsunagu db backup|restore``.

A municipality will not keep real data in a system it cannot back up, and a backup is
only worth what its restore drill shows. So the copy is *logical* and engine-neutral:
every table of the schema (the audit log and its anchor included, ids and hashes as they
are, so the chain still verifies) is read inside one snapshot transaction (SQLite: one
read transaction; PostgreSQL: REPEATABLE READ, read only) and written as JSON lines into
a zip file with a manifest: the format, the Alembic revision, and per table its columns,
row count and a SHA-256 of its rows. The same file restores into SQLite or PostgreSQL
(no pg_dump needed on the app's host), and the checksums prove a restore complete.

Restore refuses a database that holds anything (rows in any table but those every new
database has, :data:`MIRRORS`) unless ``force``; it then rebuilds the schema at the
backup's revision, loads the rows in foreign-key order (parents before children, also
within a table that points to itself), sets PostgreSQL's id sequences past the restored
ids, checks every table's checksum, and migrates to the code's head.

The file holds needs (要配慮個人情報): it is written with owner-only permissions, and
both operations are recorded in the audit log (after a restore, in the restored chain).
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import hashlib
import json
import math
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shapely import wkb
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Engine, Table, func, insert, inspect, select, text, update

import matching.models  # noqa: F401  (registers need, match… on the metadata)
import web.models  # noqa: F401  (registers accounts and the audit log)
from directory.db import is_sqlite
from directory.errors import DirectoryError
from directory.i18n import N_, LocalisedError
from directory.models import Base
from directory.schema import alembic_config, current_revision, upgrade

FORMAT = "tsunagu-backup/1"
MANIFEST = "manifest.json"
#: Rows read and inserted per round trip.
BATCH = 5000
#: Tables whose rows do not make a database "non-empty": the rows every new database has
#: (the taxonomy's mirror, rewritten by every ``db upgrade``; the audit anchor and the
#: directory's and the needs' counters, made by the migrations), and the sign-in limits'
#: counters (a failed sign-in on a new database is not data a restore would overwrite).
MIRRORS = frozenset(
    {"category", "audit_anchor", "directory_state", "needs_state", "rate_limit_count"}
)

Progress = Callable[[str, int, int], None]


class BackupError(LocalisedError, DirectoryError):
    """A backup or restore refused or failed, with a message that says what to do."""


@dataclass(frozen=True)
class TableCopy:
    name: str
    rows: int
    sha256: str


@dataclass(frozen=True)
class BackupResult:
    revision: str
    tables: tuple[TableCopy, ...]

    @property
    def rows(self) -> int:
        return sum(t.rows for t in self.tables)


# --------------------------------------------------------------------------- values


def _encode(value: Any) -> Any:
    """A column value as JSON; types JSON lacks are tagged (``{"$d": "2024-04-01"}``), so
    a JSON column's own dicts (tagged ``$json``) never pass for one."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$f": repr(value)}
    if isinstance(value, dt.datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$d": value.isoformat()}
    if isinstance(value, dt.time):
        return {"$t": value.isoformat()}
    if isinstance(value, decimal.Decimal):
        return {"$dec": str(value)}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$b": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, BaseGeometry):
        return {"$wkb": value.wkb_hex}
    if isinstance(value, (dict, list)):
        return {"$json": value}
    raise TypeError(f"cannot back up a value of type {type(value).__name__}")


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "$f": float,
    "$dt": dt.datetime.fromisoformat,
    "$d": dt.date.fromisoformat,
    "$t": dt.time.fromisoformat,
    "$dec": decimal.Decimal,
    "$b": base64.b64decode,
    "$wkb": lambda h: wkb.loads(h, hex=True),
    "$json": lambda v: v,
}


def _decode(value: Any) -> Any:
    if isinstance(value, dict):
        ((tag, inner),) = value.items()
        return _DECODERS[tag](inner)
    return value


def _line(row: dict[str, Any]) -> bytes:
    return json.dumps(row, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


# --------------------------------------------------------------------------- backup


def _tables() -> list[Table]:
    """Every table of the schema, parents before children."""
    return list(Base.metadata.sorted_tables)


def _ordered(table: Table) -> list[Any]:
    return list(table.primary_key.columns) or list(table.columns)


def backup(engine: Engine, path: Path, *, progress: Progress | None = None) -> BackupResult:
    """Write every table to ``path`` (a zip; ``path.part`` until complete, owner-only)."""
    revision = current_revision(engine)
    if revision is None:
        raise BackupError(N_("the database has no schema yet: nothing to back up"))
    part = path.with_name(path.name + ".part")
    copies: list[TableCopy] = []
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with (
            os.fdopen(fd, "wb") as raw,
            zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf,
            _snapshot(engine) as conn,
        ):
            for table in _tables():
                total = conn.execute(select(func.count()).select_from(table)).scalar_one()
                digest = hashlib.sha256()
                done = 0
                with zf.open(f"tables/{table.name}.jsonl", "w", force_zip64=True) as out:
                    rows = conn.execution_options(yield_per=BATCH).execute(
                        select(table).order_by(*_ordered(table))
                    )
                    for row in rows.mappings():
                        line = _line({k: _encode(v) for k, v in row.items()})
                        digest.update(line + b"\n")
                        out.write(line + b"\n")
                        done += 1
                        if progress is not None and done % BATCH == 0:
                            progress(table.name, done, total)
                copies.append(TableCopy(table.name, done, digest.hexdigest()))
            manifest = {
                "format": FORMAT,
                "revision": revision,
                "dialect": engine.dialect.name,
                "made_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "tables": [
                    {
                        "name": c.name,
                        "columns": [col.name for col in Base.metadata.tables[c.name].columns],
                        "rows": c.rows,
                        "sha256": c.sha256,
                    }
                    for c in copies
                ],
            }
            zf.writestr(MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=1))
        os.replace(part, path)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return BackupResult(revision, tuple(copies))


class _snapshot:
    """A connection reading one consistent state of the database."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def __enter__(self) -> Any:
        self.conn = self.engine.connect()
        if not is_sqlite(self.engine):  # SQLite: one read transaction is one WAL snapshot
            self.conn = self.conn.execution_options(
                isolation_level="REPEATABLE READ", postgresql_readonly=True
            )
        self.conn.begin()
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.rollback()
        self.conn.close()


def table_checksums(engine: Engine) -> dict[str, tuple[int, str]]:
    """``{table: (rows, sha256)}`` computed as a backup computes them: the restore drill
    compares these before and after."""
    out = {}
    with _snapshot(engine) as conn:
        for table in _tables():
            digest = hashlib.sha256()
            n = 0
            rows = conn.execution_options(yield_per=BATCH).execute(
                select(table).order_by(*_ordered(table))
            )
            for row in rows.mappings():
                digest.update(_line({k: _encode(v) for k, v in row.items()}) + b"\n")
                n += 1
            out[table.name] = (n, digest.hexdigest())
    return out


# --------------------------------------------------------------------------- restore


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest of a backup file; BackupError when it is not one."""
    try:
        with zipfile.ZipFile(path) as zf:
            manifest = json.loads(zf.read(MANIFEST))
    except FileNotFoundError as exc:
        raise BackupError(N_("{path}: no such file"), path=path) from exc
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as exc:
        raise BackupError(N_("{path}: not a Tsunagu backup file"), path=path) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(N_("{path}: not a Tsunagu backup file"), path=path)
    return manifest


def holds_data(engine: Engine) -> str | None:
    """The first table holding rows (:data:`MIRRORS` aside), else None."""
    names = set(inspect(engine).get_table_names())
    with engine.connect() as conn:
        for table in _tables():
            if (
                table.name in names
                and table.name not in MIRRORS
                and conn.execute(select(table).limit(1)).first() is not None
            ):
                return table.name
    return None


def restore(
    engine: Engine, path: Path, *, force: bool = False, progress: Progress | None = None
) -> BackupResult:
    """Replace the (empty, or with ``force`` any) database by the backup at ``path``."""
    manifest = read_manifest(path)
    revision = manifest["revision"]
    script = alembic_config()
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        known = ScriptDirectory.from_config(script).get_revision(revision) is not None
    except CommandError:
        known = False
    if not known:
        raise BackupError(
            N_(
                "{path} was made by a newer Tsunagu (schema {revision}): update Tsunagu "
                "before restoring it"
            ),
            path=path,
            revision=revision,
        )
    busy = holds_data(engine)
    if busy is not None and not force:
        raise BackupError(
            N_(
                "the database is not empty (table {table} has rows): restore into an empty "
                "database, or add --force to replace everything in it"
            ),
            table=busy,
        )
    _rebuild_schema(engine, revision)
    copies = []
    with zipfile.ZipFile(path) as zf, engine.execution_options(tsunagu_write=True).begin() as conn:
        for entry in manifest["tables"]:
            table = Base.metadata.tables.get(entry["name"])
            if table is None:
                raise BackupError(
                    N_("{path}: table {table} is unknown to this version of Tsunagu"),
                    path=path,
                    table=entry["name"],
                )
            copies.append(_load_table(conn, zf, table, entry, progress))
        if not is_sqlite(engine):
            _advance_sequences(conn)
    upgrade(engine)  # to the code's head, and the taxonomy mirror in sync
    return BackupResult(revision, tuple(copies))


def _rebuild_schema(engine: Engine, revision: str) -> None:
    """An empty schema at ``revision``: everything dropped (Alembic's own downgrades, so
    PostgreSQL's trigger functions go too), then created up to the backup's revision."""
    from alembic import command

    cfg = alembic_config()
    with engine.connect() as conn:
        raw = conn.connection.dbapi_connection  # outside any transaction (a PRAGMA's rule)
        if is_sqlite(engine) and raw is not None:  # dropping district trips its parent links
            raw.execute("PRAGMA foreign_keys = OFF")
        try:
            with conn.begin():
                cfg.attributes["connection"] = conn
                if current_revision(engine) is not None:
                    command.downgrade(cfg, "base")
                command.upgrade(cfg, revision)
        finally:
            if is_sqlite(engine) and raw is not None:
                raw.execute("PRAGMA foreign_keys = ON")


def _load_table(
    conn: Any, zf: zipfile.ZipFile, table: Table, entry: dict[str, Any], progress: Progress | None
) -> TableCopy:
    """Insert one table's rows in batches (all at once only for a table that points to
    itself, to order parents first); the checksum is checked before the transaction
    commits, so a damaged file leaves nothing behind."""
    digest = hashlib.sha256()
    total, done = entry["rows"], 0
    held: list[dict[str, Any]] = []
    selfish = _self_references(table)

    # rows the migrations themselves made (the audit anchor, the directory's counter) are
    # updated to the backup's values rather than inserted twice
    key = [c.name for c in table.primary_key.columns]
    seeded = {tuple(r[k] for k in key): r for r in conn.execute(select(table)).mappings().all()}

    def flush(rows: list[dict[str, Any]]) -> None:
        nonlocal done
        values = [{k: _decode(v) for k, v in r.items()} for r in rows]
        fresh = []
        for v in values:
            old = seeded.get(tuple(v.get(k) for k in key)) if seeded else None
            if old is None:
                fresh.append(v)
            elif any(old[c] != v[c] for c in v if c in old):
                where = [table.c[k] == v[k] for k in key]
                conn.execute(update(table).where(*where).values(**v))
        if fresh:
            conn.execute(insert(table), fresh)
        done += len(rows)
        if progress is not None and rows:
            progress(table.name, done, total)

    with zf.open(f"tables/{table.name}.jsonl") as lines:
        for raw in lines:
            line = raw.rstrip(b"\n")
            digest.update(line + b"\n")
            held.append(json.loads(line))
            if not selfish and len(held) >= BATCH:
                flush(held)
                held = []
    if selfish:
        held = _parents_first(held, selfish)
        for start in range(0, len(held), BATCH):
            flush(held[start : start + BATCH])
    else:
        flush(held)
    if digest.hexdigest() != entry["sha256"] or done != total:
        raise BackupError(
            N_("the backup's table {table} is damaged (its checksum does not match)"),
            table=table.name,
        )
    return TableCopy(table.name, done, entry["sha256"])


def _self_references(table: Table) -> list[tuple[str, str]]:
    """(column, referenced column) of the foreign keys a table has to itself."""
    return [
        (fk.parent.name, fk.column.name) for fk in table.foreign_keys if fk.column.table is table
    ]


def _parents_first(
    rows: list[dict[str, Any]], selfish: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    """Rows of a table that points to itself (district.parent_id) ordered so each row
    comes after the row it points to."""
    placed: set[Any] = set()
    out: list[dict[str, Any]] = []
    waiting = rows
    while waiting:
        later = []
        for r in waiting:
            if all(r.get(col) is None or r.get(col) in placed for col, _ in selfish):
                out.append(r)
                placed.update(r.get(ref) for _, ref in selfish)
            else:
                later.append(r)
        if len(later) == len(waiting):  # a loop or a dangling parent: let the database say
            out.extend(later)
            break
        waiting = later
    return out


def _advance_sequences(conn: Any) -> None:
    """PostgreSQL: each id sequence continues after the restored ids."""
    for table in _tables():
        for column in table.primary_key.columns:
            if column.autoincrement is True or (
                column.autoincrement == "auto" and column.type.python_type is int
            ):
                sequence = conn.execute(
                    text("SELECT pg_get_serial_sequence(:t, :c)"),
                    {"t": table.name, "c": column.name},
                ).scalar()
                if sequence:
                    conn.execute(
                        text(
                            f"SELECT setval(:s, COALESCE((SELECT MAX({column.name}) "
                            f"FROM {table.name}), 0) + 1, false)"
                        ),
                        {"s": sequence},
                    )

"""`tsunagu db backup` / `db restore`: the restore drill, on the engine under test.

A backup is only worth what its restore shows: every table's rows (ids, hashes, JSON,
geometry, dates) come back identical — the checksum of every table equal — the audit
chain still verifies, the export is the same, and a restore never lands on data it
would destroy unless asked.
"""

from __future__ import annotations

import json
import os
import stat
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select

from directory.db import make_engine, transaction
from directory.models import District
from directory.schema import current_revision, head_revision
from web.audit import verify
from web.backup import BackupError, backup, holds_data, restore, table_checksums


@pytest.fixture
def demo(engine: Engine, demo_town_with_needs: Engine, cli) -> Engine:  # type: ignore[no-untyped-def]
    # a matched need, an account and audit events: every kind of table has rows
    assert cli("match", "--need", "N-0001", "--on", "2026-11-23", "--json").exit_code == 0
    added = cli(
        "user",
        "add",
        "sato",
        "--role",
        "tier2",
        "--area",
        "04445-A1",
        "--password-stdin",
        input_="correct horse battery staple\n",
    )
    assert added.exit_code == 0, added.stderr
    return engine


def run(url: str, *args: object):  # type: ignore[no-untyped-def]
    from web.cli import main

    return CliRunner().invoke(
        main,
        [str(a) for a in args],
        env={"DATABASE_URL": url, "LANG": "ja_JP.UTF-8"},
        catch_exceptions=False,
    )


def test_restore_drill_gives_every_table_back(
    demo: Engine, db_url: str, other_db_url: str, tmp_path: Path
) -> None:
    before = table_checksums(demo)
    assert all(before[t][0] > 0 for t in ("district", "resource", "need", "match", "audit_event"))
    file = tmp_path / "tsunagu.backup"
    made = run(db_url, "db", "backup", file)
    assert made.exit_code == 0, made.stderr
    assert "バックアップしました" in made.stderr
    assert stat.S_IMODE(os.stat(file).st_mode) == 0o600  # it holds needs
    assert not file.with_name(file.name + ".part").exists()

    restored = run(other_db_url, "db", "restore", file)
    assert restored.exit_code == 0, restored.stderr
    target = make_engine(other_db_url)
    try:
        after = table_checksums(target)
        # every table as it was, but the audit log, which gained the backup and restore
        for name, value in before.items():
            if name not in ("audit_event", "directory_state"):
                assert after[name] == value, name
        assert current_revision(target) == head_revision()
        with transaction(target) as s:
            checked, broken = verify(s)
            assert broken is None and checked == after["audit_event"][0]
            assert s.scalar(select(District.name).where(District.code == "04445-A1")) == "中新田"
        # the same export from both databases
        for url in (db_url, other_db_url):
            out = tmp_path / f"export-{url[-12:].replace('/', '_')}.csv"
            assert run(url, "export", "resources", "--format", "csv", "-o", out).exit_code == 0
        exports = sorted(tmp_path.glob("export-*.csv"))
        assert exports[0].read_bytes() == exports[1].read_bytes()
        # new rows get new ids after the restored ones (PostgreSQL's sequences moved on)
        assert run(other_db_url, "match", "--need", "N-0002", "--json").exit_code == 0
    finally:
        target.dispose()


def test_restore_refuses_a_database_with_data_unless_forced(
    demo: Engine, db_url: str, other_db_url: str, tmp_path: Path
) -> None:
    file = tmp_path / "b.zip"
    backup(demo, file)
    # onto itself: refused, nothing changed
    refused = run(db_url, "db", "restore", file)
    assert refused.exit_code == 1 and "空ではありません" in refused.stderr
    assert holds_data(demo) is not None
    # an empty database made by `db upgrade` (only the taxonomy's mirror) is empty
    target = make_engine(other_db_url)
    try:
        assert run(other_db_url, "db", "upgrade").exit_code == 0
        assert holds_data(target) is None
        assert restore(target, file).rows > 0
        again = run(other_db_url, "db", "restore", file, "--force")
        assert again.exit_code == 0, again.stderr
        assert table_checksums(target)["need"] == table_checksums(demo)["need"]
    finally:
        target.dispose()


def test_a_damaged_or_foreign_file_is_refused_and_changes_nothing(
    demo: Engine, other_db_url: str, tmp_path: Path
) -> None:
    file = tmp_path / "b.zip"
    backup(demo, file)
    damaged = tmp_path / "damaged.zip"
    with zipfile.ZipFile(file) as src, zipfile.ZipFile(damaged, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "tables/need.jsonl":
                data = data.replace(b"N-0001", b"N-9999", 1)
            dst.writestr(item, data)
    target = make_engine(other_db_url)
    try:
        result = run(other_db_url, "db", "restore", damaged)
        assert result.exit_code == 1 and "need" in result.stderr and "壊れて" in result.stderr
        assert holds_data(target) is None  # the transaction rolled back
        # not a backup at all; a backup of a newer schema
        (tmp_path / "x.zip").write_bytes(b"PK not really")
        assert (
            "バックアップファイルではありません"
            in run(other_db_url, "db", "restore", tmp_path / "x.zip").stderr
        )
        newer = tmp_path / "newer.zip"
        with zipfile.ZipFile(file) as src, zipfile.ZipFile(newer, "w") as dst:
            for item in src.infolist():
                data = src.read(item)
                if item.filename == "manifest.json":
                    manifest = json.loads(data)
                    manifest["revision"] = "9999"
                    data = json.dumps(manifest).encode()
                dst.writestr(item, data)
        with pytest.raises(BackupError, match="新しい"):
            restore(target, newer)
        assert "No such" not in run(other_db_url, "db", "restore", tmp_path / "nope.zip").stderr
    finally:
        target.dispose()


def test_a_backup_restores_into_the_other_engine(demo: Engine, tmp_path: Path) -> None:
    """The file is engine-neutral: whatever this suite runs on, it restores into SQLite
    (moving from a SQLite file to PostgreSQL is the same path the other way)."""
    file = tmp_path / "b.zip"
    backup(demo, file)
    target = make_engine(f"sqlite:///{tmp_path / 'copy.sqlite'}")
    try:
        restore(target, file)
        before, after = table_checksums(demo), table_checksums(target)
        assert {t: v for t, v in after.items() if t != "audit_event"} == {
            t: v for t, v in before.items() if t != "audit_event"
        }
        with transaction(target) as s:
            assert verify(s)[1] is None
    finally:
        target.dispose()

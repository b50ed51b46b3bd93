"""Benchmark: import a national-scale resources file (DATA_FORMATS §3).

About 146,000 通いの場 exist in Japan, so the full run generates 150,000 rows over a
generated prefecture of districts, and imports them into SQLite (and PostgreSQL when
DATABASE_URL names one). Each measurement runs in its own process so peak memory (max
RSS) is its own; the floor is a plain ``pandas.read_csv`` of the same file.

    python benchmarks/import_resources.py [--quick] [--rows N] [--engine sqlite|postgresql|both]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
# This folder holds maps.py and web.py: first on sys.path (a script's own folder) they
# would stand in for the packages of those names, so the project comes first instead.
sys.path[:] = [
    str(HERE.parent),
    *(p for p in sys.path if Path(p or ".").resolve() != HERE),
    str(HERE),  # last: the sibling benchmarks stay importable (reports imports match)
]

CATEGORIES = [
    "サロン",
    "ミニデイ",
    "お茶のみ場",
    "老人クラブ",
    "百歳体操",
    "買い物支援",
    "見守り",
    "雪かき",
    "ごみ出し",
    "配食",
    "送迎",
    "家事援助",
    "ボランティア",
    "ふれあい・いきいきサロン",
]
SCHEDULES = [
    ("月水金", "10:00", "12:00", ""),
    ("木", "10時", "12時", "第2・第4木曜"),
    ("", "", "", "毎月15日"),
    ("平日", "9:00", "11:30", "祝日休み"),
    ("", "13時30分", "15時", "毎月第1月曜 12月～3月"),
    ("火・金", "7:00", "8:30", "年末年始休み"),
    ("土日", "", "", ""),
    ("", "", "", "不定期"),
    ("毎日", "", "", "12月～3月"),
    ("", "午後1時", "午後3時", "第３水曜"),
]
HEADER = [
    "ID",
    "名称",
    "種別",
    "名称_カナ",
    "説明",
    "団体名",
    "住所",
    "緯度",
    "経度",
    "対象地区",
    "利用可能曜日",
    "開始時間",
    "終了時間",
    "利用可能日時特記事項",
    "定員",
    "空き",
    "費用",
    "対象者",
    "送迎",
    "電話番号",
    "状態",
    "公開",
    "最終確認日",
    "備考",
]


def generate_csv(path: Path, rows: int, districts: list[tuple[str, float, float]]) -> None:
    rng = random.Random(7)
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for i in range(rows):
            code, lon, lat = districts[rng.randrange(len(districts))]
            days, start, end, note = SCHEDULES[rng.randrange(len(SCHEDULES))]
            located = rng.random() < 0.6
            writer.writerow(
                [
                    f"B-{i:06d}",
                    f"架空サロン{i}号（架空）",
                    CATEGORIES[i % len(CATEGORIES)],
                    f"かくうさろん{i}",
                    "地域の高齢者が集う場（架空のデータ）",
                    f"架空の会{i % 5000}",
                    f"架空県架空市{i}",
                    f"{lat + rng.random() * 0.009:.6f}" if located else "",
                    f"{lon + rng.random() * 0.009:.6f}" if located else "",
                    "" if located else code,
                    days,
                    start,
                    end,
                    note,
                    str(rng.randrange(5, 40)),
                    rng.choice(["あり", "なし", "3", ""]),
                    rng.choice(["無料", "100円", "1回300円"]),
                    rng.choice(["65歳以上", "要支援", ""]),
                    rng.choice(["あり", "なし", ""]),
                    f"0000-00-{i % 10000:04d}",
                    rng.choice(["", "", "", "休止中"]),
                    rng.choice(["", "", "否"]),
                    rng.choice(["2024-04-01", "令和6年4月1日", "2023/10/2"]),
                    "架空のデータ",
                ]
            )


def _child(kind: str, csv_path: str, db_url: str) -> None:
    """Run one measurement in this (child) process and print it as JSON."""
    import resource
    import time

    start_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if kind == "pandas":
        import pandas as pd

        t = time.perf_counter()
        frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
        elapsed, n = time.perf_counter() - t, len(frame)
    else:
        from sqlalchemy import event

        from directory.db import make_engine, transaction
        from directory.resources import import_resources
        from directory.taxonomy import load_taxonomy

        load_taxonomy()  # dictionaries load once per process; not part of the import
        engine = make_engine(db_url)
        # The database's own share: time inside the DBAPI's execute/executemany, and the
        # commit. What is left is ours (reading, checking, preparing the rows).
        in_db = [0.0]

        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn, cursor, statement, parameters, context, executemany):
            conn.info["t"] = time.perf_counter()

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn, cursor, statement, parameters, context, executemany):
            in_db[0] += time.perf_counter() - conn.info.pop("t")

        import directory.bulk

        copy = directory.bulk._copy  # PostgreSQL's COPY goes around the cursor events

        def _timed_copy(*args):
            started = time.perf_counter()
            copy(*args)
            in_db[0] += time.perf_counter() - started

        directory.bulk._copy = _timed_copy

        start_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t = time.perf_counter()
        with transaction(engine) as s:
            result = import_resources(s, Path(csv_path))
            committing = time.perf_counter()
        elapsed = time.perf_counter() - t
        in_db[0] += time.perf_counter() - committing
        n = result.created + result.updated + result.unchanged
        engine.dispose()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "rows": n,
                "peak_mib": peak / 1024,
                "growth_mib": (peak - start_rss) / 1024,
                "database_seconds": in_db[0] if kind != "pandas" else 0.0,
            }
        )
    )


def _measure(kind: str, csv_path: Path, db_url: str) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(csv_path), db_url],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _prepare_db(engine_name: str, folder: Path, geo: tuple[Path, Path]) -> tuple[str, object]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from directory.db import make_engine, normalise_url, transaction
    from directory.geography import import_districts, import_venues
    from directory.schema import upgrade

    cleanup = None
    if engine_name == "sqlite":
        url = f"sqlite:///{folder / 'bench.sqlite'}"
    else:
        server = normalise_url(
            os.environ.get("DATABASE_URL", "").strip()
            or "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        )
        schema = f"bench_{uuid.uuid4().hex[:12]}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = (
            make_url(server)
            .update_query_dict({"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )

        def cleanup() -> None:
            with admin.connect() as c:
                c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()

    engine = make_engine(url)
    upgrade(engine)
    with transaction(engine) as s:
        import_districts(s, geo[0])
        import_venues(s, geo[1])
    engine.dispose()
    return url, cleanup


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3], sys.argv[4])
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="5,000 rows (CI)")
    parser.add_argument("--rows", type=int, default=150_000)
    parser.add_argument("--engine", choices=["sqlite", "postgresql", "both"], default="both")
    args = parser.parse_args()
    rows = 5_000 if args.quick else args.rows
    from benchmarks.import_geography import generate

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        geo = generate(folder, 2_500, 3_000)
        doc = json.loads(geo[0].read_text())
        districts = [
            (f["properties"]["code"], *f["geometry"]["coordinates"][0][0])
            for f in doc["features"]
            if f["properties"]["level"] == "district"
        ]
        csv_path = folder / "resources.csv"
        generate_csv(csv_path, rows, districts)
        size = csv_path.stat().st_size / 2**20
        print(f"file: {rows:,} rows, {size:.1f} MiB")
        floor = _measure("pandas", csv_path, "")
        print(
            f"pandas read_csv (floor) {floor['seconds']:7.2f} s "
            f"{floor['rows'] / floor['seconds']:10,.0f} rows/s  peak {floor['peak_mib']:7.1f} MiB"
        )
        engines = ["sqlite", "postgresql"] if args.engine == "both" else [args.engine]
        for engine_name in engines:
            url, cleanup = _prepare_db(engine_name, folder, geo)
            try:
                for label in ("import (new rows)", "re-import (unchanged)"):
                    m = _measure("import", csv_path, url)
                    print(
                        f"{engine_name:10s} {label:22s} {m['seconds']:7.2f} s "
                        f"{m['rows'] / m['seconds']:10,.0f} rows/s  "
                        f"{m['seconds'] / floor['seconds']:5.1f}× floor  "
                        f"peak {m['peak_mib']:7.1f} MiB (+{m['growth_mib']:.1f} MiB for the import)"
                    )
                    db = m["database_seconds"]
                    print(
                        f"{'':10s} {'  of which the database':22s} {db:7.2f} s "
                        f"{'':17s}{db / floor['seconds']:5.1f}× floor  "
                        f"(statements, COPY and the commit; the rest "
                        f"{m['seconds'] - db:.2f} s is reading, checking and preparing rows)"
                    )
            finally:
                if cleanup:
                    cleanup()


if __name__ == "__main__":
    main()

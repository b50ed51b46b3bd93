"""Benchmark: the annual report for a prefecture, and a backup and restore of it (issue 13).

A generated prefecture — 35 municipalities (the geography of ``benchmarks/match.py``),
50,000 resources and 200,000 needs over fiscal years 2023 and 2024, a third of them with
a referral (proposed, contacted, connected or ended, each step on the need's timeline),
a sixth still open — is bulk-inserted into a fresh database. Then, timed:

* ``tsunagu report annual --fy 2024`` as the service makes it (every area, with FY2023
  beside it; the unmet counts run the matcher on the open needs) and its XLSX;
* ``tsunagu db backup`` of the whole database and ``db restore`` into an empty one.

Target: the report in under 30 s. Run on SQLite by default, on PostgreSQL with
``--database postgresql+psycopg://…`` (a fresh schema is made and dropped).

    python benchmarks/reports.py [--quick] [--database URL]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
# The packages first, this folder last: benchmarks/maps.py must not stand in for ``maps``.
sys.path[:] = [
    str(HERE.parent),
    *(p for p in sys.path if Path(p or ".").resolve() != HERE),
    str(HERE),  # last: the sibling benchmarks stay importable (reports imports match)
]

TARGET_SECONDS = 30.0
STEPS = ("proposed", "contacted", "connected")
ENDS = ("declined", "not_eligible", "no_capacity", "unreachable", "ended")


def _fresh_url(base: str | None, folder: Path, name: str) -> tuple[str, Any]:
    """A new empty database: a SQLite file, or a schema of the PostgreSQL database."""
    if base is None:
        return f"sqlite:///{folder / name}.sqlite", None
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return url.render_as_string(hide_password=False), drop


def populate_needs(engine: Any, geo: Any, resource_ids: list[int], n: int, seed: int = 9) -> None:
    """``n`` needs over FY2023–FY2024 with categories, referrals and their timelines."""
    from directory.bulk import bulk_insert
    from directory.db import transaction
    from matching.models import Match, MatchEvent, Need, NeedCategory

    rng = random.Random(seed)
    first = dt.date(2023, 4, 1)
    codes = ["salon", "garbage", "shopping", "watch", "snow", "meals", "transport", "housework"]
    now = dt.datetime(2025, 5, 1, 9, 0)
    chunk = 20_000
    with transaction(engine) as s:
        for start in range(0, n, chunk):
            needs, cats, matches, events = [], [], [], []
            for i in range(start, min(n, start + chunk)):
                home = geo.leaves[rng.randrange(len(geo.leaves))]
                recorded = first + dt.timedelta(days=rng.randrange(730))
                referred = rng.random() < 0.33
                status = "open" if rng.random() < 1 / 6 else ("matched" if referred else "closed")
                needs.append(
                    {
                        "id": i + 1,
                        "external_id": f"N-{i + 1:07d}",
                        "resident_ref": f"R-{rng.getrandbits(32):08x}",
                        "district_id": home.id,
                        "lat": None,
                        "lon": None,
                        "text": "架空の相談",
                        "days": None,
                        "time_start": None,
                        "time_end": None,
                        "months": None,
                        "max_walk_m": 800,
                        "transport": False,
                        "age": 70 + rng.randrange(25),
                        "attributes": [],
                        "recorded_on": recorded,
                        "urgency": "normal",
                        "source": "架空のデータ",
                        "status": status,
                        "consent_on": recorded,
                        "consent_by": "本人",
                        "basis": None,
                        "version": 1,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                cats.append(
                    {"need_id": i + 1, "category_code": rng.choice(codes), "inferred": False}
                )
                if not referred:
                    continue
                mid = len(matches) + start + 1
                steps = STEPS[: rng.randrange(1, 4)]
                final = steps[-1] if rng.random() < 0.7 else rng.choice(ENDS)
                matches.append(
                    {
                        "id": mid,
                        "need_id": i + 1,
                        "resource_id": rng.choice(resource_ids),
                        "score": 0.8,
                        "factors": {},
                        "reasons": [],
                        "status": final,
                        "note": None,
                        "version": 1,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                day = recorded
                for step in (*steps, final) if final not in steps else steps:
                    day = day + dt.timedelta(days=rng.randrange(1, 20))
                    events.append(
                        {
                            "need_id": i + 1,
                            "match_id": mid,
                            "status": step,
                            "note": None,
                            "happened_on": day,
                            "recorded_by": "bench",
                            "recorded_at": now,
                        }
                    )
            bulk_insert(s, Need.__table__, needs)
            bulk_insert(s, NeedCategory.__table__, cats)
            bulk_insert(s, Match.__table__, matches)
            bulk_insert(s, MatchEvent.__table__, events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 resources, 20,000 needs")
    parser.add_argument("--database", default=None, help="a PostgreSQL URL (default SQLite)")
    args = parser.parse_args()
    n_resources, n_needs = (5_000, 20_000) if args.quick else (50_000, 200_000)

    from match import generate_geography, generate_resources, populate  # type: ignore[import-not-found]

    from directory.db import make_engine
    from web.actors import system_actor
    from web.backup import backup, restore
    from web.db import Database
    from web.reports import make_report, report_xlsx

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url, drop = _fresh_url(args.database, folder, "prefecture")
        other_url, drop_other = _fresh_url(args.database, folder, "restored")
        engine = make_engine(url)
        try:
            t0 = time.perf_counter()
            geo = generate_geography(35)
            records, texts = generate_resources(geo, n_resources)
            populate(engine, geo, records, texts)
            populate_needs(engine, geo, [r.id for r in records], n_needs)
            t1 = time.perf_counter()
            db = Database(engine)
            report = make_report(db, system_actor("bench"), fy=2024, today=dt.date(2025, 4, 15))
            t2 = time.perf_counter()
            data = report_xlsx(report)
            t3 = time.perf_counter()
            file = folder / "prefecture.backup"
            made = backup(engine, file)
            t4 = time.perf_counter()
            target = make_engine(other_url)
            restore(target, file)
            t5 = time.perf_counter()
            target.dispose()
        finally:
            engine.dispose()
            for cleanup in (drop, drop_other):
                if cleanup is not None:
                    cleanup()
    engine_name = "PostgreSQL" if args.database else "SQLite"
    report_s = t2 - t1
    print(
        f"annual report, {engine_name}: 35 municipalities, {n_resources:,} resources, "
        f"{n_needs:,} needs"
    )
    print(f"  generate and insert            {t1 - t0:8.1f} s")
    ok = report_s < TARGET_SECONDS
    print(
        f"  report (FY2024 beside FY2023)  {report_s:8.1f} s   target < {TARGET_SECONDS:.0f} s"
        f"   {'ok' if ok else 'MISSED'}  ({len(report.places)} areas)"
    )
    print(f"  XLSX                           {t3 - t2:8.1f} s   {len(data) / 1024:,.0f} KiB")
    size = file.stat().st_size if file.exists() else 0
    print(
        f"  backup                         {t4 - t3:8.1f} s   {made.rows:,} rows"
        + (f", {size / 2**20:,.1f} MiB" if size else "")
    )
    print(f"  restore into an empty database {t5 - t4:8.1f} s")
    if not ok and not args.quick:
        sys.exit(1)


if __name__ == "__main__":
    main()

"""Benchmark: ``/unmet`` and ``/public`` at the size of a prefecture (issue 12 points 5–6).

A generated prefecture (``benchmarks/match.py``'s geography and resources, the needs and
referrals of ``benchmarks/reports.py``: FY2023 and FY2024, a sixth still open, a third
with a referral) is inserted into a fresh database; then, timed through the app as a
tier-1 coordinator and an anonymous resident (the Flask test client: no network):

* ``GET /unmet`` for FY2024 by district (the matcher runs on the open needs of the year),
  the same by area and for one month, ``/unmet.csv`` and ``/api/v1/unmet``;
* ``GET /public/<town>`` (the resident map and, once per directory version, its PDF for
  the page count) cold and warm, and a revalidation answered 304.

    python benchmarks/unmet.py [--quick] [--database URL]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The packages first, this folder last: benchmarks/maps.py must not stand in for ``maps``.
sys.path[:] = [
    str(HERE.parent),
    *(p for p in sys.path if Path(p or ".").resolve() != HERE),
    str(HERE),  # last: the sibling benchmarks stay importable (reports imports match)
]


def _timed(call: object, repeat: int) -> tuple[float, float]:
    """(first, median of the rest) in seconds."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        call()  # type: ignore[operator]
        times.append(time.perf_counter() - t)
    return times[0], statistics.median(times[1:] or times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5,000 resources, 20,000 needs")
    parser.add_argument("--database", default=None, help="a PostgreSQL URL (default SQLite)")
    args = parser.parse_args()
    n_resources, n_needs = (5_000, 20_000) if args.quick else (50_000, 200_000)

    import importlib

    from sqlalchemy import select

    import maps  # noqa: F401  (the package, before reports.py puts this folder first)
    from directory.db import make_engine
    from directory.models import District
    from web import accounts, create_app
    from web.actors import system_actor
    from web.db import get_db

    match = importlib.import_module("match")
    reports = importlib.import_module("reports")
    generate_geography, generate_resources = match.generate_geography, match.generate_resources
    populate, populate_needs, fresh_url = match.populate, reports.populate_needs, reports._fresh_url

    with tempfile.TemporaryDirectory() as tmp:
        url, drop = fresh_url(args.database, Path(tmp), "prefecture")
        engine = make_engine(url)
        try:
            geo = generate_geography(35)
            records, texts = generate_resources(geo, n_resources)
            populate(engine, geo, records, texts)
            populate_needs(engine, geo, [r.id for r in records], n_needs)
            engine.dispose()
            app = create_app({"TESTING": True, "DATABASE_URL": url})
            with app.app_context(), get_db().write() as s:
                accounts.add_user(
                    s, system_actor("bench"), "bench", role="tier1", password="x" * 20
                )
                town = s.scalar(
                    select(District.code).where(District.level == "municipality").limit(1)
                )
            staff = app.test_client()
            with app.app_context(), get_db().read() as s:
                user = accounts.find_user(s, "bench")
                assert user is not None
                cookie_id = f"{user.id}:{user.session_version}"
            with staff.session_transaction() as session:  # signed in without the form
                session["_user_id"] = cookie_id
                session["_fresh"] = True
            anonymous = app.test_client()
            rows = []
            for label, client, path in (
                ("/unmet FY2024 by district", staff, "/unmet?fy=2024"),
                ("/unmet FY2024 by area", staff, "/unmet?fy=2024&level=area"),
                ("/unmet FY2024, June", staff, "/unmet?fy=2024&month=6"),
                ("/unmet.csv FY2024", staff, "/unmet.csv?fy=2024"),
                ("/api/v1/unmet FY2024", staff, "/api/v1/unmet?fy=2024"),
                (f"/public/{town}", anonymous, f"/public/{town}"),
            ):

                def get(client=client, path=path) -> None:  # type: ignore[no-untyped-def]
                    response = client.get(path)
                    assert response.status_code == 200, (path, response.status_code)

                rows.append((label, *_timed(get, 4)))
            etag = anonymous.get(f"/public/{town}").headers["ETag"]
            first, warm = _timed(
                lambda: anonymous.get(f"/public/{town}", headers={"If-None-Match": etag}), 5
            )
            rows.append((f"/public/{town} revalidated (304)", first, warm))
            app.extensions["db_engine"].dispose()
        finally:
            if drop is not None:
                drop()
    engine_name = "PostgreSQL" if args.database else "SQLite"
    print(f"unmet and public pages, {engine_name}: {n_resources:,} resources, {n_needs:,} needs")
    for label, first, warm in rows:
        print(f"  {label:40s} first {first * 1000:8.0f} ms   then {warm * 1000:8.0f} ms")


if __name__ == "__main__":
    main()

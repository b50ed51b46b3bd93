"""Benchmark: the resource search page (``GET /resources``) at national scale.

About 146,000 通いの場 exist in Japan, so the full run imports 150,000 generated resources
(the file of ``benchmarks/import_resources.py`` over a generated prefecture of 2,500
districts) and then requests ``/resources`` through the app (rendering included) with a
mix of what coordinators type: hiragana for katakana, misspelt words, two words, facets
(category, area, weekday, a date), later pages — anonymously (public, active resources)
and signed in (all of them). Each question is new (remembered answers are dropped before
it); it prints p50/p95/max of the wall time per request and the CPU time of the process
per request (the machine may be busy with other work), the CPU time of the same question
asked again at once (answered from memory), the cold
build of the index, and how long the first search after an edit takes (the edited
resource is re-read from the directory's change log, not rebuilt). Target (issue 12):
p95 ≤ 200 ms at 150,000 resources.

    python benchmarks/web_search.py [--quick] [--rows N] [--requests N] [--database URL]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
# This folder holds maps.py and web.py: first on sys.path (a script's own folder) they
# would stand in for the packages of those names, so the project comes first instead.
sys.path[:] = [
    str(HERE.parent),
    *(p for p in sys.path if Path(p or ".").resolve() != HERE),
    str(HERE),  # last: the sibling benchmarks stay importable (reports imports match)
]

TARGET_P95_MS = 200.0
PASSWORD = "benchmark password 2026"

QUERIES = (
    "/resources?q=さろん",  # hiragana for サロン
    "/resources?q=ｻﾛﾝ",  # half width
    "/resources?q=ごみだし",  # the category's reading
    "/resources?q=ぼらんてあ",  # a typo
    "/resources?q=かくう+さろん+123",  # three words
    "/resources?q=架空の会12",
    "/resources?category=salon",
    "/resources?category=見守り&weekday=火",
    "/resources?q=さろん&weekday=月&weekday=木",
    "/resources?open_on=2026-12-03",
    "/resources?q=体操&open_on=2026-12-08",
    "/resources?page=5",
    "/resources",
    "/resources?q=さろん&page=40",
    "/api/v1/resources?q=さろん&per_page=50",
)


def _build(folder: Path, rows: int) -> str:
    """A SQLite directory of ``rows`` generated resources; returns its URL."""
    from benchmarks.import_geography import generate
    from benchmarks.import_resources import generate_csv
    from directory.db import make_engine, transaction
    from directory.geography import import_districts, import_venues
    from directory.resources import import_resources
    from directory.schema import upgrade

    districts_path, venues_path = generate(folder, 2_500, 3_000)
    doc = json.loads(districts_path.read_text())
    districts = [
        (f["properties"]["code"], *f["geometry"]["coordinates"][0][0])
        for f in doc["features"]
        if f["properties"]["level"] == "district"
    ]
    csv_path = folder / "resources.csv"
    generate_csv(csv_path, rows, districts)
    url = f"sqlite:///{folder / 'bench.sqlite'}"
    engine = make_engine(url)
    upgrade(engine)
    with transaction(engine) as s:
        import_districts(s, districts_path)
        import_venues(s, venues_path)
        import_resources(s, csv_path)
    engine.dispose()
    return url


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95, ordered[-1]


def _signed_in(app, login: str):  # type: ignore[no-untyped-def]
    from web import accounts
    from web.actors import system_actor
    from web.db import get_db

    with app.app_context(), get_db().write() as s:
        if accounts.find_user(s, login) is None:
            accounts.add_user(s, system_actor("bench"), login, role="viewer", password=PASSWORD)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    response = client.post(
        "/login", data={"login": login, "password": PASSWORD, "csrf_token": token[1]}
    )
    assert response.status_code == 303, response.status_code
    return client


def run(url: str, requests: int) -> dict[str, float]:
    import secrets

    from web import create_app
    from web.db import get_db
    from web.search import index_cache

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(16)})
    anonymous = app.test_client()
    started = time.perf_counter()
    assert anonymous.get("/resources?q=さろん").status_code == 200
    cold = time.perf_counter() - started
    signed = _signed_in(app, "bench-viewer")
    for client in (anonymous, signed):  # warm both (first hits of each path)
        for path in QUERIES:
            assert client.get(path).status_code == 200, path
    walls: list[float] = []
    cpus: list[float] = []
    again: list[float] = []  # CPU of the same questions asked again (answers remembered)
    with app.app_context():
        answers = index_cache(get_db())
    for i in range(requests):
        client = signed if i % 2 else anonymous
        path = QUERIES[i % len(QUERIES)]
        answers.forget_answers()  # every question new: the search itself is measured
        cpu = time.process_time()
        wall = time.perf_counter()
        response = client.get(path)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        assert response.status_code == 200, path
        cpu = time.process_time()
        assert client.get(path).status_code == 200, path
        again.append(time.process_time() - cpu)
    # an edit, then the next search: the edited row comes from the change log
    from web.actors import system_actor
    from web.resource_service import edit_resource

    with app.app_context():
        db = get_db()
        resource = signed.get("/api/v1/resources?q=さろん&per_page=1").get_json()["resources"][0]
        version = signed.get(resource["url"]).get_json()["version"]
        edit_resource(
            db,
            system_actor("bench"),
            resource["id"],
            version,
            {"notes": f"benchmark edit {time.time()}"},
            "ja",
        )
        wall = time.perf_counter()
        assert signed.get("/resources?q=さろん").status_code == 200
        after_edit = time.perf_counter() - wall
        cache = index_cache(db)
        builds, updates = cache.builds, cache.updates
        with db.read() as s:
            from sqlalchemy import func, select

            from directory.models import Resource

            total = s.scalar(select(func.count(Resource.id))) or 0
    p50, p95, worst = _percentiles(walls)
    c50, c95, _cworst = _percentiles(cpus)
    a50, a95, _aworst = _percentiles(again)
    return {
        "resources": total,
        "requests": requests,
        "cold_s": cold,
        "p50_ms": p50 * 1000,
        "p95_ms": p95 * 1000,
        "max_ms": worst * 1000,
        "cpu_p50_ms": c50 * 1000,
        "cpu_p95_ms": c95 * 1000,
        "again_p50_ms": a50 * 1000,
        "again_p95_ms": a95 * 1000,
        "after_edit_ms": after_edit * 1000,
        "builds": builds,
        "updates": updates,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="5,000 resources (CI)")
    parser.add_argument("--rows", type=int, default=150_000)
    parser.add_argument("--requests", type=int, default=600)
    parser.add_argument("--database", help="search this (generated) database instead")
    args = parser.parse_args()
    rows = 5_000 if args.quick else args.rows
    with tempfile.TemporaryDirectory() as tmp:
        if args.database:
            url = args.database
        else:
            started = time.perf_counter()
            url = _build(Path(tmp), rows)
            print(f"built {rows:,} resources in {time.perf_counter() - started:.0f} s")
        m = run(url, args.requests)
    print(f"resources            {m['resources']:>10,}")
    print(f"index, cold build    {m['cold_s']:>10.2f} s  (first search after start)")
    print(
        f"/resources wall      p50 {m['p50_ms']:6.1f} ms  p95 {m['p95_ms']:6.1f} ms  "
        f"max {m['max_ms']:6.1f} ms  ({m['requests']} requests, anonymous and signed in)"
    )
    print(f"/resources CPU       p50 {m['cpu_p50_ms']:6.1f} ms  p95 {m['cpu_p95_ms']:6.1f} ms")
    print(
        f"  asked again        p50 {m['again_p50_ms']:6.1f} ms  p95 {m['again_p95_ms']:6.1f} ms"
        "  (CPU; the answer and its rendering remembered for this directory version)"
    )
    print(
        f"first search after an edit {m['after_edit_ms']:6.1f} ms "
        f"(index builds {m['builds']}, change-log updates {m['updates']})"
    )
    verdict = "met" if m["p95_ms"] <= TARGET_P95_MS else "MISSED"
    print(f"target p95 ≤ {TARGET_P95_MS:.0f} ms: {verdict}")


if __name__ == "__main__":
    main()

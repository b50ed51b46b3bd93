"""Benchmark: import a generated prefecture-sized geography (districts + venues).

Prints districts/s and venues/s and peak memory for the engine DATABASE_URL names
(a temporary SQLite file when unset). Run by hand for figures; CI runs ``--quick``.

    python benchmarks/import_geography.py [--quick] [--districts N] [--venues N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
import tracemalloc
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

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from directory.db import make_engine, normalise_url, transaction  # noqa: E402
from directory.geography import import_districts, import_venues  # noqa: E402
from directory.schema import upgrade  # noqa: E402


def generate(folder: Path, n_districts: int, n_venues: int) -> tuple[Path, Path]:
    """A grid of square districts under areas under one municipality, and random venues."""
    side = max(1, int(n_districts**0.5))
    step = 0.01
    lon0, lat0 = 139.0, 36.0
    features = [_square("M", "市", "municipality", None, lon0, lat0, side * step)]
    areas = max(1, side // 10)
    for a in range(areas):
        width = side * step / areas
        features.append(
            _square(f"A{a}", f"圏域{a}", "area", "M", lon0 + a * width, lat0, width, side * step)
        )
    for i in range(side):
        for j in range(side):
            area = min(areas - 1, int(i / (side / areas)))
            features.append(
                _square(
                    f"D{i}-{j}",
                    f"地区{i}-{j}",
                    "district",
                    f"A{area}",
                    lon0 + i * step,
                    lat0 + j * step,
                    step,
                )
            )
    rng = random.Random(1)
    venues = [
        {
            "type": "Feature",
            "geometry": {
                "type": "Point",
                "coordinates": [
                    lon0 + rng.random() * side * step,
                    lat0 + rng.random() * side * step,
                ],
            },
            "properties": {"code": f"V{k}", "name": f"集会所{k}", "address": f"住所{k}"},
        }
        for k in range(n_venues)
    ]
    d_path, v_path = folder / "districts.geojson", folder / "venues.geojson"
    d_path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    v_path.write_text(json.dumps({"type": "FeatureCollection", "features": venues}))
    return d_path, v_path


def _square(
    code: str,
    name: str,
    level: str,
    parent: str | None,
    x: float,
    y: float,
    w: float,
    h: float | None = None,
) -> dict:
    h = w if h is None else h
    ring = [[x, y], [x + w, y], [x + w, y + h], [x, y + h], [x, y]]
    props = {"code": code, "name": name, "level": level}
    if parent:
        props["parent"] = parent
    return {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": props,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes for CI")
    parser.add_argument("--districts", type=int, default=10_000)
    parser.add_argument("--venues", type=int, default=20_000)
    args = parser.parse_args()
    if args.quick:
        args.districts, args.venues = 400, 1_000
    server = normalise_url(os.environ.get("DATABASE_URL", "").strip())
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        d_path, v_path = generate(folder, args.districts, args.venues)
        schema = None
        if server and make_url(server).get_backend_name() == "postgresql":
            schema = f"bench_{uuid.uuid4().hex[:12]}"
            admin = create_engine(server, isolation_level="AUTOCOMMIT")
            with admin.connect() as c:
                c.execute(text(f'CREATE SCHEMA "{schema}"'))
            url = make_url(server).update_query_dict({"options": f"-csearch_path={schema}"})
            db_url = url.render_as_string(hide_password=False)
        else:
            db_url = f"sqlite:///{folder / 'bench.sqlite'}"
        engine = make_engine(db_url)
        upgrade(engine)
        try:
            for label, importer, path in (
                ("districts", import_districts, d_path),
                ("venues", import_venues, v_path),
            ):
                tracemalloc.start()
                start = time.perf_counter()
                with transaction(engine) as session:
                    result = importer(session, path)
                elapsed = time.perf_counter() - start
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                n = result.created + result.updated + result.unchanged
                print(
                    f"{engine.dialect.name:10s} import {label:9s} {n:7d} rows "
                    f"{elapsed:7.2f} s {n / elapsed:9.0f} rows/s  peak {peak / 2**20:7.1f} MiB"
                )
        finally:
            engine.dispose()
            if schema:
                with admin.connect() as c:
                    c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()


if __name__ == "__main__":
    main()

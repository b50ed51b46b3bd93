"""Benchmark: export a national-scale directory (DATA_FORMATS §6) with bounded memory.

About 146,000 通いの場 exist in Japan, so the full run imports 150,000 generated resources
(the file of ``benchmarks/import_resources.py``: 60 % with a point, 40 % served by a
district, ten schedule shapes) over a generated prefecture of 2,500 districts, then
exports every one of them (``--all``: the public export is the two thirds that are
public and not ended) in each format, each in its own process so its peak memory (VmHWM)
is its own. Every format is written as it is made (``iter_resources_*``: HSDS, GeoJSON,
iCalendar, and the import format as CSV and XLSX). Target (issue 11):
150,000 resources in under 60 s and 1 GiB per format. Wall time depends on what else
the machine runs: CPU seconds are printed beside it. Exit 1 when the memory target is
missed, or the time target at full size (``--check``).

    python benchmarks/exports.py [--quick] [--rows N] [--formats hsds geojson ics csv xlsx]
                                 [--database URL] [--check]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
# This folder holds maps.py and web.py: first on sys.path (a script's own folder) they
# would stand in for the packages of those names, so the project comes first instead.
sys.path[:] = [
    str(HERE.parent),
    *(p for p in sys.path if Path(p or ".").resolve() != HERE),
    str(HERE),  # last: the sibling benchmarks stay importable (reports imports match)
]

FORMATS = ("hsds", "geojson", "ics", "csv", "xlsx")
TARGET_SECONDS = 60.0
TARGET_MIB = 1024.0


def _memory_mib(field: str) -> float:
    """VmHWM (peak) or VmRSS of this process from /proc, in MiB. Not ru_maxrss: on Linux
    a child started by a large parent inherits the parent's maxrss across exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:  # not Linux
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(fmt: str, db_url: str, out_path: str) -> None:
    """Export one format in this (child) process and print time, size and peak RSS."""
    import datetime as dt
    import time

    from directory import exports
    from directory.db import make_engine, make_sessionmaker
    from directory.taxonomy import load_taxonomy

    load_taxonomy()
    engine = make_engine(db_url)
    start = dt.date(2026, 11, 1)
    base_mib = _memory_mib("VmRSS")
    t = time.perf_counter()
    cpu = time.process_time()
    with make_sessionmaker(engine)() as session, open(out_path, "wb") as out:
        make = {
            "hsds": exports.iter_resources_hsds,
            "geojson": exports.iter_resources_geojson,
            "ics": exports.iter_resources_ics,
            "csv": exports.iter_resources_csv,
            "xlsx": exports.iter_resources_xlsx,
        }[fmt]
        kwargs: dict[str, object] = {"include_private": True}
        if fmt in ("hsds", "ics"):
            kwargs["start"] = start
        for chunk in make(session, **kwargs):
            out.write(chunk)
    elapsed = time.perf_counter() - t
    cpu = time.process_time() - cpu
    peak_mib = _memory_mib("VmHWM")
    engine.dispose()
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "cpu_seconds": cpu,
                "peak_mib": peak_mib,
                "base_mib": base_mib,
                "size_mib": Path(out_path).stat().st_size / 2**20,
            }
        )
    )


def _measure(fmt: str, db_url: str, out_path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", fmt, db_url, str(out_path)],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def _build(folder: Path, rows: int) -> tuple[str, int]:
    """A SQLite directory of ``rows`` generated resources; returns (URL, resources)."""
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
    return url, _count(url)


def _count(url: str) -> int:
    from directory import exports
    from directory.db import make_engine, make_sessionmaker

    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:
        total = exports.count_published(s, include_private=True)
    engine.dispose()
    return total


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3], sys.argv[4])
        return
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="3,000 resources (CI)")
    parser.add_argument("--rows", type=int, default=150_000)
    parser.add_argument("--formats", nargs="+", choices=FORMATS, default=list(FORMATS))
    parser.add_argument("--database", help="export this database instead of building one")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    rows = 3_000 if args.quick else args.rows
    missed = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.database:
            url, published = args.database, _count(args.database)
            rows = published
        else:
            url, published = _build(folder, rows)
        print(f"directory: {published:,} resources exported (--all)")
        for fmt in args.formats:
            m = _measure(fmt, url, folder / f"out.{fmt}")
            print(
                f"{fmt:8s} {m['seconds']:7.2f} s (CPU {m['cpu_seconds']:6.2f} s) "
                f"{published / m['seconds']:8,.0f} resources/s  "
                f"peak {m['peak_mib']:7.1f} MiB (process at start {m['base_mib']:.1f} MiB)  "
                f"file {m['size_mib']:7.1f} MiB"
            )
            # The targets are for 150,000 resources: scale the time target to the size run.
            seconds_target = TARGET_SECONDS * max(rows, 1) / 150_000
            if m["peak_mib"] > TARGET_MIB or (rows >= 150_000 and m["seconds"] > seconds_target):
                missed.append(fmt)
    if missed:
        print(f"targets missed (< {TARGET_SECONDS:.0f} s, < {TARGET_MIB:.0f} MiB): {missed}")
        if args.check:
            sys.exit(1)


if __name__ == "__main__":
    main()

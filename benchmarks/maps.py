"""Benchmark: build the maps from generated resources; print build time and HTML size.

The builders are pure functions, so this needs no database: it generates a grid of
districts and random resources (categories, statuses, public flags, places or served
districts) and times building each map and rendering it to HTML, as the app serves it
(assets linked from /static/vendor) and as a standalone file (assets inlined).

Targets (issue 6): the resident map of one area with ≤ 500 resources under 0.5 s and
1 MB; the coordinator map of 100,000 resources under 10 s and 30 MB. ``--browser`` also
opens the coordinator maps in headless chromium (offline) and times until every marker is
clustered and a zoom step redraws. CI runs ``--quick`` (1,000 resources only).

    python benchmarks/maps.py [--quick] [--sizes 1000 10000 100000] [--browser] [--check]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

from shapely.geometry import box

# Run as a script, this file's folder comes first on sys.path, and since the file is
# called maps.py, ``import maps`` would import the benchmark itself: drop that entry.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

from directory.map_data import CoordinatorResource, MapDistrict, PublicResource  # noqa: E402
from directory.taxonomy import load_taxonomy  # noqa: E402
from maps import coordinator_map, page_html, resident_map, standalone_html  # noqa: E402

RESIDENT_TARGET = (0.5, 1_000_000)
COORDINATOR_TARGET = (10.0, 30_000_000)  # for 100,000 resources

SCHEDULES = [
    "毎週 火 10:00～12:00",
    "毎月 第2・第4木曜 10:00～12:00",
    "平日 9:00～16:00",
    "毎日（12月～3月）",
    "毎月 15日 13:30～15:00（祝日休み）",
    "依頼に応じて（要予約）",
]
STEP = 0.01  # district side in degrees (about 1 km)


def districts_grid(side: int, areas: int = 4) -> list[MapDistrict]:
    """A municipality of side×side square districts in ``areas`` vertical strips."""
    lon0, lat0 = 139.0, 36.0
    out = [
        MapDistrict(
            "M",
            "ベンチ市",
            "municipality",
            None,
            box(lon0, lat0, lon0 + side * STEP, lat0 + side * STEP),
        )
    ]
    width = side * STEP / areas
    for a in range(areas):
        out.append(
            MapDistrict(
                f"A{a}",
                f"圏域{a}",
                "area",
                "M",
                box(lon0 + a * width, lat0, lon0 + (a + 1) * width, lat0 + side * STEP),
            )
        )
    for i in range(side):
        for j in range(side):
            area = min(areas - 1, int(i * areas / side))
            x, y = lon0 + i * STEP, lat0 + j * STEP
            out.append(
                MapDistrict(
                    f"D{i}-{j}",
                    f"地区{i}-{j}",
                    "district",
                    f"A{area}",
                    box(x, y, x + STEP, y + STEP),
                )
            )
    return out


def resources(
    n: int, districts: list[MapDistrict], *, seed: int = 1, public_only: bool = False
) -> list[CoordinatorResource] | list[PublicResource]:
    """``n`` resources: 60% at a place in a district, the rest serving 1–5 districts."""
    rng = random.Random(seed)
    codes = [c.code for c in load_taxonomy()]
    leaves = [d for d in districts if d.level == "district"]
    out: list = []
    for k in range(n):
        d = rng.choice(leaves)
        west, south, east, north = d.geometry.bounds
        located = rng.random() < 0.6
        lat = round(rng.uniform(south, north), 6) if located else None
        lon = round(rng.uniform(west, east), 6) if located else None
        values = dict(
            external_id=f"R-{k}",
            name=f"{d.name}の{rng.choice(['サロン', '体操', 'お茶会', '見守り隊', '除雪隊'])}{k}",
            categories=tuple(sorted(rng.sample(codes, rng.choice([1, 1, 1, 2])), key=codes.index)),
            lat=lat,
            lon=lon,
            districts=()
            if located
            else tuple(x.code for x in rng.sample(leaves, rng.randint(1, 5))),
            schedule=rng.choice(SCHEDULES),
            phone=f"0229-00-{k % 10000:04d}",
            address=f"ベンチ市{d.name}{k % 50 + 1}番地",
            place=f"{d.name}集会所",
            last_verified_on=dt.date(2024, 1 + k % 12, 1 + k % 28),
        )
        if public_only:
            out.append(PublicResource(status="active", **values))
        else:
            status = rng.choices(["active", "paused", "ended"], [90, 7, 3])[0]
            out.append(
                CoordinatorResource(
                    status=status,
                    public=rng.random() < 0.9,
                    organization=f"{d.name}行政区",
                    **values,
                )
            )
    return out


def measure(label: str, build, target: tuple[float, int] | None) -> dict:  # type: ignore[no-untyped-def]
    t0 = time.perf_counter()
    m = build()
    t1 = time.perf_counter()
    page = page_html(m)
    t2 = time.perf_counter()
    standalone = standalone_html(build())
    page_bytes, file_bytes = len(page.encode()), len(standalone.encode())
    ok = target is None or (t2 - t0 <= target[0] and max(page_bytes, file_bytes) < target[1])
    print(
        f"{label:34s} build {t1 - t0:6.2f} s + render {t2 - t1:5.2f} s = {t2 - t0:6.2f} s | "
        f"page {page_bytes / 1e6:6.2f} MB | standalone {file_bytes / 1e6:6.2f} MB"
        + ("" if target is None else ("  ok" if ok else "  OVER TARGET"))
    )
    return {"label": label, "seconds": t2 - t0, "page": page, "standalone": standalone, "ok": ok}


def browser_timing(html: str, located: int) -> str:
    """Seconds until every marker is in the cluster, and for one zoom step, offline."""
    chromium = shutil.which("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return "playwright not installed"
    if chromium is None:
        return "chromium not installed"
    with tempfile.TemporaryDirectory() as folder, sync_playwright() as p:
        path = Path(folder) / "map.html"
        path.write_text(html, encoding="utf-8")
        b = p.chromium.launch(
            executable_path=chromium,
            args=[
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        ctx = b.new_context(viewport={"width": 1280, "height": 900})
        ctx.route(
            "**/*", lambda r: r.continue_() if r.request.url.startswith("file:") else r.abort()
        )
        page = ctx.new_page()
        t0 = time.perf_counter()
        page.goto(path.as_uri(), timeout=120_000)
        page.wait_for_function(
            f"window.tsunaguMaps && window.tsunaguMaps[0].count() === {located}",
            timeout=120_000,
            polling=50,
        )
        loaded = time.perf_counter() - t0
        zoom = page.evaluate("""() => new Promise(done => {
            const map = Object.values(window).find(v => v && v._leaflet_id && v.getZoom);
            const t = performance.now();
            map.once('zoomend', () => requestAnimationFrame(() => done(performance.now() - t)));
            map.setZoom(map.getZoom() + 1, {animate: false});
        })""")
        b.close()
    return f"all markers in {loaded:5.2f} s, zoom step {zoom / 1000:5.2f} s"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="1,000 resources only (CI)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument(
        "--browser", action="store_true", help="also time the coordinator maps in headless chromium"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()
    sizes = [1_000] if args.quick else args.sizes
    load_taxonomy()  # read once, as a running app has
    results = []

    districts = districts_grid(40)  # 1,600 districts, 4 areas
    area = [d for d in districts if d.code == "A0" or d.parent == "A0"]
    public = resources(500, area, public_only=True)
    results.append(
        measure(
            "resident map, 1 area, 500 resources",
            lambda: resident_map(public, area, credits=["出典：ベンチマーク"]),
            RESIDENT_TARGET,
        )
    )
    for n in sizes:
        data = resources(n, districts)
        target = COORDINATOR_TARGET if n >= 100_000 else None
        result = measure(
            f"coordinator map, {n:,} resources",
            lambda data=data: coordinator_map(data, districts),
            target,
        )
        results.append(result)
        if args.browser:
            located = sum(1 for r in data if r.lat is not None)
            print(f"{'':34s} browser: {browser_timing(result['standalone'], located)}")
    return 1 if args.check and not all(r["ok"] for r in results) else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: the coordinator's main pages under load (issue 12 point 9).

The demo town plus generated data — 10,000 resources and 20,000 needs made from the
demo's own (every copy numbered and spread over the demo's districts; needs recorded over
FY2024–FY2025, a sixth still open) — served by ``tsunagu serve`` (the threaded server
``make run`` starts) on 127.0.0.1 in its own process. Twenty clients, each a tier-2
coordinator signed in through the §8 form (areas taken in turn), then ask in a loop,
for a bounded time:

* ``/resources?q=…`` — a forgiving search (hiragana, typos);
* ``/resources/<id>`` — a resource page;
* ``/needs/<id>`` — a need of their own area with its ranked matches;
* ``/unmet?fy=2025`` — the unmet needs of their areas (the matcher on the year's open needs).

It prints p50 and p95 per page (target: p95 ≤ 200 ms) and the error count. SQLite by
default; ``--database postgresql+psycopg://…`` runs on a fresh schema of that database.
``--quick`` (CI): 2,000 resources, 4,000 needs, 8 seconds.

    python benchmarks/web.py [--quick] [--database URL] [--seconds S] [--clients N]
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

TARGET_MS = 200.0
PASSWORD = "correct horse battery staple"
QUERIES = ("さろん", "サロン", "ごみだし", "見守り", "体操", "除雪", "配食", "茶話会", "ミニデイ")


def fresh_url(base: str | None, folder: Path) -> tuple[str, Any]:
    if base is None:
        return f"sqlite:///{folder / 'web.sqlite'}", None
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    return url.render_as_string(hide_password=False), drop


def build(url: str, n_resources: int, n_needs: int, clients: int) -> dict[str, Any]:
    """The demo, then copies of its resources and needs; the clients' accounts."""
    from sqlalchemy import insert, select

    from directory.db import make_engine, transaction
    from directory.demo import SEEDS_DIR, load_demo
    from directory.models import District, Resource, Schedule, resource_category, resource_district
    from directory.schema import upgrade
    from directory.state import bump
    from matching.models import Need, NeedCategory
    from matching.needs import import_needs
    from web import accounts
    from web.actors import system_actor

    rng = random.Random(12)
    engine = make_engine(url)
    upgrade(engine)
    with transaction(engine) as s:
        load_demo(s)
        import_needs(s, SEEDS_DIR / "kami" / "needs.json")
    with transaction(engine) as s:
        districts = [
            d for d, level in s.execute(select(District.id, District.level)) if level == "district"
        ]
        resources = [dict(r._mapping) for r in s.execute(select(Resource.__table__))]
        cats = [dict(r._mapping) for r in s.execute(select(resource_category))]
        served = [dict(r._mapping) for r in s.execute(select(resource_district))]
        schedules = [dict(r._mapping) for r in s.execute(select(Schedule.__table__))]
        next_id = max(r["id"] for r in resources) + 1
        cats_of: dict[int, list[dict[str, Any]]] = {}
        for c in cats:
            cats_of.setdefault(c["resource_id"], []).append(c)
        sched_of: dict[int, list[dict[str, Any]]] = {}
        for sc in schedules:
            sched_of.setdefault(sc["resource_id"], []).append(sc)
        lists_districts = {x["resource_id"] for x in served}
        new_rows, new_cats, new_served, new_sched = [], [], [], []
        for k in range(n_resources):
            src = resources[k % len(resources)]
            rid = next_id + k
            new_rows.append(
                src
                | {
                    "id": rid,
                    "external_id": f"G-{k:06d}",
                    "name": f"{src['name']}{k}",
                    "name_key": f"{src['name_key']}{k}",
                    "version": 1,
                }
            )
            new_cats += [c | {"resource_id": rid} for c in cats_of.get(src["id"], [])]
            if src["id"] in lists_districts:
                new_served.append({"resource_id": rid, "district_id": rng.choice(districts)})
            new_sched += [
                {k2: v for k2, v in sc.items() if k2 != "id"} | {"resource_id": rid}
                for sc in sched_of.get(src["id"], [])
            ]
        for table, rows in (
            (Resource.__table__, new_rows),
            (resource_category, new_cats),
            (resource_district, new_served),
            (Schedule.__table__, new_sched),
        ):
            for start in range(0, len(rows), 2000):
                s.execute(insert(table), rows[start : start + 2000])
        needs = [dict(r._mapping) for r in s.execute(select(Need.__table__))]
        need_cats = [dict(r._mapping) for r in s.execute(select(NeedCategory.__table__))]
        by_need: dict[int, list[dict[str, Any]]] = {}
        for c in need_cats:
            by_need.setdefault(c["need_id"], []).append(c)
        next_need = max(n["id"] for n in needs) + 1
        rows, links = [], []
        for k in range(n_needs):
            src = needs[k % len(needs)]
            nid = next_need + k
            rows.append(
                src
                | {
                    "id": nid,
                    "external_id": f"GN-{k:06d}",
                    "resident_ref": f"R-{rng.getrandbits(32):08x}",
                    "district_id": rng.choice(districts),
                    "lat": None,
                    "lon": None,
                    "recorded_on": dt.date(2024, 4, 1) + dt.timedelta(days=rng.randrange(600)),
                    "status": "open" if rng.random() < 1 / 6 else "closed",
                    "version": 1,
                }
            )
            links += [c | {"need_id": nid} for c in by_need.get(src["id"], [])]
        for table, part in ((Need.__table__, rows), (NeedCategory.__table__, links)):
            for start in range(0, len(part), 2000):
                s.execute(insert(table), part[start : start + 2000])
        bump(s)
    areas = ["04445-A1", "04445-A2", "04445-A3"]
    logins = []
    with transaction(engine) as s:
        for c in range(clients):
            login = f"bench{c:02d}"
            accounts.add_user(
                s,
                system_actor("bench"),
                login,
                role="tier2",
                password=PASSWORD,
                areas=[areas[c % len(areas)]],
            )
            logins.append((login, areas[c % len(areas)]))
    # what each client will ask for: resources anyone sees, needs of each area
    from web.actors import NeedAreas

    with transaction(engine) as s:
        resource_ids = list(s.scalars(select(Resource.external_id).where(Resource.public)))
        area_ids = {
            code: did
            for code, did in s.execute(
                select(District.code, District.id).where(District.code.in_(areas))
            )
        }
        tree = NeedAreas(s)
        needs_of: dict[str, list[str]] = {a: [] for a in areas}
        code_of = {v: k for k, v in area_ids.items()}
        for ext, did in s.execute(select(Need.external_id, Need.district_id)):
            area = tree.area_of(did)
            if area in code_of and len(needs_of[code_of[area]]) < 400:
                needs_of[code_of[area]].append(ext)
    engine.dispose()
    return {"logins": logins, "resources": resource_ids, "needs": needs_of}


class Client(threading.Thread):
    """One coordinator: signs in, then asks for pages until ``stop`` is set."""

    def __init__(
        self,
        port: int,
        login: str,
        area: str,
        plan: dict[str, Any],
        go: Any,
        stop: Any,
        think: float = 0.0,
        record: Any = None,
    ):
        super().__init__(daemon=True)
        self.think = think
        self.record = record
        self.port, self.login, self.area, self.plan = port, login, area, plan
        self.go, self.stop = go, stop
        self.ready = threading.Event()
        self.times: dict[str, list[float]] = {}
        self.errors: list[str] = []
        self.cookie = ""
        self.rng = random.Random(login)
        self.reconnects = 0

    def _request(self, method: str, path: str, body: str | None = None) -> tuple[int, str]:
        headers = {"Cookie": self.cookie, "Accept-Language": "ja"}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = f"http://127.0.0.1:{self.port}"
        self.conn.request(method, path, body=body, headers=headers)
        response = self.conn.getresponse()
        text = response.read().decode("utf-8", "replace")
        for cookie in response.headers.get_all("Set-Cookie") or []:
            if cookie.startswith("tsunagu_session="):
                self.cookie = cookie.split(";", 1)[0]
        return response.status, text

    def run(self) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        status, page = self._request("GET", "/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        if token is None:
            self.errors.append(f"login page {status}")
            self.ready.set()
            return
        form = urllib.parse.urlencode(
            {"login": self.login, "password": PASSWORD, "csrf_token": token[1]}
        )
        status, _ = self._request("POST", "/login", form)
        self.ready.set()
        if status != 303:
            self.errors.append(f"sign-in {status}")
            return
        self.go.wait()  # everyone signed in (argon2 is slow on purpose): then the clock
        kinds = ("search", "resource", "need", "unmet")
        turn = self.rng.randrange(len(kinds))
        fresh = self.record is None
        while not self.stop.is_set():
            if not fresh and self.record.is_set():
                # a new connection once the clock starts: the first ones were opened while
                # the server's workers were still starting, and stay with whichever was up
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                fresh = True
            kind = kinds[turn % len(kinds)]
            turn += 1
            if kind == "search":
                path = "/resources?" + urllib.parse.urlencode({"q": self.rng.choice(QUERIES)})
            elif kind == "resource":
                path = f"/resources/{self.rng.choice(self.plan['resources'])}"
            elif kind == "need":
                path = f"/needs/{self.rng.choice(self.plan['needs'][self.area])}"
            else:
                path = "/unmet?fy=2025"
            t = time.perf_counter()
            try:
                try:
                    status, _ = self._request("GET", path)
                except http.client.RemoteDisconnected:
                    # the server closed an idle kept-alive connection as the request left:
                    # browsers send a GET again on a new connection, and so do we
                    self.reconnects += 1
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                    status, _ = self._request("GET", path)
            except (OSError, http.client.HTTPException) as exc:
                self.errors.append(f"{kind}: {exc}")
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                continue
            elapsed = (time.perf_counter() - t) * 1000
            if status != 200:
                self.errors.append(f"{kind} {path} {status}")
            elif not self.stop.is_set() and (self.record is None or self.record.is_set()):
                self.times.setdefault(kind, []).append(elapsed)
            if self.think:
                self.stop.wait(self.rng.expovariate(1 / self.think))  # reading the page


def serve(url: str, folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = os.environ | {
        "DATABASE_URL": url,
        "TSUNAGU_SECRET_KEY": uuid.uuid4().hex * 2,
        "TSUNAGU_INSTANCE": str(folder),
    }
    tsunagu = Path(sys.executable).with_name("tsunagu")
    proc = subprocess.Popen(
        [str(tsunagu), "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/login")
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the server did not start")


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by ``pid`` and every process below it (the
    server's master and workers), from /proc; 0 where there is no /proc."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    parent: dict[int, int] = {}
    used: dict[int, float] = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw = entry.read_text()
        except OSError:
            continue
        fields = raw[raw.rfind(")") + 2 :].split()
        me = int(entry.parent.name)
        parent[me] = int(fields[1])
        used[me] = (int(fields[11]) + int(fields[12])) / ticks
    below, todo = {pid}, [pid]
    while todo:
        p = todo.pop()
        for child, up in parent.items():
            if up == p and child not in below:
                below.add(child)
                todo.append(child)
    return sum(used.get(p, 0.0) for p in below)


def postgres_cpu() -> dict[int, float]:
    """CPU seconds used so far by each process of the PostgreSQL server on this machine
    (none when it runs elsewhere, or where there is no /proc)."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    used = {}
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            raw = entry.read_text()
        except OSError:
            continue
        if raw[raw.find("(") + 1 : raw.rfind(")")] != "postgres":
            continue
        fields = raw[raw.rfind(")") + 2 :].split()
        used[int(entry.parent.name)] = (int(fields[11]) + int(fields[12])) / ticks
    return used


def cpu_since(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used between two readings by the processes alive at the second (one that ended
    in between, such as a finished autovacuum worker, is not counted)."""
    return sum(used - before.get(pid, 0.0) for pid, used in after.items())


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--database", default=None, help="a PostgreSQL URL (default SQLite)")
    parser.add_argument("--seconds", type=float, default=None)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument(
        "--think",
        type=float,
        default=0.0,
        help="mean seconds a client reads a page before the next (default 0: back to back)",
    )
    args = parser.parse_args()
    n_resources, n_needs, seconds = (2_000, 4_000, 8.0) if args.quick else (10_000, 20_000, 30.0)
    warm = 4.0 if args.quick else 8.0
    seconds = args.seconds or seconds
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        url, drop = fresh_url(args.database, folder)
        try:
            t0 = time.perf_counter()
            plan = build(url, n_resources, n_needs, args.clients)
            built = time.perf_counter() - t0
            proc, port = serve(url, folder)
            try:
                go, stop, record = threading.Event(), threading.Event(), threading.Event()
                clients = [
                    Client(port, login, area, plan, go, stop, args.think, record)
                    for login, area in plan["logins"]
                ]
                for c in clients:
                    c.start()
                for c in clients:
                    c.ready.wait(120)
                # every client asks from the start but the first seconds are not counted:
                # each worker process builds its caches (search index, matcher snapshot,
                # each area's unmet report) on its first requests
                go.set()
                time.sleep(warm)
                server_cpu, client_cpu = tree_cpu(proc.pid), time.process_time()
                database_before = postgres_cpu()
                record.set()
                time.sleep(seconds)
                stop.set()
                server_cpu = tree_cpu(proc.pid) - server_cpu
                database_cpu = cpu_since(database_before, postgres_cpu())
                client_cpu = time.process_time() - client_cpu
                for c in clients:
                    c.join(60)
            finally:
                proc.terminate()
                proc.wait(10)
        finally:
            if drop is not None:
                drop()
    engine_name = "PostgreSQL" if args.database else "SQLite"
    print(
        f"web pages, {engine_name}: demo + {n_resources:,} resources, {n_needs:,} needs; "
        f"{args.clients} clients for {seconds:.0f} s after {warm:.0f} s of warm-up "
        f"(built in {built:.0f} s), "
        + (f"reading each page {args.think:g} s on average" if args.think else "back to back")
    )
    errors = [e for c in clients for e in c.errors]
    missed = False
    for kind in ("search", "resource", "need", "unmet"):
        times = [t for c in clients for t in c.times.get(kind, [])]
        if not times:
            print(f"  {kind:<9} no answers")
            missed = True
            continue
        p50, p95 = statistics.median(times), percentile(times, 0.95)
        ok = p95 <= TARGET_MS
        missed |= not ok
        print(
            f"  {kind:<9} {len(times):6,} requests   p50 {p50:7.1f} ms   p95 {p95:7.1f} ms"
            f"   target p95 ≤ {TARGET_MS:.0f} ms   {'ok' if ok else 'MISSED'}"
        )
    total = sum(len(t) for c in clients for t in c.times.values())
    reconnects = sum(c.reconnects for c in clients)
    print(
        f"  throughput {total / seconds:,.0f} pages/s; errors {len(errors)}; "
        f"closed kept-alive connections retried {reconnects}"
    )
    if total:
        print(
            f"  CPU per page: server {server_cpu / total * 1000:.1f} ms "
            f"(all its processes), "
            + (f"PostgreSQL {database_cpu / total * 1000:.1f} ms, " if args.database else "")
            + f"clients {client_cpu / total * 1000:.1f} ms; "
            f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
    for e in errors[:5]:
        print(f"    {e}")
    if errors:
        sys.exit(1)


if __name__ == "__main__":
    main()

"""Resources entered a second time, for the duplicate tests: rows made from the demo's own
resource list (its header, its R-001), written as a file and imported the way a
municipality's list is."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from sqlalchemy import Engine

from directory.db import transaction
from directory.demo import SEEDS_DIR
from directory.resources import ResourceImportResult, import_resources

SOURCE = SEEDS_DIR / "kami" / "resources.csv"


def demo_row(external_id: str) -> dict[str, str]:
    """One row of the demo's resource list, as the file has it."""
    with SOURCE.open(encoding="utf-8-sig") as f:
        return next(r for r in csv.DictReader(f) if r["ID"] == external_id)


def north(lat: float, metres: float) -> float:
    return round(lat + metres / 111_195.0, 6)


def east(lat: float, lon: float, metres: float) -> float:
    return round(lon + metres / (111_195.0 * math.cos(math.radians(lat))), 6)


def copy_of(row: dict[str, str], **changes: object) -> dict[str, str]:
    """A row with ``row``'s kind and districts (every other column empty), on Thursdays."""
    base = {k: "" for k in row} | {
        "種別": row["種別"],
        "対象地区": row["対象地区"],
        "利用可能曜日": "木",
    }
    return base | {k: str(v) for k, v in changes.items()}


def import_rows(engine: Engine, folder: Path, rows: list[dict[str, str]]) -> ResourceImportResult:
    """Write ``rows`` under the demo list's header and import them."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(demo_row("R-001")))
    writer.writeheader()
    writer.writerows(rows)
    path = folder / "planted.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    with transaction(engine) as s:
        return import_resources(s, path)

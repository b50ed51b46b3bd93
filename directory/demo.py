"""Load the demo town from ``seeds/`` through the same importers users run.

Idempotent: a second load reports everything unchanged. Nothing here names the demo
town: the seeds folder says what to load.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from directory.geography import ImportResult, import_districts, import_venues

SEEDS_DIR = Path(__file__).resolve().parents[1] / "seeds"


def demo_manifest(seeds_dir: Path = SEEDS_DIR) -> dict[str, Any]:
    """The seeds folder's ``demo.json``: which files to load, in order."""
    return json.loads((seeds_dir / "demo.json").read_text(encoding="utf-8"))


def load_demo(session: Session, seeds_dir: Path = SEEDS_DIR) -> dict[str, ImportResult]:
    """Import the demo's districts, venues and resources, through the same importers
    users run; the caller commits."""
    manifest = demo_manifest(seeds_dir)
    results: dict[str, ImportResult] = {}
    results["districts"] = import_districts(session, seeds_dir / manifest["districts"])
    results["venues"] = import_venues(session, seeds_dir / manifest["venues"])
    if "resources" in manifest:
        from directory.resources import import_resources

        results["resources"] = import_resources(session, seeds_dir / manifest["resources"])
    return results


def credits(seeds_dir: Path = SEEDS_DIR) -> list[dict[str, Any]]:
    """The data sources whose credit must be shown wherever the demo data appears."""
    return json.loads((seeds_dir / "credits.json").read_text(encoding="utf-8"))

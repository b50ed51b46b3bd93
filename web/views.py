"""The directory pages."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from directory.queries import area_overview, resources_by_area
from directory.schema import require_current
from directory.taxonomy import load_taxonomy
from web.db import get_session

bp = Blueprint("directory", __name__)


@bp.get("/")
def index() -> str:
    """The first page: the tier-2 areas with their districts and venues counts, then each
    area's resources by category with their schedules in words."""
    require_current(current_app.extensions["db_engine"])
    session = get_session()
    taxonomy = load_taxonomy()
    return render_template(
        "directory/index.html",
        overview=area_overview(session),
        areas=resources_by_area(session),
        categories=list(taxonomy),
    )

"""The directory pages."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from directory.queries import area_overview
from directory.schema import require_current
from web.db import get_session

bp = Blueprint("directory", __name__)


@bp.get("/")
def index() -> str:
    """The first page: every tier-2 area with its districts and venues counts."""
    require_current(current_app.extensions["db_engine"])
    overview = area_overview(get_session())
    return render_template("directory/index.html", overview=overview)

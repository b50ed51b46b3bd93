"""The directory pages."""

from __future__ import annotations

from flask import Blueprint, render_template

from directory.taxonomy import load_taxonomy
from web.db import get_db, get_session
from web.i18n import current_lang
from web.security import current_actor, public
from web.services import directory_page

bp = Blueprint("directory", __name__)


@bp.get("/")
@public
def index() -> str:
    """The first page: the tier-2 areas with their districts and venues counts, then each
    area's resources by category with their schedules in words. Without sign-in only
    public, active resources are listed."""
    get_db().require_current()
    return render_template(
        "directory/index.html",
        **directory_page(get_session(), current_actor(), current_lang()),
        categories=list(load_taxonomy()),
    )

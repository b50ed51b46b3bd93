"""``GET /api/v1/unmet?level=&fy=&month=&area=``: the §7 ``unmet`` shape for scripts
(DATA_FORMATS §8), with the pages' rules — tier 2 their own areas, tier 1 and admin
everything, anyone else 403 (401 without credentials). Exact counts: scripts are staff.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from matching.service import LEVELS
from web.db import get_db
from web.unmet_views import counts_for, parse_query

bp = Blueprint("api_unmet", __name__, url_prefix="/api/v1")


@bp.get("/unmet")
def unmet() -> Response:
    """``[{"district", "name", "category", "reason", "count"}]``: the matcher's unmet
    reasons (§5) and the referrals' ends (§8) in one list, as ``tsunagu unmet --json``."""
    get_db().require_current()
    return jsonify([row.as_json() for row in counts_for(parse_query(LEVELS))])

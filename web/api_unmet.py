"""``GET /api/v1/unmet?level=&fy=&month=&area=``: the §7 ``unmet`` shape for scripts
(DATA_FORMATS §8), with the pages' rules — tier 2 their own areas, tier 1 and admin
everything, anyone else 403 (401 without credentials). Exact counts: scripts are staff.
The operation is described in the API's OpenAPI document (:func:`web.api.add_paths`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify

from matching.reasons import REFERRAL_END_LABELS, UNMET_REASONS
from matching.service import LEVELS
from web.api import add_paths, add_schemas
from web.db import get_db
from web.unmet_views import counts_for, parse_query

bp = Blueprint("api_unmet", __name__, url_prefix="/api/v1")


@bp.get("/unmet")
def unmet() -> Response:
    """``[{"district", "name", "category", "reason", "count"}]``: the matcher's unmet
    reasons (§5) and the referrals' ends (§8) in one list, as ``tsunagu unmet --json``."""
    get_db().require_current()
    return jsonify([row.as_json() for row in counts_for(parse_query(LEVELS))])


def _query(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description} | {
        "schema": schema
    }


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


add_schemas(
    {
        "UnmetCount": {
            "type": "object",
            "required": ["district", "name", "category", "reason", "count"],
            "properties": {
                "district": {"type": "string", "description": "district (or area) code"},
                "name": {"type": "string"},
                "category": {"type": "string", "description": "category code (§1)"},
                "reason": {
                    "type": "string",
                    "enum": [*UNMET_REASONS, *REFERRAL_END_LABELS],
                    "description": "a §5 unmet reason or a §8 end of a referral",
                },
                "count": {"type": "integer", "minimum": 1},
            },
        }
    }
)
add_paths(
    {
        "/unmet": {
            "get": {
                "operationId": "countUnmet",
                "summary": "Unmet needs and ended referrals per place, category and reason "
                "(counts only; the caller's areas)",
                "security": [{"bearer": []}],
                "parameters": [
                    _query(
                        "level",
                        "district (default), area or municipality",
                        {
                            "type": "string",
                            "enum": list(LEVELS),
                        },
                    ),
                    _query(
                        "fy",
                        "A fiscal year (April–March), e.g. 2026 for 令和8年度",
                        {
                            "type": "integer",
                        },
                    ),
                    _query(
                        "month",
                        "A month of that fiscal year (needs fy)",
                        {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": 12,
                        },
                    ),
                    _query(
                        "area",
                        "Only this area or district (one of the caller's)",
                        {
                            "type": "string",
                        },
                    ),
                ],
                "responses": {
                    "200": {
                        "description": "The §7 unmet rows",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/UnmetCount"},
                                }
                            }
                        },
                    },
                    "400": _error("A filter that cannot be read"),
                    "401": _error("Not signed in (Authorization: Bearer TOKEN)"),
                    "403": _error("Not allowed for this account (viewers)"),
                    "404": _error("An area that is not the caller's, or does not exist"),
                },
            }
        }
    }
)

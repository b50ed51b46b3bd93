"""The JSON API under ``/api/v1`` (DATA_FORMATS §8) and its OpenAPI 3.1 document.

* ``GET /api/v1/openapi.json`` (public): the document below. Other API modules add their
  operations with :func:`add_paths` (and their schemas with :func:`add_schemas`) when
  they are imported, so the document always lists every operation the app serves.
* ``GET /api/v1/resources`` (public): the search of ``/resources``, same filters.
* ``GET /api/v1/resources/<id>`` (public): one resource with its schedules in words and
  as RRULEs; an anonymous caller gets public, active ones only (others are 404).
* ``PATCH /api/v1/resources/<id>`` with ``If-Match: <version>``: change the fields the
  body names; a stale version is 409 and nothing is written.

Scripts authenticate with ``Authorization: Bearer TOKEN`` (:mod:`web.security`); errors
are ``{"error": code, "message": text}`` (:mod:`web.errors` for the HTTP ones).
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for

from web.db import get_db
from web.i18n import _, current_lang
from web.resource_service import (
    EDITABLE,
    InvalidResource,
    ResourceDetail,
    StaleVersion,
    edit_resource,
    require_editor,
    resource_detail,
    today_in_japan,
)
from web.search import FACETS, BadQuery, Hit, SearchPage, SearchQuery, search
from web.security import current_actor, public

bp = Blueprint("api", __name__, url_prefix="/api/v1")

MAX_PER_PAGE = 100


def error(status: int, code: str, message: str, **extra: Any) -> Response:
    """``{"error": code, "message": text}`` with ``status`` (and any ``extra`` fields)."""
    response = jsonify({"error": code, "message": message, **extra})
    response.status_code = status
    return response


# ----------------------------------------------------------------------------- OpenAPI

_ERROR = {"$ref": "#/components/schemas/Error"}
_ERRORS = {
    str(status): {
        "description": description,
        "content": {"application/json": {"schema": _ERROR}},
    }
    for status, description in (
        (400, "Bad request (a parameter that cannot be read)"),
        (401, "Not signed in (Authorization: Bearer TOKEN)"),
        (403, "Not allowed for this account"),
        (404, "No such record, or not visible to the caller"),
        (409, "Stale version: someone saved first; nothing was written"),
        (413, "Too large"),
        (422, "Values that cannot be used"),
        (429, "Too many requests"),
    )
}


def _responses(ok: dict[str, Any], *statuses: int) -> dict[str, Any]:
    return ok | {str(s): _ERRORS[str(s)] for s in statuses}


def _query(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


_RESOURCE_ID = {
    "name": "id",
    "in": "path",
    "required": True,
    "description": "The resource's ID (the ID column of the resource file)",
    "schema": {"type": "string"},
}

_PATHS: dict[str, dict[str, Any]] = {
    "/resources": {
        "get": {
            "operationId": "searchResources",
            "summary": "Forgiving search (kana, width, typos) with filters and facet counts",
            "security": [{}, {"bearer": []}],
            "parameters": [
                _query("q", "Words (kana or kanji, any width; small typos are forgiven)"),
                _query("category", "A category code, label or synonym (DATA_FORMATS §1)"),
                _query("area", "The code of a daily-living area"),
                _query("district", "The code of a district"),
                _query("weekday", "MO…SU, 月…日 or 平日; repeatable (any of them)"),
                _query(
                    "open_on", "YYYY-MM-DD: open on that day", {"type": "string", "format": "date"}
                ),
                _query("status", "active, paused or ended (signed-in callers)"),
                _query("page", "1, 2, …", {"type": "integer", "minimum": 1}),
                _query(
                    "per_page", f"Results per page (at most {MAX_PER_PAGE})", {"type": "integer"}
                ),
            ],
            "responses": _responses(
                {
                    "200": {
                        "description": "One page of results and the facet counts",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/SearchPage"}
                            }
                        },
                    }
                },
                400,
                401,
                429,
            ),
        }
    },
    "/resources/{id}": {
        "parameters": [_RESOURCE_ID],
        "get": {
            "operationId": "getResource",
            "summary": "One resource, its schedule in words and as RRULEs, its next dates",
            "security": [{}, {"bearer": []}],
            "responses": _responses(
                {
                    "200": {
                        "description": "The resource; the ETag is its version",
                        "headers": {"ETag": {"schema": {"type": "string"}}},
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Resource"}
                            }
                        },
                    }
                },
                401,
                404,
            ),
        },
        "patch": {
            "operationId": "updateResource",
            "summary": "Change some fields, starting from the version in If-Match",
            "security": [{"bearer": []}],
            "parameters": [
                {
                    "name": "If-Match",
                    "in": "header",
                    "required": True,
                    "description": "The version the change starts from (the ETag of GET)",
                    "schema": {"type": "string"},
                }
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/ResourceChange"}}
                },
            },
            "responses": _responses(
                {
                    "200": {
                        "description": "Saved (or nothing changed); the ETag is the new version",
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Resource"}
                            }
                        },
                    }
                },
                400,
                401,
                403,
                404,
                409,
                422,
            ),
        },
    },
}

_SCHEMAS: dict[str, dict[str, Any]] = {
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "description": "A stable code (not_found, conflict …)"},
            "message": {"type": "string", "description": "What happened, in the caller's language"},
        },
    },
    "Schedule": {
        "type": "object",
        "properties": {
            "rrule": {"type": "string", "description": "RFC 5545 RRULE without DTSTART"},
            "start_time": {"type": ["string", "null"], "example": "10:00"},
            "end_time": {"type": ["string", "null"], "example": "12:00"},
            "season_start_month": {"type": ["integer", "null"]},
            "season_end_month": {"type": ["integer", "null"]},
            "holidays": {"type": "string", "enum": ["open", "closed"]},
            "year_end_closed": {"type": "boolean"},
            "anchor_date": {"type": ["string", "null"], "format": "date"},
        },
    },
    "ResourceSummary": {
        "type": "object",
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "categories": {"type": "array", "items": {"type": "string"}},
            "category_labels": {"type": "array", "items": {"type": "string"}},
            "districts": {"type": "array", "items": {"type": "string"}},
            "phone": {"type": ["string", "null"]},
            "address": {"type": ["string", "null"]},
            "place": {"type": ["string", "null"]},
            "schedule": {"type": "string", "description": "The schedule in words"},
            "status": {"type": "string", "enum": ["active", "paused", "ended"]},
            "public": {"type": "boolean"},
            "lat": {"type": ["number", "null"]},
            "lon": {"type": ["number", "null"]},
            "url": {"type": "string", "description": "This resource in the API"},
        },
    },
    "SearchPage": {
        "type": "object",
        "properties": {
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "per_page": {"type": "integer"},
            "pages": {"type": "integer"},
            "resources": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/ResourceSummary"},
            },
            "facets": {
                "type": "object",
                "description": "Per facet (" + ", ".join(FACETS) + "): values with counts",
                "additionalProperties": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "value": {"type": "string"},
                            "label": {"type": "string"},
                            "count": {"type": "integer"},
                            "selected": {"type": "boolean"},
                        },
                    },
                },
            },
        },
    },
    "Resource": {
        "type": "object",
        "description": "Every field of the resource file's format, plus its schedule",
        "properties": {
            "id": {"type": "string"},
            "version": {"type": "integer"},
            "fields": {"type": "object", "description": "The editable fields as stored"},
            "schedule": {
                "type": "object",
                "properties": {
                    "words": {"type": "string"},
                    "understood": {"type": "boolean"},
                    "not_understood": {"type": "array", "items": {"type": "string"}},
                    "rrules": {"type": "array", "items": {"$ref": "#/components/schemas/Schedule"}},
                    "next_dates": {"type": "array", "items": {"type": "object"}},
                },
            },
        },
    },
    "ResourceChange": {
        "type": "object",
        "description": "Any of the editable fields, as in the resource file: "
        + ", ".join(EDITABLE),
        "additionalProperties": False,
        "properties": {
            key: (
                {"type": "array", "items": {"type": "string"}}
                if key in ("categories", "districts")
                else {"type": "boolean"}
                if key == "public"
                else {"type": "string"}
            )
            for key in EDITABLE
        },
    },
}


def add_paths(paths: dict[str, dict[str, Any]]) -> None:
    """Add operations (OpenAPI path items under ``/api/v1``) to the document; a path
    already listed gets the new methods beside its own."""
    for path, item in paths.items():
        _PATHS.setdefault(path, {}).update(item)


def add_schemas(schemas: dict[str, dict[str, Any]]) -> None:
    """Add component schemas the added operations refer to."""
    _SCHEMAS.update(schemas)


def openapi_document(server: str = "/api/v1") -> dict[str, Any]:
    """The OpenAPI 3.1 document of the API as it is now."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Tsunagu API",
            "version": "1",
            "description": "Community resources and referrals for life-support coordinators "
            '(DATA_FORMATS §8). Errors are {"error": code, "message": text}.',
        },
        "servers": [{"url": server}],
        "paths": copy.deepcopy(_PATHS),
        "components": {
            "schemas": copy.deepcopy(_SCHEMAS),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "tsunagu user token LOGIN prints a token once",
                }
            },
        },
    }


@bp.get("/openapi.json")
@public
def openapi() -> Response:
    """The OpenAPI 3.1 document (public: it describes, it holds no data)."""
    return jsonify(openapi_document(url_for("api.openapi").rsplit("/", 1)[0]))


# ----------------------------------------------------------------------------- resources


def _summary(hit: Hit) -> dict[str, Any]:
    return {
        "id": hit.external_id,
        "name": hit.name,
        "categories": list(hit.categories),
        "category_labels": list(hit.category_labels),
        "districts": list(hit.districts),
        "phone": hit.phone,
        "address": hit.address,
        "place": hit.place,
        "schedule": hit.schedule,
        "status": hit.status,
        "public": hit.public,
        "lat": hit.lat,
        "lon": hit.lon,
        "url": url_for("api.resource", external_id=hit.external_id),
    }


def _page(page: SearchPage) -> dict[str, Any]:
    return {
        "total": page.total,
        "page": page.query.page,
        "per_page": page.query.per_page,
        "pages": page.pages,
        "resources": [_summary(h) for h in page.hits],
        "facets": {
            name: [
                {"value": v.value, "label": v.label, "count": v.count, "selected": v.selected}
                for v in values
            ]
            for name, values in page.facets.items()
        },
    }


@bp.get("/resources")
@public
def resources() -> Response:
    """The search of ``/resources`` as JSON (anonymous callers: public, active only)."""
    db = get_db()
    db.require_current()
    try:
        per_page = int(request.args.get("per_page") or 20)
    except ValueError:
        per_page = 0
    if not 1 <= per_page <= MAX_PER_PAGE:
        return error(
            400, "bad_request", _("per_page must be a number from 1 to {max}", max=MAX_PER_PAGE)
        )
    try:
        query = SearchQuery.from_args(request.args, per_page=per_page)
    except BadQuery as exc:
        return error(400, "bad_request", exc.describe(current_lang()), field=exc.field)
    return jsonify(
        _page(search(db, current_actor(), query, current_lang(), today=today_in_japan()))
    )


def _resource_json(info: ResourceDetail) -> dict[str, Any]:
    r = info.resource
    fields = dict(info.state)
    if not info.signed_in:  # staff notes and contact people are not for the public
        for key in ("notes", "organization_contact"):
            fields.pop(key, None)
    return {
        "id": r.external_id,
        "version": r.version,
        "name": r.name,
        "categories": [{"code": c, "label": label} for c, label in info.category_labels],
        "status": r.status,
        "status_label": info.status_label,
        "public": r.public,
        "districts": [{"code": c, "name": n} for c, n in info.districts],
        "areas": [{"code": c, "name": n} for c, n in info.areas],
        "lat": info.lat,
        "lon": info.lon,
        "fields": fields,
        "schedule": {
            "words": info.schedule.words,
            "understood": info.schedule.understood,
            "not_understood": list(info.schedule.not_understood),
            "rrules": info.schedule.rrules,
            "next_dates": [
                {
                    "start": o.start.isoformat(timespec="minutes")
                    if isinstance(o.start, dt.datetime)
                    else o.start.isoformat(),
                    "end": o.end.isoformat(timespec="minutes") if o.end else None,
                }
                for o in info.schedule.next_dates
            ],
        },
        "last_verified_on": r.last_verified_on.isoformat() if r.last_verified_on else None,
        "may_edit": info.may_edit,
    }


def _with_etag(body: dict[str, Any], version: int) -> Response:
    response = jsonify(body)
    response.headers["ETag"] = f'"{version}"'
    return response


@bp.get("/resources/<external_id>")
@public
def resource(external_id: str) -> Response:
    """One resource (404 when the caller may not see it); the ETag is its version."""
    db = get_db()
    db.require_current()
    info = resource_detail(db, current_actor(), external_id, current_lang())
    return _with_etag(_resource_json(info), info.resource.version)


def _if_match() -> int | None:
    raw = request.headers.get("If-Match", "").strip()
    if raw.startswith("W/"):
        raw = raw[2:]
    raw = raw.strip('"')
    return int(raw) if raw.isdigit() else None


@bp.patch("/resources/<external_id>")
def update_resource(external_id: str) -> Response:
    """Change the fields the JSON body names, from the version in ``If-Match``."""
    db = get_db()
    db.require_current()
    lang = current_lang()
    actor = current_actor()
    require_editor(db, actor, external_id)  # who may edit is decided before what is sent
    version = _if_match()
    if version is None:
        return error(
            400,
            "if_match_required",
            _("Send the version you start from in the If-Match header (the ETag of GET)"),
        )
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error(400, "bad_request", _("The body must be a JSON object of fields"))
    try:
        edit_resource(db, actor, external_id, version, body, lang)
    except InvalidResource as exc:
        return error(422, "invalid", exc.describe(lang), fields=exc.errors)
    except StaleVersion as exc:
        return error(
            409,
            "conflict",
            _(
                "Someone saved this resource first (now version {version}); nothing was written",
                version=exc.current_version,
            ),
            current_version=exc.current_version,
            current=exc.current,
        )
    info = resource_detail(db, actor, external_id, lang)
    return _with_etag(_resource_json(info), info.resource.version)


__all__ = ["add_paths", "add_schemas", "bp", "error", "openapi_document"]

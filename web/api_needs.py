"""The needs half of the JSON API (DATA_FORMATS §8), with the pages' rules: the caller's
areas only (another area's need is 404, as one that does not exist), every access
audited. Scripts sign in with ``Authorization: Bearer TOKEN``.

* ``GET /api/v1/needs?state=&district=`` — the caller's needs as §4 objects (+ ``status``)
* ``POST /api/v1/needs`` — a §4 object → 201 with ``Location``; problems → 422 with
  ``problems`` (field, reason), a district outside the caller's areas → 403, a taken
  ``id`` → 409. A missing ``id`` is generated; consent or basis stays a warning (§4).
* ``GET /api/v1/needs/<id>`` — the need with its referrals and timeline
* ``GET /api/v1/needs/<id>/matches?on=YYYY-MM-DD&top=&lang=`` — one element of §5, each
  match with the status of its referral
* ``POST /api/v1/needs/<id>/matches/<resource id>`` ``{"status", "note", "on"}`` — records
  what happened (422 a status that is not §8's, 409 one that cannot follow)

The operations are described in the API's OpenAPI document (:func:`web.api.add_paths`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for

from directory.fiscal import today_in_japan
from web import need_service as ns
from web.api import add_paths, add_schemas
from web.db import get_db
from web.i18n import _, current_lang
from web.security import current_actor
from web.services import require_needs_access

bp = Blueprint("api_needs", __name__, url_prefix="/api/v1")


def _error(status: int, code: str, message: str, **extra: Any) -> tuple[Response, int]:
    return jsonify(error=code, message=message, **extra), status


def _body() -> dict[str, Any] | None:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else None


def _day(value: Any) -> dt.date | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValueError(value)
    return dt.date.fromisoformat(value)


@bp.get("/needs")
def needs() -> Response:
    get_db().require_current()
    return jsonify(
        ns.list_json(
            get_db(),
            current_actor(),
            state=request.args.get("state") or None,
            district=request.args.get("district") or None,
        )
    )


@bp.post("/needs")
def create() -> Response | tuple[Response, int]:
    get_db().require_current()
    require_needs_access(get_db(), current_actor(), "create")  # before looking at the body
    item = _body()
    if item is None:
        return _error(400, "bad_request", _("Send one need as a JSON object (DATA_FORMATS §4)"))
    try:
        created = ns.create_need(
            get_db(), current_actor(), item, lang=current_lang(), require_basis=False
        )
    except ns.NeedInputError as exc:
        problems = [{"field": f, "reason": r} for f, rs in exc.errors.items() for r in rs]
        if exc.denied:
            return _error(
                403, "forbidden", _("The district is not in your areas"), problems=problems
            )
        if exc.conflict:
            return _error(409, "conflict", _("A need with this id is already recorded"))
        return _error(422, "invalid", _("The need has errors"), problems=problems)
    location = url_for("api_needs.need", need_id=created.external_id)
    body = ns.need_json(get_db(), current_actor(), created.external_id)
    body["warnings"] = [{"field": f, "reason": r} for f, rs in created.warnings.items() for r in rs]
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = location
    return response


@bp.get("/needs/<need_id>")
def need(need_id: str) -> Response:
    get_db().require_current()
    return jsonify(ns.need_json(get_db(), current_actor(), need_id))


@bp.get("/needs/<need_id>/matches")
def matches(need_id: str) -> Response | tuple[Response, int]:
    get_db().require_current()
    try:
        on = _day(request.args.get("on")) or today_in_japan()
    except ValueError:
        return _error(400, "bad_request", _("on must be a date (YYYY-MM-DD)"))
    top = request.args.get("top", "5")
    if not top.isdigit() or not 1 <= int(top) <= 50:
        return _error(400, "bad_request", _("top must be a whole number from 1 to 50"))
    try:
        result = ns.need_matches(
            get_db(), current_actor(), need_id, on=on, lang=current_lang(), top=int(top)
        )
    except ValueError as exc:  # a date outside what the matcher can judge
        return _error(400, "bad_request", str(exc))
    return jsonify(result)


@bp.post("/needs/<need_id>/matches/<resource_id>")
def referral(need_id: str, resource_id: str) -> Response | tuple[Response, int]:
    get_db().require_current()
    body = _body() or {}  # checked by the service after the need's area: 404 comes first
    status: str = body["status"] if isinstance(body.get("status"), str) else ""
    note = body.get("note")
    if note is not None and not isinstance(note, str):
        return _error(422, "invalid", _("note must be text"))
    try:
        on = _day(body.get("on"))
    except ValueError:
        return _error(422, "invalid", _("on must be a date (YYYY-MM-DD)"))
    try:
        status = ns.record_referral(
            get_db(),
            current_actor(),
            need_id,
            resource_id,
            status,
            note,
            happened_on=on,
            lang=current_lang(),
        )
    except ns.ReferralError as exc:
        if exc.conflict:
            return _error(409, "conflict", exc.message)
        return _error(422, "invalid", exc.message)
    return jsonify(need=need_id, resource=resource_id, status=status, note=note)


# ----------------------------------------------------------------------------- OpenAPI


def _err(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_NEED = {"$ref": "#/components/schemas/Need"}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}
_RESOURCE = {"name": "resource", "in": "path", "required": True, "schema": {"type": "string"}}
_SIGNED_IN = {
    "401": _err("Not signed in (Authorization: Bearer TOKEN)"),
    "403": _err("Not allowed for this account (viewers, tier 2 without areas)"),
}
_NOT_YOURS = _err("No such need, or one of another area (the two look the same)")
_PROBLEMS = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
    },
}

add_schemas(
    {
        "Need": {
            "type": "object",
            "description": "A need as in DATA_FORMATS §4 (category codes, district code), with "
            "its status (open, matched = connected, closed); one need's GET adds `referrals` "
            "and `timeline`",
            "required": ["id", "district"],
            "properties": {
                "id": {"type": "string"},
                "resident": {"type": "string", "description": "a pseudonym, never a name"},
                "district": {"type": "string"},
                "lat": {"type": "number"},
                "lon": {"type": "number"},
                "categories": {"type": "array", "items": {"type": "string"}},
                "text": {"type": "string"},
                "days": {"type": "array", "items": {"type": "string"}},
                "time": {"type": "string", "examples": ["07:00-09:00"]},
                "months": {"type": "array", "items": {"type": "integer"}},
                "max_walk_m": {"type": "integer"},
                "transport": {"type": "boolean"},
                "age": {"type": "integer"},
                "attributes": {"type": "array", "items": {"type": "string"}},
                "recorded_on": {"type": "string", "format": "date"},
                "urgency": {"type": "string", "enum": ["low", "normal", "high"]},
                "consent_on": {"type": "string", "format": "date"},
                "consent_by": {"type": "string"},
                "basis": {"type": "string"},
                "status": {"type": "string", "enum": ["open", "matched", "closed"]},
            },
        },
        "MatchResult": {
            "type": "object",
            "description": "One element of DATA_FORMATS §5; each match adds the `status` of "
            "its referral",
        },
        "Referral": {
            "type": "object",
            "required": ["status"],
            "properties": {
                "status": {"type": "string", "enum": list(ns.NEXT_STATUSES)},
                "note": {"type": "string"},
                "on": {"type": "string", "format": "date", "description": "when it happened"},
            },
        },
    }
)
add_paths(
    {
        "/needs": {
            "get": {
                "operationId": "listNeeds",
                "summary": "The needs of the caller's areas",
                "security": [{"bearer": []}],
                "parameters": [
                    {"name": "state", "in": "query", "schema": {"type": "string"}},
                    {"name": "district", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": _json({"type": "array", "items": _NEED}, "§4 objects with status"),
                    **_SIGNED_IN,
                },
            },
            "post": {
                "operationId": "createNeed",
                "summary": "Record a need (a §4 object; without id one is generated)",
                "security": [{"bearer": []}],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _NEED}},
                },
                "responses": {
                    "201": _json(_NEED, "Recorded; Location names it; `warnings` beside"),
                    "400": _err("Not a JSON object"),
                    **_SIGNED_IN,
                    "409": _err("A need with this id is already recorded"),
                    "422": _json(
                        {"$ref": "#/components/schemas/Error"}
                        | {"properties": {"problems": _PROBLEMS}},
                        "Fields that cannot be used (`problems`: field and reason, never the value)",
                    ),
                },
            },
        },
        "/needs/{id}": {
            "get": {
                "operationId": "getNeed",
                "summary": "One need with its referrals and timeline",
                "security": [{"bearer": []}],
                "parameters": [_ID],
                "responses": {"200": _json(_NEED, "The need"), **_SIGNED_IN, "404": _NOT_YOURS},
            }
        },
        "/needs/{id}/matches": {
            "get": {
                "operationId": "matchNeed",
                "summary": "The need's ranked matches today (or on `on`) with every reason",
                "security": [{"bearer": []}],
                "parameters": [
                    _ID,
                    {"name": "on", "in": "query", "schema": {"type": "string", "format": "date"}},
                    {"name": "top", "in": "query", "schema": {"type": "integer", "maximum": 50}},
                    {
                        "name": "lang",
                        "in": "query",
                        "schema": {"type": "string", "enum": ["ja", "en"]},
                    },
                ],
                "responses": {
                    "200": _json({"$ref": "#/components/schemas/MatchResult"}, "§5"),
                    "400": _err("A date or top that cannot be used"),
                    **_SIGNED_IN,
                    "404": _NOT_YOURS,
                },
            }
        },
        "/needs/{id}/matches/{resource}": {
            "post": {
                "operationId": "recordReferral",
                "summary": "Record what happened with one resource for the need (§8 statuses)",
                "security": [{"bearer": []}],
                "parameters": [_ID, _RESOURCE],
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Referral"}}
                    },
                },
                "responses": {
                    "200": _json({"type": "object"}, "Recorded in the need's timeline"),
                    **_SIGNED_IN,
                    "404": _NOT_YOURS,
                    "409": _err("A status that cannot follow the referral's current one"),
                    "422": _err("Not a §8 status, or a note or date that cannot be used"),
                },
            }
        },
    }
)

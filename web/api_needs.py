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
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for

from web import need_service as ns
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
        on = _day(request.args.get("on")) or dt.date.today()
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

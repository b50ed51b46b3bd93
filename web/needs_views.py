"""The needs pages (DATA_FORMATS §8): intake, the need with its matches and timeline, the
area's list, the need's map and the resident's list (HTML and PDF).

Thin: :mod:`web.need_service` checks who may do what, audits and does the work; this
module reads the form, picks the language and renders. Nothing here logs or redirects
with a need's value: URLs carry the need's id only, and errors name fields, not values.
Every page works without JavaScript except the maps.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response as BaseResponse

from directory.fiscal import today_in_japan
from directory.i18n import N_, LocalisedText
from directory.map_data import PublicResource, map_districts
from maps import Candidate, need_map, page_html
from web import need_service as ns
from web.db import get_db, get_session
from web.i18n import _, current_lang
from web.maps_views import _credits
from web.security import current_actor, with_nonce

bp = Blueprint("needs", __name__, url_prefix="/needs")


def _today() -> dt.date:
    return today_in_japan()


def _date_arg(name: str) -> dt.date | None:
    value = request.args.get(name, "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BadRequest(
            LocalisedText(N_("{field} is not a date (YYYY-MM-DD)"), field=name)
        ) from None


@bp.get("/")
def index() -> str:
    """The needs of the coordinator's areas, by district and date, filtered by state."""
    page = request.args.get("page", "1")
    listing = ns.list_needs(
        get_db(),
        current_actor(),
        state=request.args.get("state") or None,
        district=request.args.get("district") or None,
        area=request.args.get("area") or None,
        category=request.args.get("category") or None,
        since=_date_arg("since"),
        until=_date_arg("until"),
        page=int(page) if page.isdigit() else 1,
        on=_today(),
        lang=current_lang(),
    )
    kept: dict[str, Any] = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template(
        "needs/index.html",
        listing=listing,
        states=[(s, ns.state_label(s, current_lang())) for s in ns.LIST_STATES],
        args=request.args,
        page_url=lambda p: url_for("needs.index", page=p, **kept),
    )


@bp.route("/new", methods=["GET", "POST"])
def new() -> str | BaseResponse | tuple[str, int]:
    """The intake form; saved → 303 to the need's page, errors → the form again (422)."""
    db, actor, lang = get_db(), current_actor(), current_lang()
    choices = ns.form_choices(db, actor, lang)
    if request.method == "GET":
        return render_template(
            "needs/new.html",
            choices=choices,
            values={"recorded_on": _today().isoformat()},
            errors={},
        )
    item = ns.item_from_form(request.form)
    try:
        created = ns.create_need(db, actor, item, lang=lang, today=_today())
    except ns.NeedInputError as exc:
        values = {
            k: request.form.getlist(k) if k in ns.REPEATABLE else request.form.get(k, "")
            for k in ns.FORM_FIELDS
        }
        return render_template(
            "needs/new.html", choices=choices, values=values, errors=exc.errors
        ), (403 if exc.denied else 422)
    return redirect(url_for("needs.show", need_id=created.external_id, created=1), code=303)


@bp.get("/<need_id>")
def show(need_id: str) -> str:
    """The need, its ranked matches with every reason, the referrals and the timeline."""
    lang = current_lang()
    page = ns.need_page(get_db(), current_actor(), need_id, on=_today(), lang=lang)
    return render_template(
        "needs/show.html",
        need=page,
        status_labels=ns.status_labels(lang),
        created=bool(request.args.get("created")),
        message=_done_message(request.args.get("done")),
    )


@bp.get("/<need_id>/map")
def map_page(need_id: str) -> Response:
    """The need's approximate place, how far the resident can walk and the candidates."""
    lang = current_lang()
    page = ns.need_page(get_db(), current_actor(), need_id, on=_today(), lang=lang)
    districts = map_districts(get_session(), area_code=page.area_code) if page.area_code else []
    point = page.point or (35.0, 135.0)
    m = need_map(
        point,
        page.walk_m,
        [Candidate(r.rank or 0, r.name, r.lat, r.lon, r.score or 0.0) for r in page.ranked],
        districts=districts,
        title=_("Candidates for the request (for staff)"),
        lang=lang,
    )
    return Response(
        with_nonce(page_html(m, url_for("static", filename="vendor"))), mimetype="text/html"
    )


_DONE = {
    "referral": N_("Recorded."),
    "closed": N_("The need is closed."),
    "reopened": N_("The need is open again."),
}


@bp.post("/<need_id>/matches/<resource_id>")
def referral(need_id: str, resource_id: str) -> BaseResponse | tuple[str, int]:
    """Record what happened with one resource (status, note, the day it happened)."""
    lang = current_lang()
    try:
        happened = dt.date.fromisoformat(request.form["on"]) if request.form.get("on") else None
    except ValueError:
        happened = None
    try:
        ns.record_referral(
            get_db(),
            current_actor(),
            need_id,
            resource_id,
            request.form.get("status", "").strip(),
            request.form.get("note"),
            happened_on=happened,
            lang=lang,
        )
    except ns.ReferralError as exc:
        return render_template(
            "error.html", title=_("The record was not saved"), message=exc.message
        ), (409 if exc.conflict else 400)
    return redirect(url_for("needs.show", need_id=need_id, done="referral") + "#timeline", 303)


@bp.post("/<need_id>/close")
def close(need_id: str) -> BaseResponse | tuple[str, int]:
    return _need_event(need_id, ns.close_need, "closed")


@bp.post("/<need_id>/reopen")
def reopen(need_id: str) -> BaseResponse | tuple[str, int]:
    return _need_event(need_id, ns.reopen_need, "reopened")


def _need_event(need_id: str, action: Any, done: str) -> BaseResponse | tuple[str, int]:
    try:
        action(get_db(), current_actor(), need_id, request.form.get("note"), lang=current_lang())
    except ns.ReferralError as exc:
        return render_template(
            "error.html", title=_("The record was not saved"), message=exc.message
        ), (409 if exc.conflict else 400)
    return redirect(url_for("needs.show", need_id=need_id, done=done), 303)


def _done_message(code: str | None) -> str | None:
    msgid = _DONE.get(code or "")
    return _(msgid) if msgid else None


@bp.get("/<need_id>/list")
def resident_list(need_id: str) -> str:
    """The resident's list: the resources picked for the need (ticked on the need page,
    else those contacted or connected), in large text for A4, with a small map."""
    picked = request.args.getlist("r")
    listing = ns.resident_list(
        get_db(), current_actor(), need_id, picked=picked, on=_today(), lang=current_lang()
    )
    return render_template(
        "needs/resident_list.html",
        listing=listing,
        svg=_small_map(listing),
        need_id=need_id,
        pdf_url=url_for("needs.resident_pdf", need_id=need_id, r=picked),
        contact=current_app.config.get("MAP_CONTACT"),
    )


@bp.get("/<need_id>/list.pdf")
def resident_pdf(need_id: str) -> Response:
    """The same list as a print-ready PDF (A4, the map drawn without tiles)."""
    from maps.pdf import resident_pdf as make_pdf

    lang = current_lang()
    listing = ns.resident_list(
        get_db(),
        current_actor(),
        need_id,
        picked=request.args.getlist("r"),
        on=_today(),
        lang=lang,
        export="pdf",
    )
    districts = (
        map_districts(get_session(), area_code=listing.area_code) if listing.area_code else []
    )
    pdf = make_pdf(
        [_public(r) for r in listing.resources],
        districts,
        credits=_credits(),
        title=_("Community activities for you"),
        as_of=listing.as_of,
        contact=current_app.config.get("MAP_CONTACT"),
        lang=lang,
    )
    response = Response(pdf, mimetype="application/pdf")
    response.headers["Content-Disposition"] = "inline; filename=list.pdf"
    return response


def _public(r: ns.ListedResource) -> PublicResource:
    """What the PDF handout takes: the allow-listed fields of an active resource."""
    return PublicResource(
        external_id=r.external_id,
        name=r.name,
        categories=r.categories,
        lat=r.lat,
        lon=r.lon,
        districts=r.districts,
        schedule=r.schedule,
        phone=r.phone,
        address=r.address,
        place=r.place,
        status="active",
        last_verified_on=r.last_verified_on,
    )


def _small_map(listing: ns.ResidentList) -> str | None:
    """An SVG of the listed places numbered as in the list (drawn on the server: it
    prints without tiles or JavaScript), or None when none has a place."""
    from maps.svg import list_map_svg

    places = [
        (r.lat, r.lon, r.number)
        for r in listing.resources
        if r.lat is not None and r.lon is not None
    ]
    if not places:
        return None
    districts = (
        map_districts(get_session(), area_code=listing.area_code) if listing.area_code else []
    )
    return list_map_svg(places, districts, title=_("Map of the places on this list"))

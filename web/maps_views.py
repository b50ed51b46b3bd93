"""Map pages: the published resident map and the coordinators' working map.

Thin: :mod:`directory.map_data` reads the directory, :mod:`maps` builds the page, and
this module only picks the area, passes the credits and serves the HTML. The maps' JS
and CSS come from ``web/static/vendor/`` through the app's own static route (vendored at
build time by ``scripts/vendor_assets.sh``), so nothing is fetched from the internet.

``/maps/`` and ``/maps/resident`` are public by design (built from ``public_resources``
only); ``/maps/coordinator`` shows non-public resources, so it needs a signed-in staff
member (tier 2, tier 1, admin) and is refused to viewers. Map pages' inline scripts carry
the response's CSP nonce (:func:`web.security.with_nonce`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from werkzeug.exceptions import NotFound
from werkzeug.wrappers import Response as BaseResponse

from directory.fiscal import today_in_japan
from directory.i18n import N_, LocalisedText
from directory.map_data import (
    MapDistrict,
    UnknownAreaError,
    coordinator_resources,
    map_districts,
    public_resources,
)
from directory.queries import area_overview
from maps import coordinator_map, page_html, resident_map, standalone_html
from web.db import get_db, get_session
from web.i18n import _, current_lang
from web.security import current_actor, public, with_nonce
from web.services import require_staff

bp = Blueprint("maps", __name__, url_prefix="/maps")


def _credits() -> list[Any]:
    """The data credits a published map must carry: ``MAP_CREDITS`` from the config (for
    another municipality's data), else the demo seeds' ``credits.json``."""
    configured = current_app.config.get("MAP_CREDITS")
    if configured is not None:
        return list(configured)
    from directory.demo import credits

    return credits()


def _area_name(area: str, districts: list[MapDistrict]) -> str:
    return next((d.name for d in districts if d.code == area), area)


def _html(m: Any, filename: str) -> Response:
    """The page on the app's vendored assets, or with ``?download=1`` one self-contained
    HTML file (assets inlined) to hand out or open on a PC without a network."""
    if request.args.get("download"):
        response = Response(with_nonce(standalone_html(m)), mimetype="text/html")
        response.headers["Content-Disposition"] = f"attachment; filename={filename}"
        return response
    return Response(
        with_nonce(page_html(m, url_for("static", filename="vendor"))), mimetype="text/html"
    )


@bp.get("/")
@public
def index() -> str:
    """The areas, each with links to its maps."""
    get_db().require_current()
    return render_template("maps/index.html", overview=area_overview(get_session()))


@bp.get("/resident")
@public
def resident() -> Response | BaseResponse:
    """The published resident map of one area (public, active resources only)."""
    get_db().require_current()
    area = request.args.get("area", "").strip()
    if not area:
        return redirect(url_for("maps.index"))
    session = get_session()
    try:
        resources = public_resources(session, area_code=area)
        districts = map_districts(session, area_code=area)
    except UnknownAreaError:
        raise NotFound(LocalisedText(N_("No area has the code {area}."), area=area)) from None
    name = _area_name(area, districts)
    m = resident_map(
        resources,
        districts,
        credits=_credits(),
        title=_("Community resources: {name}", name=name),
        subtitle=current_app.config.get("MAP_SUBTITLE"),
        contact=current_app.config.get("MAP_CONTACT"),
        as_of=today_in_japan(),
        lang=current_lang(),
    )
    return _html(m, f"resident-{area}.html")


@bp.get("/coordinator")
def coordinator() -> Response:
    """Every resource of an area (all when no area), for staff only."""
    require_staff(current_actor())
    get_db().require_current()
    area = request.args.get("area", "").strip() or None
    session = get_session()
    try:
        resources = coordinator_resources(session, area_code=area)
        districts = map_districts(session, area_code=area)
    except UnknownAreaError:
        raise NotFound(LocalisedText(N_("No area has the code {area}."), area=area)) from None
    title = (
        _("Community resources (staff): {name}", name=_area_name(area, districts))
        if area
        else _("Community resources (staff)")
    )
    return _html(
        coordinator_map(resources, districts, title=title, lang=current_lang()),
        f"coordinator-{area or 'all'}.html",
    )

"""``/public/<municipality>`` and ``/public/<municipality>/<area>``: the published resident
maps (DATA_FORMATS §8), open to anyone without signing in.

What they show comes only from :func:`directory.map_data.public_resources` (public,
active resources; the type has no field that could hold a need) through
:func:`maps.resident_map` and :func:`maps.pdf.resident_pdf`, so no need can reach them.

Caching: a page changes only when the directory does, so its validator is built from the
directory version (``directory_state.version``), the place, the language, the paper and
kinds asked for, the day (the page says "as of" today) and the published settings.
``If-None-Match`` with that ETag is answered 304 before anything is read or drawn, and
``Cache-Control: public, no-cache`` lets browsers and proxies keep a copy they revalidate.
A cached page keeps working after a 304 because its script nonce is derived from the
ETag (HMAC with the app's secret), not drawn afresh: the body and the CSP header sent
with the 304 agree. Nothing on these pages comes from the request but the codes, which
are checked against the database first.

Printing: the browser's print gives the whole numbered list at full width (A4 portrait:
map on top, list below; A3: the same, larger), and the PDF handout is a click away
(``/public/<code>.pdf``, ``…/<area>.pdf``; ``?paper=A3``; ``?category=`` keeps some
kinds). A PDF longer than :data:`maps.pdf.HANDOUT_PAGES` brings the advice ``tsunagu map
resident --pdf`` gives (:func:`web.handouts.split_advice`), as links.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, g, render_template, request, url_for
from sqlalchemy import select
from werkzeug.exceptions import BadRequest, NotFound

from directory import fiscal, state
from directory.errors import UnknownCategoryError
from directory.i18n import N_, LocalisedText
from directory.map_data import MapDistrict, PublicResource, map_districts, public_resources
from directory.models import District
from directory.taxonomy import load_taxonomy
from web.db import get_db, get_session
from web.handouts import HandoutSplit, of_kinds, split_advice
from web.i18n import _, current_lang
from web.maps_views import _credits
from web.security import public, with_nonce

bp = Blueprint("public", __name__, url_prefix="/public")

PAPERS = ("A4", "A3")
CACHE_CONTROL = "public, no-cache"

#: Printing the page (the handout CSS of maps._handout does the rest): the list at full
#: width under the map on both papers, and the links hidden.
PRINT_CSS = """
.tsunagu-public-links { margin: .4rem 0 0; display: flex; flex-wrap: wrap; gap: .4rem 1rem;
  align-items: baseline; }
.tsunagu-public-links a { font-size: 1rem; }
.tsunagu-advice { background: #fff4e5; border-left: 4px solid #e69500; padding: .3rem .8rem;
  margin: .4rem 0 0; }
.tsunagu-advice ul { margin: .2rem 0 0; padding-left: 1.2rem; }
@media print {
  .tsunagu-public-links, .tsunagu-advice { display: none !important; }
  body.tsunagu-handout, html.paper-a3 body.tsunagu-handout { display: block; }
  html.paper-a3 body.tsunagu-handout .tsunagu-map-pane { margin: 0 auto 4mm; }
  .tsunagu-side, html.paper-a3 .tsunagu-side { width: auto; max-width: none; max-height: none;
    overflow: visible; }
  ol.tsunagu-entries { width: 100%; }
}
"""


@dataclass(frozen=True)
class Place:
    """What one public URL shows: the municipality and maybe one of its areas."""

    municipality: str
    area: str | None
    name: str

    @property
    def scope(self) -> str:
        """The code :mod:`directory.map_data` narrows to (the area, else the municipality)."""
        return self.area or self.municipality


def _place(code: str, area: str | None) -> Place:
    """The municipality (and area) named in the URL; anything else is a Japanese 404."""
    session = get_session()
    town = session.execute(
        select(District.id, District.name).where(
            District.code == code, District.level == "municipality"
        )
    ).first()
    if town is None:
        raise NotFound(LocalisedText(N_("No municipality has the code {code}."), code=code))
    if area is None:
        return Place(code, None, town.name)
    found = session.execute(
        select(District.name).where(
            District.code == area, District.level == "area", District.parent_id == town.id
        )
    ).first()
    if found is None:
        raise NotFound(
            LocalisedText(N_("{name} has no area with the code {area}."), name=town.name, area=area)
        )
    return Place(code, area, found.name)


def _kinds() -> tuple[str, ...]:
    """``?category=`` (repeatable; codes or names) as taxonomy codes."""
    taxonomy = load_taxonomy()
    codes = []
    for text in request.args.getlist("category"):
        try:
            codes.append(taxonomy.resolve(text).code)
        except UnknownCategoryError:
            raise BadRequest(
                LocalisedText(N_("There is no kind called {kind}."), kind=text)
            ) from None
    return tuple(dict.fromkeys(codes))


def _paper() -> str:
    paper = (request.args.get("paper") or "A4").upper()
    if paper not in PAPERS:
        raise BadRequest(LocalisedText(N_("The paper must be A4 or A3.")))
    return paper


def _etag(place: Place, what: str, kinds: tuple[str, ...], paper: str) -> str:
    """The validator: changes whenever what the response would show can change."""
    config = current_app.config
    parts = [
        str(state.current(get_session())),
        place.municipality,
        place.area or "",
        current_lang(),
        what,
        paper,
        ",".join(kinds),
        fiscal.today_in_japan().isoformat(),
        repr(config.get("MAP_SUBTITLE")),
        repr(config.get("MAP_CONTACT")),
        repr(config.get("MAP_CREDITS")),
        repr(config.get("MAP_TILE_URLS")),
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _nonce_for(etag: str) -> str:
    """The script nonce of a cacheable page: the same for the same ETag (see module)."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(key, f"nonce:{etag}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def _cacheable(response: Response, etag: str) -> Response:
    response.set_etag(etag)
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response


def _not_modified(etag: str) -> Response | None:
    """A 304 when the caller holds this version; either way this response's script nonce
    is the one its cached body carries."""
    g.csp_nonce = _nonce_for(etag)
    if etag in request.if_none_match:
        return _cacheable(Response(status=304), etag)
    return None


def _content(
    place: Place, kinds: tuple[str, ...]
) -> tuple[list[PublicResource], list[MapDistrict]]:
    session = get_session()
    resources = public_resources(session, area_code=place.scope)
    districts = map_districts(session, area_code=place.scope)
    if kinds:
        resources = of_kinds(resources, kinds)
    return resources, districts


def _title(place: Place) -> str:
    return _("Community resources: {name}", name=place.name)


# PDFs take a second to draw: each app keeps its last few, keyed by their ETag (which
# names the directory version, so an edit is never served stale).
_PDFS_KEPT = 16
_PDF_LOCK = threading.Lock()


def _pdf(place: Place, kinds: tuple[str, ...], paper: str, etag: str) -> bytes:
    from maps.pdf import resident_pdf

    kept: OrderedDict[str, bytes] = current_app.extensions.setdefault(
        "tsunagu_public_pdfs", OrderedDict()
    )
    with _PDF_LOCK:
        if etag in kept:
            kept.move_to_end(etag)
            return kept[etag]
    resources, districts = _content(place, kinds)
    data = resident_pdf(
        resources,
        districts,
        credits=_credits(),
        title=_title(place),
        subtitle=current_app.config.get("MAP_SUBTITLE"),
        contact=current_app.config.get("MAP_CONTACT"),
        as_of=fiscal.today_in_japan(),
        page=paper,
        lang=current_lang(),
    )
    with _PDF_LOCK:
        kept[etag] = data
        while len(kept) > _PDFS_KEPT:
            kept.popitem(last=False)
    return data


def _pdf_url(place: Place, **args: Any) -> str:
    if place.area:
        path = url_for("public.area_pdf", code=place.municipality, area=place.area)
    else:
        path = url_for("public.municipality_pdf", code=place.municipality)
    return path + ("?" + urlencode(args, doseq=True) if args else "")


def _links(place: Place, kinds: tuple[str, ...], split: HandoutSplit | None) -> str:
    """The PDF links and, for a long handout, the advice how to split it (a template:
    escaped, and its words in the catalogue)."""
    args: dict[str, Any] = {"category": list(kinds)} if kinds else {}
    parts: list[dict[str, str | None]] = []
    for code, name in split.parts if split else ():
        if split is not None and split.by == "area":
            url = url_for("public.area", code=place.municipality, area=code)
            pdf = url_for("public.area_pdf", code=place.municipality, area=code)
            parts.append({"name": name, "url": url, "pdf": pdf})
        else:
            parts.append({"name": name, "url": _pdf_url(place, category=[code]), "pdf": None})
    return render_template(
        "public/_links.html",
        pdf_a4=_pdf_url(place, **args),
        pdf_a3=_pdf_url(place, **args, paper="A3"),
        whole_url=url_for("public.municipality", code=place.municipality) if place.area else None,
        split=split,
        parts=parts,
    )


def _page(code: str, area: str | None) -> Response:
    from maps import page_html, resident_map
    from maps.pdf import JapaneseFontMissingError, page_count

    get_db().require_current()
    place = _place(code, area)
    kinds = _kinds()
    etag = _etag(place, "html", kinds, "A4")
    cached = _not_modified(etag)
    if cached is not None:
        return cached
    resources, districts = _content(place, kinds)
    m = resident_map(
        resources,
        districts,
        credits=_credits(),
        title=_title(place),
        subtitle=current_app.config.get("MAP_SUBTITLE"),
        contact=current_app.config.get("MAP_CONTACT"),
        as_of=fiscal.today_in_japan(),
        lang=current_lang(),
    )
    try:
        pages = page_count(_pdf(place, kinds, "A4", _etag(place, "pdf", kinds, "A4")))
        split = split_advice(pages, place.area, districts, resources, kinds, current_lang())
    except JapaneseFontMissingError:  # the page still works; only the PDF cannot be made
        split = None
    page = page_html(m, url_for("static", filename="vendor"))
    page = page.replace("</head>", f"<style>{PRINT_CSS}</style>\n</head>", 1)
    # the list scrolls beside the map on a wide screen: keyboard users must reach it too
    page = page.replace(
        '<aside class="tsunagu-side">', '<aside class="tsunagu-side" tabindex="0">', 1
    )
    head = page.find('<header class="tsunagu-handout-head">')
    end = page.find("</header>", head)
    if head >= 0 and end >= 0:
        page = page[:end] + _links(place, kinds, split) + page[end:]
    return _cacheable(Response(with_nonce(page), mimetype="text/html"), etag)


def _pdf_response(code: str, area: str | None) -> Response:
    get_db().require_current()
    place = _place(code, area)
    kinds, paper = _kinds(), _paper()
    etag = _etag(place, "pdf", kinds, paper)
    cached = _not_modified(etag)
    if cached is not None:
        return cached
    data = _pdf(place, kinds, paper, etag)
    response = Response(data, mimetype="application/pdf")
    name = "-".join([place.municipality, *([place.area] if place.area else []), *kinds, paper])
    response.headers["Content-Disposition"] = f"inline; filename=resident-{name}.pdf"
    return _cacheable(response, etag)


@bp.get("/<code>")
@public
def municipality(code: str) -> Response:
    """The resident map of the whole municipality."""
    return _page(code, None)


@bp.get("/<code>/<area>")
@public
def area(code: str, area: str) -> Response:
    """The resident map of one daily-living area."""
    return _page(code, area)


@bp.get("/<code>.pdf")
@public
def municipality_pdf(code: str) -> Response:
    """The printable handout (PDF) of the whole municipality."""
    return _pdf_response(code, None)


@bp.get("/<code>/<area>.pdf")
@public
def area_pdf(code: str, area: str) -> Response:
    """The printable handout (PDF) of one daily-living area."""
    return _pdf_response(code, area)

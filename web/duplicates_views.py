"""``/resources/duplicates``: the resources that look entered twice, for the coordinators
who may merge them, and the merge itself (:mod:`web.merge`) after a page that shows both
side by side — the command line's ``directory duplicates`` and ``directory merge`` in the
browser."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response as BaseResponse

from directory.i18n import N_, LocalisedText
from web.db import get_db
from web.i18n import current_lang
from web.merge import AlreadyEndedError, SameResourceError, duplicate_pairs, merge_resources
from web.resource_service import resource_detail
from web.security import current_actor
from web.services import AccessDenied, NotFoundForActor

bp = Blueprint("duplicates", __name__)


@bp.get("/resources/duplicates")
def index() -> str:
    """The likely pairs the signed-in coordinator may merge, best first, with why."""
    try:
        pairs = duplicate_pairs(get_db(), current_actor())
    except AccessDenied:
        abort(403)
    lang = current_lang()
    return render_template(
        "resources/duplicates.html",
        pairs=[(p, p.describe(lang)) for p in pairs],
        merged=request.args.get("merged", ""),
        into=request.args.get("into", ""),
    )


def _pair() -> tuple[str, str]:
    keep = (request.values.get("keep") or "").strip()
    drop = (request.values.get("drop") or "").strip()
    if not keep or not drop:
        raise BadRequest(
            LocalisedText(N_("Choose the resource to keep and the one to merge into it."))
        )
    if keep == drop:
        raise BadRequest(LocalisedText(SameResourceError.message))
    return keep, drop


@bp.route("/resources/duplicates/merge", methods=["GET", "POST"])
def merge() -> str | BaseResponse:
    """GET: both resources side by side and what merging does; POST: merge ``drop`` into
    ``keep`` (both theirs to edit), then back to the list."""
    keep, drop = _pair()
    db, actor, lang = get_db(), current_actor(), current_lang()
    if request.method == "POST":
        try:
            merge_resources(db, actor, keep, drop)
        except SameResourceError:
            raise BadRequest(LocalisedText(SameResourceError.message)) from None
        except AlreadyEndedError:
            raise BadRequest(LocalisedText(AlreadyEndedError.message, resource=drop)) from None
        except NotFoundForActor:
            abort(404)
        except AccessDenied:
            abort(403)
        return redirect(url_for("duplicates.index", merged=drop, into=keep), 303)
    try:
        both = [resource_detail(db, actor, ext, lang) for ext in (keep, drop)]
    except NotFoundForActor:
        abort(404)
    if not all(d.may_edit for d in both):
        abort(403)
    if both[1].resource.status == "ended":
        raise BadRequest(LocalisedText(AlreadyEndedError.message, resource=drop))
    return render_template("resources/merge.html", keep=both[0], drop=both[1])

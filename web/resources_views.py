"""Resource pages: find (``/resources``), one resource, its edit form, 「本日確認」, and the
upload of a resource file (dry run → column mapping → import).

Thin: the rules and the work are in :mod:`web.search` and :mod:`web.resource_service`,
which the API shares. Every page works without JavaScript; only the small maps use it
(``static/resources-map.js`` on the vendored Leaflet, reading the points from a JSON
island, so no inline script is needed under the CSP).
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import shutil
import time
from pathlib import Path
from typing import Any, NamedTuple

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_login import current_user
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.utils import secure_filename

from directory.errors import DirectoryError, InvalidInputError
from directory.i18n import N_, LocalisedText
from directory.taxonomy import load_taxonomy
from directory.text import normalize
from web.db import get_db
from web.i18n import _, current_lang
from web.resource_service import (
    EDITABLE,
    FIELD_LABELS,
    InvalidResource,
    StaleVersion,
    confirm_today,
    create_resource,
    edit_resource,
    import_resource_file,
    require_creator,
    require_editor,
    resource_detail,
    today_in_japan,
)
from web.search import FACETS, BadQuery, SearchPage, SearchQuery, search
from web.security import current_actor, public
from web.services import AccessDenied, require_directory_editor

bp = Blueprint("resources", __name__)
log = logging.getLogger(__name__)

UPLOAD_SUFFIXES = (".csv", ".xlsx", ".geojson", ".json")
UPLOAD_MAX_AGE_S = 24 * 3600
DEFAULT_UPLOAD_MAX_BYTES = 20 * 1024 * 1024


# ----------------------------------------------------------------------------- helpers


def _map_config() -> dict[str, str]:
    """The background tiles of the small maps (the first configured tile server)."""
    from maps import DEFAULT_TILES

    url = current_app.config["MAP_TILE_URLS"][0]
    attribution = next((t.attribution for t in DEFAULT_TILES if t.url == url), "")
    return {"tiles": url, "attribution": attribution}


def _points(items: list[dict[str, Any]]) -> str:
    """The markers of a small map as JSON for a ``<script type="application/json">``
    island (``<`` escaped, so no text can close the element)."""
    text = json.dumps(items, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _hit_points(page: SearchPage) -> str:
    colours = {c.code: c.colour for c in load_taxonomy()}
    return _points(
        [
            {
                "lat": h.lat,
                "lon": h.lon,
                "name": h.name,
                "url": url_for("resources.detail", external_id=h.external_id),
                "colour": colours.get(h.categories[0], "#607D8B") if h.categories else "#607D8B",
            }
            for h in page.hits
            if h.lat is not None and h.lon is not None
        ]
    )


def _form_values(form: MultiDict[str, str]) -> dict[str, Any]:
    """A submitted resource form as the service reads it (every field present: an
    unticked 公開 box sends nothing, which means not public)."""
    values: dict[str, Any] = {}
    for key in EDITABLE:
        if key == "categories":
            values[key] = form.getlist(key)
        elif key == "public":
            values[key] = "1" if form.get(key) else "0"
        else:
            values[key] = form.get(key, "")
    return values


def _comparable(key: str, value: Any) -> Any:
    """A field as the 409 page compares it: the form's text and the stored value in one
    shape (lists sorted, 公開 as yes/no, district codes however they were separated)."""
    if key == "public":
        return value is True or str(value).strip().lower() in ("1", "true", "on", "yes", "あり")
    if isinstance(value, (list, tuple)):
        return sorted(normalize(str(v)) for v in value if str(v).strip())
    if key in ("districts", "categories"):
        return sorted(normalize(v) for v in re.split(r"[;；,，、\s]+", str(value or "")) if v)
    return normalize("" if value is None else str(value))


def _differs(yours: dict[str, Any] | None, current: dict[str, Any]) -> set[str]:
    """The fields where the unsaved edit and the saved version really differ."""
    if yours is None:
        return set()
    return {k for k in yours if _comparable(k, yours[k]) != _comparable(k, current.get(k))}


def _version(form: MultiDict[str, str]) -> int | None:
    try:
        return int(form.get("version", ""))
    except ValueError:
        return None


# ----------------------------------------------------------------------------- find


@bp.before_app_request
def _warm_up() -> None:
    """Build the search index and the matcher's snapshot in the background on the
    server's first request (:mod:`web.warm`), so the first search does not wait for it."""
    from web import warm

    warm.start(current_app._get_current_object())  # type: ignore[attr-defined]


@bp.get("/resources")
@public
def search_page() -> ResponseReturnValue:
    """Forgiving search with facets: public, active resources without sign-in."""
    db = get_db()
    db.require_current()
    lang = current_lang()
    try:
        query = SearchQuery.from_args(request.args)
    except BadQuery as exc:
        return (
            render_template(
                "resources/search.html",
                page=None,
                query=SearchQuery(q=request.args.get("q", "")[:200]),
                error=exc.describe(lang),
                error_field=exc.field,
            ),
            400,
        )
    page = search(db, current_actor(), query, lang, today=today_in_japan())
    return render_template(
        "resources/search.html",
        page=page,
        query=query,
        error=None,
        error_field=None,
        fragments=_fragments(page, query, lang),
    )


class _Fragments(NamedTuple):
    facets: Markup
    results: Markup


def _fragments(page: SearchPage, query: SearchQuery, lang: str) -> _Fragments:
    """The filters and the results of one search answer, rendered once per language and
    signed-in state and kept with the answer (which the search keeps per directory
    version): they hold nothing of the reader but that. Most of a search page's cost."""
    key = (lang, bool(current_user.is_authenticated))
    kept: _Fragments | None = page.rendered.get(key)
    if kept is None:
        values = {
            "page": page,
            "query": query,
            "facets": FACETS,
            "map": _map_config(),
            "points": _hit_points(page),
        }
        kept = _Fragments(
            Markup(render_template("resources/_search_facets.html", **values)),
            Markup(render_template("resources/_search_results.html", **values)),
        )
        page.rendered[key] = kept
    return kept


# ----------------------------------------------------------------------------- one resource


@bp.get("/resources/<external_id>")
@public
def detail(external_id: str) -> ResponseReturnValue:
    """Everything known about one resource (a hidden or unknown one is 404 for anyone
    who may not see it)."""
    db = get_db()
    db.require_current()
    info = resource_detail(db, current_actor(), external_id, current_lang())
    colour = "#607D8B"
    if info.category_labels:
        colour = next(
            (c.colour for c in load_taxonomy() if c.code == info.category_labels[0][0]), colour
        )
    points = (
        [{"lat": info.lat, "lon": info.lon, "name": info.resource.name, "colour": colour}]
        if info.lat is not None and info.lon is not None
        else []
    )
    return render_template(
        "resources/detail.html",
        info=info,
        r=info.resource,
        labels=FIELD_LABELS,
        map=_map_config(),
        points=_points(points),
        saved=request.args.get("saved"),
    )


def _edit_page(
    info: Any,
    values: dict[str, Any],
    version: int | None,
    errors: dict[str, str] | None = None,
    *,
    creating: bool = False,
) -> str:
    shown = dict(values)
    if isinstance(shown.get("districts"), list | tuple):  # the 対象地区 cell: codes, ;-separated
        shown["districts"] = "; ".join(shown["districts"])
    return render_template(
        "resources/edit.html",
        info=info,
        values=shown,
        version=version,
        errors=errors or {},
        labels=FIELD_LABELS,
        categories=list(load_taxonomy()),
        creating=creating,
    )


@bp.route("/resources/<external_id>/edit", methods=["GET", "POST"])
def edit(external_id: str) -> ResponseReturnValue:
    """The edit form; a stale ``version`` gives 409 with both versions, nothing saved."""
    db = get_db()
    db.require_current()
    actor = current_actor()
    lang = current_lang()
    require_editor(db, actor, external_id)
    info = resource_detail(db, actor, external_id, lang)
    if request.method == "GET":
        return _edit_page(info, info.state, info.resource.version)
    values = _form_values(request.form)
    version = _version(request.form)
    try:
        result = edit_resource(db, actor, external_id, version, values, lang)
    except InvalidResource as exc:
        return _edit_page(info, values, version, exc.errors), 422
    except StaleVersion as exc:
        return (
            render_template(
                "resources/conflict.html",
                info=info,
                yours=values,
                current=exc.current,
                differs=_differs(values, exc.current),
                current_version=exc.current_version,
                labels=FIELD_LABELS,
                fields=EDITABLE,
            ),
            409,
        )
    return redirect(
        url_for(
            "resources.detail",
            external_id=external_id,
            saved="1" if result.changes else "0",
        ),
        303,
    )


@bp.post("/resources/<external_id>/confirm")
def confirm(external_id: str) -> ResponseReturnValue:
    """「本日確認」: one click sets 最終確認日 to today (stale page → 409, nothing saved)."""
    db = get_db()
    actor = current_actor()
    try:
        confirm_today(db, actor, external_id, _version(request.form))
    except StaleVersion as exc:
        info = resource_detail(db, actor, external_id, current_lang())
        return (
            render_template(
                "resources/conflict.html",
                info=info,
                yours=None,
                current=exc.current,
                differs=set(),
                current_version=exc.current_version,
                labels=FIELD_LABELS,
                fields=EDITABLE,
            ),
            409,
        )
    return redirect(url_for("resources.detail", external_id=external_id, saved="1"), 303)


@bp.route("/resources/new", methods=["GET", "POST"])
def new() -> ResponseReturnValue:
    """A new resource (tier 2 within their areas, tier 1, administrators)."""
    db = get_db()
    db.require_current()
    actor = current_actor()
    lang = current_lang()
    require_creator(db, actor)
    if request.method == "GET":
        blank: dict[str, Any] = {k: "" for k in FIELD_LABELS}
        blank |= {"categories": [], "status": "active", "public": True}
        return _edit_page(None, blank, None, creating=True)
    values = _form_values(request.form) | {"external_id": request.form.get("external_id", "")}
    try:
        result = create_resource(db, actor, values, lang)
    except InvalidResource as exc:
        return _edit_page(None, values, None, exc.errors, creating=True), 422
    return redirect(url_for("resources.detail", external_id=result.external_id, saved="1"), 303)


# ----------------------------------------------------------------------------- upload


def _upload_dir() -> Path:
    """Where uploads wait between the check and the import (``RESOURCE_UPLOAD_DIR``, by
    default ``instance/uploads/resources``); each is removed once imported or a day old."""
    configured = current_app.config.get("RESOURCE_UPLOAD_DIR")
    folder = (
        Path(configured)
        if configured
        else Path(current_app.instance_path) / "uploads" / "resources"
    )
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _clean_old_uploads(folder: Path) -> None:
    cutoff = time.time() - UPLOAD_MAX_AGE_S
    for item in folder.iterdir():
        try:
            if item.is_dir() and item.stat().st_mtime < cutoff:
                shutil.rmtree(item, ignore_errors=True)
        except OSError:
            continue


def _upload(token: str) -> tuple[Path, dict[str, Any]]:
    """The uploaded file of ``token``, only for the account that uploaded it."""
    if not token.replace("-", "").replace("_", "").isalnum() or len(token) > 64:
        abort(404)
    folder = _upload_dir() / token
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        abort(404)
    if meta.get("login") != current_actor().login:
        abort(404)
    return folder / meta["stored"], meta


def _limit() -> int:
    return int(current_app.config.get("RESOURCE_UPLOAD_MAX_BYTES", DEFAULT_UPLOAD_MAX_BYTES))


def _too_large() -> RequestEntityTooLarge:
    mib = _limit() / (1024 * 1024)
    return RequestEntityTooLarge(
        LocalisedText(
            N_("The file is larger than {mib:g} MiB. Split it and upload each part."), mib=mib
        )
    )


def _report(path: Path, meta: dict[str, Any], token: str) -> ResponseReturnValue:
    """Dry-run the upload with its column map and show what an import would do."""
    db = get_db()
    actor = current_actor()
    lang = current_lang()
    from directory.resources import COLUMNS

    targets = [c.header for c in COLUMNS]
    columns = meta.get("columns") or {}
    skip_invalid = bool(meta.get("skip_invalid"))
    result = None
    problems: list[Any] = []
    warnings: list[Any] = []
    try:
        result = import_resource_file(
            db, actor, path, columns=columns, dry_run=True, skip_invalid=skip_invalid
        )
        problems, warnings = list(result.errors), list(result.warnings)
    except InvalidInputError as exc:
        problems, warnings = list(exc.problems), list(exc.warnings)
    except DirectoryError as exc:
        describe = getattr(exc, "describe", None)
        return render_template(
            "resources/import.html",
            step="report",
            token=token,
            meta=meta,
            result=None,
            problems=[],
            warnings=[],
            unknown=[],
            targets=targets,
            failure=describe(lang) if callable(describe) else str(exc),
            limit_mib=_limit() / (1024 * 1024),
        ), 400
    unknown = [w.params.get("header") for w in warnings if w.code == "unknown_column"]
    unknown += [w.params.get("header") for w in problems if w.code == "unknown_column"]
    return render_template(
        "resources/import.html",
        step="report",
        token=token,
        meta=meta,
        result=result,
        problems=problems,
        warnings=[w for w in warnings if w.code != "unknown_column"],
        unknown=[u for u in unknown if u],
        targets=targets,
        failure=None,
        limit_mib=_limit() / (1024 * 1024),
    )


@bp.route("/resources/import", methods=["GET", "POST"])
def upload() -> ResponseReturnValue:
    """Upload a resource file (tier 1, administrators): it is checked, not yet imported."""
    actor = current_actor()
    try:
        require_directory_editor(actor)
    except AccessDenied:
        abort(403)
    get_db().require_current()
    if request.method == "GET":
        return render_template(
            "resources/import.html", step="upload", limit_mib=_limit() / (1024 * 1024)
        )
    if request.content_length is not None and request.content_length > _limit() + 64 * 1024:
        raise _too_large()
    file = request.files.get("file")
    if file is None or not file.filename:
        return render_template(
            "resources/import.html",
            step="upload",
            limit_mib=_limit() / (1024 * 1024),
            failure=_("Choose a file to upload"),
        ), 400
    suffix = Path(file.filename).suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        return render_template(
            "resources/import.html",
            step="upload",
            limit_mib=_limit() / (1024 * 1024),
            failure=_("Upload a CSV, XLSX or GeoJSON file"),
        ), 400
    folder = _upload_dir()
    _clean_old_uploads(folder)
    token = secrets.token_urlsafe(16)
    target = folder / token
    target.mkdir()
    stored = f"upload{suffix}"
    file.save(target / stored)
    if (target / stored).stat().st_size > _limit():
        shutil.rmtree(target, ignore_errors=True)
        raise _too_large()
    meta = {
        "login": actor.login,
        "filename": secure_filename(file.filename) or f"upload{suffix}",
        "original": file.filename[:200],
        "stored": stored,
        "columns": {},
        "skip_invalid": bool(request.form.get("skip_invalid")),
    }
    (target / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return _report(target / stored, meta, token)


@bp.post("/resources/import/<token>")
def upload_step(token: str) -> ResponseReturnValue:
    """Map unknown columns and check again (``action=check``), or import (``confirm``)."""
    actor = current_actor()
    try:
        require_directory_editor(actor)
    except AccessDenied:
        abort(403)
    path, meta = _upload(token)
    columns: dict[str, str] = dict(meta.get("columns") or {})
    for key, target in request.form.items():
        if key.startswith("map:"):
            header = key[len("map:") :]
            if target:
                columns[header] = target
            else:
                columns.pop(header, None)
    meta["columns"] = columns
    meta["skip_invalid"] = bool(request.form.get("skip_invalid", meta.get("skip_invalid")))
    (path.parent / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    if request.form.get("action") != "confirm":
        return _report(path, meta, token)
    db = get_db()
    try:
        result = import_resource_file(
            db,
            actor,
            path,
            columns=columns,
            dry_run=False,
            skip_invalid=bool(meta["skip_invalid"]),
        )
    except InvalidInputError:
        return _report(path, meta, token)
    shutil.rmtree(path.parent, ignore_errors=True)
    return render_template(
        "resources/import.html", step="done", result=result, meta=meta, limit_mib=0
    )


__all__ = ["bp"]

"""``/verification``: the call sheet of a verification round (resources nobody has
confirmed for a year, by district, with the number to call), 「本日確認」 on each row, the
sheet as CSV and the filled sheet imported back (:mod:`web.verification`)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, Response, abort, redirect, render_template, request, url_for
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Response as BaseResponse

from directory.errors import DirectoryError, InvalidInputError
from directory.i18n import N_, LocalisedError, LocalisedText
from web.db import get_db
from web.i18n import current_lang
from web.resource_service import StaleVersion, confirm_today
from web.security import current_actor
from web.services import AccessDenied, NotFoundForActor, require_staff
from web.verification import (
    VERIFY_AFTER_DAYS,
    Unconfirmed,
    call_sheet_csv,
    describe_days,
    import_confirmations,
    unconfirmed,
)

bp = Blueprint("verification", __name__)

#: A filled call sheet is small: a few thousand rows at most.
MAX_SHEET_BYTES = 5 * 1024 * 1024


def _days() -> int:
    raw = request.args.get("days", "")
    if not raw:
        return VERIFY_AFTER_DAYS
    try:
        days = int(raw)
    except ValueError:
        raise BadRequest(LocalisedText(N_("The number of days must be a whole number."))) from None
    if not 0 <= days <= 36500:
        raise BadRequest(LocalisedText(N_("The number of days must be a whole number.")))
    return days


def _rows() -> list[Unconfirmed]:
    try:
        return unconfirmed(
            get_db(), current_actor(), days=_days(), area=request.args.get("area") or None
        )
    except NotFoundForActor:
        abort(404)


@bp.get("/verification")
def index() -> str:
    """The call sheet, district by district."""
    rows = _rows()
    lang = current_lang()
    groups: dict[str, list[Unconfirmed]] = {}
    for row in rows:
        groups.setdefault(row.district_name or "—", []).append(row)
    return render_template(
        "verification/index.html",
        groups=groups,
        count=len(rows),
        days=_days(),
        area=request.args.get("area") or "",
        since=lambda u: describe_days(u, lang),
        message=request.args.get("done"),
    )


@bp.get("/verification.csv")
def sheet_csv() -> Response:
    """The call sheet to print or fill in (確認日) and import back."""
    return Response(
        call_sheet_csv(_rows()),
        mimetype="text/csv",
        headers={
            "Content-Disposition": 'attachment; filename="tsunagu-call-sheet.csv"',
            "Cache-Control": "no-store",
        },
    )


@bp.post("/verification/<external_id>/confirm")
def confirm(external_id: str) -> BaseResponse:
    """「本日確認」 from the call sheet: back to the sheet, where the row is gone."""
    try:
        version = int(request.form.get("version", ""))
    except ValueError:
        version = None
    try:
        confirm_today(get_db(), current_actor(), external_id, version)
    except StaleVersion:
        return redirect(_back("stale"), 303)
    except NotFoundForActor:
        abort(404)
    except AccessDenied:
        abort(403)
    return redirect(_back("confirmed"), 303)


def _back(done: str) -> str:
    """The call sheet as it was (its days and area), with what just happened."""
    kept = {k: v for k, v in request.args.items() if k in ("days", "area")}
    return url_for("verification.index", done=done, **kept)  # type: ignore[arg-type]


@bp.post("/verification/import")
def import_sheet() -> str | BaseResponse:
    """A filled call sheet: every row checked first; any problem imports nothing."""
    try:
        require_staff(current_actor())
    except AccessDenied:
        abort(403)
    file = request.files.get("file")
    if file is None or not file.filename:
        raise BadRequest(LocalisedText(N_("Choose a file to upload")))
    suffix = Path(file.filename).suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise BadRequest(LocalisedText(N_("Upload the call sheet as CSV or XLSX.")))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"sheet{suffix}"
        data = file.stream.read(MAX_SHEET_BYTES + 1)
        if len(data) > MAX_SHEET_BYTES:
            raise BadRequest(LocalisedText(N_("The file is too large for a call sheet.")))
        path.write_bytes(data)
        try:
            result = import_confirmations(get_db(), current_actor(), path)
        except InvalidInputError as exc:
            return render_template(
                "verification/problems.html", problems=exc.problems, name=file.filename
            )
        except LocalisedError as exc:
            raise BadRequest(LocalisedText(exc.msgid, **exc.params)) from None
        except DirectoryError:
            raise BadRequest(LocalisedText(N_("The call sheet could not be read."))) from None
        except (StaleVersion, AccessDenied):
            abort(409)
    return redirect(
        url_for("verification.index", done=f"imported:{result.confirmed}:{result.skipped}"), 303
    )

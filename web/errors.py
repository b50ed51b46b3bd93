"""Turn errors into pages (or JSON) that say what to do, in the reader's language (Japanese
unless asked otherwise) — never a traceback.

A 500 logs the exception class and where it happened, not its message: a database error
can carry the values of the row it was writing (engines hide SQL parameters too).
"""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from directory.errors import DirectoryError
from directory.i18n import N_, LocalisedText
from directory.schema import SchemaError
from web.i18n import _, current_lang
from web.services import AccessDenied, NotFoundForActor

log = logging.getLogger(__name__)


def init_app(app: Flask) -> None:
    app.register_error_handler(SchemaError, _schema_error)
    app.register_error_handler(DirectoryError, _domain_error)
    app.register_error_handler(AccessDenied, _access_denied)
    app.register_error_handler(NotFoundForActor, _not_found)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _server_error)


def _wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json"


def _render(status: int, code: str, title: str, message: str) -> ResponseReturnValue:
    if _wants_json():
        return {"error": code, "message": message or title}, status
    return render_template("error.html", title=title, message=message), status


def _schema_error(exc: SchemaError) -> ResponseReturnValue:
    return _render(
        503, "database_not_ready", _("The database is not ready"), exc.describe(current_lang())
    )


def _domain_error(exc: DirectoryError) -> ResponseReturnValue:
    describe = getattr(exc, "describe", None)
    message = describe(current_lang()) if callable(describe) else str(exc)
    return _render(400, "invalid", _("The input has errors"), str(message))


def _access_denied(exc: AccessDenied) -> ResponseReturnValue:
    describe = getattr(exc, "describe", None)
    message = describe(current_lang()) if callable(describe) else str(exc)
    return _render(403, "forbidden", _("You are not allowed to do this"), str(message))


def _not_found(_exc: NotFoundForActor) -> ResponseReturnValue:
    return _render(404, "not_found", _("Not found"), _("What you asked for cannot be found."))


def _csrf_error(_exc: CSRFError) -> ResponseReturnValue:
    return _render(
        400,
        "csrf",
        _("The form has expired or was not sent correctly"),
        _("Open the page again, then send the form again."),
    )


_HTTP = {
    400: ("bad_request", N_("The request has errors")),
    401: ("unauthorized", N_("You need to sign in")),
    403: ("forbidden", N_("You are not allowed to do this")),
    404: ("not_found", N_("Page not found")),
    405: ("method_not_allowed", N_("This cannot be done this way")),
    409: ("conflict", N_("Someone else changed this first")),
    413: ("too_large", N_("The file is too large")),
    429: (
        "too_many_requests",
        N_("Too many attempts. Wait a while (about 15 minutes) and try again"),
    ),
}


def _http_error(exc: HTTPException) -> ResponseReturnValue:
    status = exc.code or 500
    code, title = _HTTP.get(status, ("error", N_("An error occurred")))
    # werkzeug's default descriptions are English and not ours; ours are LocalisedText.
    description = exc.description
    message = description.describe(current_lang()) if isinstance(description, LocalisedText) else ""
    return _render(status, code, _(title), message)


def _server_error(exc: Exception) -> ResponseReturnValue:
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb is not None else "?"
    log.error(
        "unhandled %s at %s on %s %s", type(exc).__name__, where, request.method, request.path
    )
    return _render(
        500,
        "server_error",
        _("An error occurred"),
        _(
            "Something went wrong. Please tell the administrator (what you entered "
            "was not recorded)."
        ),
    )

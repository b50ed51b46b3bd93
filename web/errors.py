"""Turn errors into pages (or JSON) that say what to do, in Japanese — never a traceback.

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
from directory.schema import SchemaError
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
    return _render(503, "database_not_ready", "データベースの準備ができていません", str(exc))


def _domain_error(exc: DirectoryError) -> ResponseReturnValue:
    describe = getattr(exc, "describe", None)
    message = describe("ja") if callable(describe) else str(exc)
    return _render(400, "invalid", "入力に誤りがあります", str(message))


def _access_denied(exc: AccessDenied) -> ResponseReturnValue:
    return _render(403, "forbidden", "この操作は許可されていません", str(exc))


def _not_found(_exc: NotFoundForActor) -> ResponseReturnValue:
    return _render(404, "not_found", "見つかりません", "指定されたものは見つかりません。")


def _csrf_error(_exc: CSRFError) -> ResponseReturnValue:
    return _render(400, "csrf", "フォームの有効期限が切れたか、正しくない送信です",
                   "ページを開き直してから、もう一度送信してください。")


_HTTP = {
    400: ("bad_request", "リクエストに誤りがあります"),
    401: ("unauthorized", "サインインが必要です"),
    403: ("forbidden", "この操作は許可されていません"),
    404: ("not_found", "ページが見つかりません"),
    405: ("method_not_allowed", "この方法では操作できません"),
    409: ("conflict", "ほかの人が先に変更しました"),
    413: ("too_large", "ファイルが大きすぎます"),
    429: ("too_many_requests", "試行回数が多すぎます。しばらく（15分ほど）待ってからもう一度お試しください"),
}


def _http_error(exc: HTTPException) -> ResponseReturnValue:
    status = exc.code or 500
    code, title = _HTTP.get(status, ("error", "エラーが発生しました"))
    # werkzeug's default descriptions are English; ours (Japanese) are passed explicitly.
    message = exc.description if exc.description and _is_japanese(exc.description) else ""
    return _render(status, code, title, message)


def _is_japanese(text: str) -> bool:
    return any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in text)


def _server_error(exc: Exception) -> ResponseReturnValue:
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = f"{tb.tb_frame.f_code.co_filename}:{tb.tb_lineno}" if tb is not None else "?"
    log.error("unhandled %s at %s on %s %s", type(exc).__name__, where, request.method,
              request.path)
    return _render(500, "server_error", "エラーが発生しました",
                   "処理中に問題が起きました。管理者に連絡してください（入力した内容は記録していません）。")

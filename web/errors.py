"""Turn library errors into pages (or JSON) that say what to do, in Japanese."""

from __future__ import annotations

from flask import Flask, render_template, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from directory.errors import DirectoryError
from directory.schema import SchemaError


def init_app(app: Flask) -> None:
    app.register_error_handler(SchemaError, _schema_error)
    app.register_error_handler(DirectoryError, _domain_error)
    app.register_error_handler(HTTPException, _http_error)


def _wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json"


def _render(status: int, title: str, message: str) -> ResponseReturnValue:
    if _wants_json():
        return {"error": title, "message": message}, status
    return render_template("error.html", title=title, message=message), status


def _schema_error(exc: SchemaError) -> ResponseReturnValue:
    return _render(503, "データベースの準備ができていません", str(exc))


def _domain_error(exc: DirectoryError) -> ResponseReturnValue:
    return _render(400, "入力に誤りがあります", str(exc))


_HTTP_TITLES = {
    400: "リクエストに誤りがあります",
    403: "この操作は許可されていません",
    404: "ページが見つかりません",
    405: "この方法では操作できません",
    413: "ファイルが大きすぎます",
}


def _http_error(exc: HTTPException) -> ResponseReturnValue:
    status = exc.code or 500
    return _render(status, _HTTP_TITLES.get(status, "エラーが発生しました"), exc.description or "")

"""Display preferences a resident or coordinator sets once: large text.

Many users read on older municipal PCs or with weaker eyes, so every page offers larger
text without JavaScript: a link with ``?text=large`` (or ``normal``) sets it, a ``text``
cookie remembers it, and ``<html class="large-text">`` scales the whole stylesheet
(sizes are in rem). The language switch works the same way (``?lang=``, web/i18n.py).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, request

from web.i18n import remember_choice

#: The cookie and the query parameter.
COOKIE = "text"
SIZES = ("normal", "large")


def text_size() -> str:
    """``large`` or ``normal`` for this request: the query, else the cookie."""
    asked = request.args.get(COOKIE) or request.cookies.get(COOKIE)
    return asked if asked in SIZES else "normal"


def url_with(**params: str) -> str:
    """This page's address with ``params`` replacing those of the query (the switches
    keep the search, filters and page the user is on)."""
    args = request.args.to_dict(flat=False)
    args.update({k: [v] for k, v in params.items()})
    query = urlencode(args, doseq=True)
    return f"{request.path}?{query}" if query else request.path


def _remember(response: Response) -> Response:
    remember_choice(response, COOKIE, SIZES)
    return response


def init_app(app: Flask) -> None:
    app.after_request(_remember)

    @app.context_processor
    def _preferences() -> dict[str, Any]:
        return {"text_size": text_size(), "url_with": url_with}

"""``/unmet``: what is missing, by place, kind and reason (DATA_FORMATS §8), with its map
and its downloads.

Tier 2 sees the needs of their own areas, tier 1 and admin the whole municipality;
viewers and anonymous callers are refused (the service decides: :func:`web.services.
unmet_report`). Pages show counts only — never a need — and link each district and kind
to the needs behind it (``/needs/?district=…&category=…&state=unmet&since=…&until=…``),
which lists the caller's own areas only.

* ``/unmet`` — two tables (unmet needs by the matcher's reasons; referrals that ended, by
  cause) with fiscal-year and month filters, usable without JavaScript.
* ``/unmet/map`` — the choropleth. Coordinators see exact counts in classes computed from
  the data; ``?public=1`` makes the 協議体's version (1–2 shown as 「少数」).
* ``/unmet.csv``, ``/unmet.xlsx`` — the same counts as a table (``?public=1`` as above).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, current_app, render_template, request, url_for
from markupsafe import Markup
from werkzeug.exceptions import BadRequest

from directory import fiscal
from directory.i18n import N_, LocalisedText, translate
from directory.taxonomy import load_taxonomy
from matching.reasons import REFERRAL_END_LABELS, UNMET_REASONS, UnmetCount, unmet_label
from web.db import get_db
from web.i18n import _, current_lang
from web.memo import Memo
from web.security import current_actor
from web.services import need_fiscal_years, unmet_report

bp = Blueprint("unmet", __name__)

PAGE_LEVELS = ("district", "area")
#: Counts below this are 「少数」 in outputs made for the 協議体 (as ``tsunagu map unmet``).
PUBLIC_SUPPRESS_BELOW = 3
END_CAUSES = tuple(REFERRAL_END_LABELS)


@dataclass(frozen=True)
class Query:
    """The filters of a request, checked: a wrong one is a 400 that says which."""

    level: str
    fy: int | None
    month: int | None
    area: str | None
    public: bool

    @property
    def period(self) -> fiscal.Period | None:
        return fiscal.period(self.fy, self.month)

    def args(self, **changes: Any) -> dict[str, Any]:
        """The filters as query arguments (empty ones left out), with ``changes``."""
        values = {
            "level": self.level,
            "fy": self.fy,
            "month": self.month,
            "area": self.area,
            "public": 1 if self.public else None,
        } | changes
        return {k: v for k, v in values.items() if v not in (None, "")}


def _number(name: str, msgid: str) -> int | None:
    text = request.args.get(name, "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise BadRequest(LocalisedText(msgid, value=text)) from None


def parse_query(levels: Sequence[str] = PAGE_LEVELS) -> Query:
    """The filters of this request (shared by the page, the downloads and the API)."""
    level = request.args.get("level", "").strip() or "district"
    if level not in levels:
        raise BadRequest(
            LocalisedText(N_("level must be one of {levels}."), levels=", ".join(levels))
        )
    fy = _number("fy", N_("The fiscal year must be a year such as 2026, not {value}."))
    month = _number("month", N_("The month must be a number from 1 to 12, not {value}."))
    try:
        fiscal.period(fy, month)
    except fiscal.FiscalPeriodError as exc:
        raise BadRequest(LocalisedText(exc.msgid, **exc.params)) from None
    area = request.args.get("area", "").strip() or None
    return Query(level, fy, month, area, request.args.get("public") == "1")


def counts_for(query: Query) -> list[UnmetCount]:
    """The report for ``query`` as the signed-in user may see it (matched as of today)."""
    return unmet_report(
        get_db(),
        current_actor(),
        level=query.level,
        on=fiscal.today_in_japan(),
        fy=query.fy,
        month=query.month,
        area=query.area,
    )


def period_label(query: Query, lang: str) -> str:
    if query.fy is None:
        return translate(N_("All periods"), lang)
    label = fiscal.fy_label(query.fy, lang)
    if query.month is None:
        return label
    return translate(
        N_("{year}, {month}"), lang, year=label, month=fiscal.month_label(query.month, lang)
    )


def _category_label(code: str, lang: str) -> str:
    taxonomy = load_taxonomy()
    return taxonomy[code].label(lang) if code in taxonomy else code


def _category_order(code: str) -> int:
    codes = [c.code for c in load_taxonomy()]
    return codes.index(code) if code in codes else len(codes)


# ----------------------------------------------------------------------------- the page


@dataclass
class Row:
    """One place and kind of one table, with its count per reason."""

    place: str
    place_name: str
    category: str
    category_label: str
    counts: dict[str, int] = field(default_factory=dict)
    needs_url: str | None = None
    drill_url: str | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class Table:
    id: str
    caption: str
    reasons: list[tuple[str, str]]  # (code, words)
    rows: list[Row]

    def column_total(self, code: str) -> int:
        return sum(r.counts.get(code, 0) for r in self.rows)

    @property
    def total(self) -> int:
        return sum(r.total for r in self.rows)


def _needs_url(query: Query, place: str, category: str) -> str:
    """The needs behind one cell: the needs list (``/needs/``, which only shows the
    caller's own areas) filtered to the place, the kind, the unmet state and the period.
    Built as text: the link stays the same whichever blueprint serves it."""
    key = "district" if query.level == "district" else "area"
    args = {key: place, "category": category, "state": "unmet"}
    span = query.period
    if span is not None:
        args |= {"since": span.first.isoformat(), "until": span.last.isoformat()}
    return "/needs/?" + urlencode(args)


def _table(
    table_id: str,
    caption: str,
    codes: Sequence[str],
    counts: Sequence[UnmetCount],
    query: Query,
    lang: str,
    *,
    links: bool,
) -> Table:
    cells: dict[tuple[str, str], Row] = {}
    for c in counts:
        if c.reason not in codes:
            continue
        row = cells.get((c.district, c.category))
        if row is None:
            row = cells[(c.district, c.category)] = Row(
                c.district, c.name, c.category, _category_label(c.category, lang)
            )
            if links:
                row.needs_url = _needs_url(query, c.district, c.category)
                if query.level == "area":
                    row.drill_url = url_for(
                        "unmet.index", **query.args(level="district", area=c.district)
                    )
        row.counts[c.reason] = row.counts.get(c.reason, 0) + c.count
    rows = sorted(cells.values(), key=lambda r: (r.place, _category_order(r.category)))
    return Table(table_id, caption, [(code, unmet_label(code, lang)) for code in codes], rows)


#: Rendered tables kept per process: the same counts are asked for again and again.
TABLES_KEPT = 64
_TABLES = "tsunagu_unmet_tables"


def _tables_html(counts: Sequence[UnmetCount], query: Query, lang: str) -> Markup:
    """The page's two tables (unmet reasons, referral ends), rendered once for each set of
    counts, query and language (the report itself is kept while its data is unchanged;
    the tables hold nothing else: no user, no need)."""

    def render() -> Markup:
        period = period_label(query, lang)
        tables = [
            _table(
                "unmet",
                _("Unmet needs by the reason the matcher gives"),
                UNMET_REASONS,
                counts,
                query,
                lang,
                links=True,
            ),
            _table(
                "ended",
                _("Referrals that ended, by cause"),
                END_CAUSES,
                counts,
                query,
                lang,
                links=False,
            ),
        ]
        return Markup(
            render_template("unmet/_tables.html", tables=tables, query=query, period=period)
        )

    memo: Memo[Markup] = current_app.extensions.setdefault(_TABLES, Memo(TABLES_KEPT))
    return memo.get_or_make((tuple(counts), query, lang), render)


@bp.get("/unmet")
def index() -> str:
    """The tables, the filters and the links to the map and the downloads."""
    get_db().require_current()
    query = parse_query()
    lang = current_lang()
    counts = counts_for(query)
    tables_html = _tables_html(counts, query, lang)
    years = need_fiscal_years(get_db(), current_actor())
    if query.fy is not None and query.fy not in years:
        years = sorted({*years, query.fy}, reverse=True)
    return render_template(
        "unmet/index.html",
        query=query,
        tables_html=tables_html,
        period=period_label(query, lang),
        today=fiscal.today_in_japan(),
        years=[(fy, fiscal.fy_label(fy, lang)) for fy in years],
        months=[(m, fiscal.month_label(m, lang)) for m in fiscal.FISCAL_MONTHS],
        levels=[("district", _("By district")), ("area", _("By daily-living area"))],
        up_url=url_for("unmet.index", **query.args(level="area", area=None))
        if query.area
        else None,
    )


# ------------------------------------------------------------------------ the downloads

_HEADS = (
    N_("Table"),
    N_("Period"),
    N_("Place code"),
    N_("Place"),
    N_("Kind code"),
    N_("Kind"),
    N_("Reason code"),
    N_("Reason"),
    N_("Count"),
)


def _table_rows(query: Query, lang: str) -> tuple[list[str], list[list[str | int]]]:
    """The counts as rows of text and numbers (a public table shows small ones as 少数)."""
    few = translate(N_("a few"), lang)
    period = period_label(query, lang)
    unmet_words = translate(N_("Unmet"), lang)
    ended_words = translate(N_("Referral ended"), lang)
    rows: list[list[str | int]] = []
    order = {code: i for i, code in enumerate((*UNMET_REASONS, *END_CAUSES))}
    counts = sorted(
        counts_for(query),
        key=lambda c: (c.district, _category_order(c.category), order.get(c.reason, 99)),
    )
    for c in counts:
        shown: str | int = c.count
        if query.public and 0 < c.count < PUBLIC_SUPPRESS_BELOW:
            shown = few
        rows.append(
            [
                ended_words if c.reason in REFERRAL_END_LABELS else unmet_words,
                period,
                c.district,
                c.name,
                c.category,
                _category_label(c.category, lang),
                c.reason,
                unmet_label(c.reason, lang),
                shown,
            ]
        )
    return [translate(h, lang) for h in _HEADS], rows


def _filename(query: Query, ext: str) -> str:
    parts = ["unmet", query.level]
    if query.area:
        parts.append(query.area)
    if query.fy is not None:
        parts.append(f"FY{query.fy}")
        if query.month is not None:
            parts.append(f"{query.month:02d}")
    if query.public:
        parts.append("public")
    safe = "".join(
        ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "_" for ch in "-".join(parts)
    )
    return f"{safe}.{ext}"


def _download(data: bytes, mimetype: str, filename: str) -> Response:
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f"attachment; filename={filename}"
    return response


@bp.get("/unmet.csv")
def csv_download() -> Response:
    """The counts as CSV (UTF-8 with BOM, so Excel reads the Japanese)."""
    from directory.exports import write_csv

    get_db().require_current()
    query = parse_query()
    header, rows = _table_rows(query, current_lang())
    data = write_csv(header, [[str(v) for v in row] for row in rows])
    return _download(data, "text/csv", _filename(query, "csv"))


@bp.get("/unmet.xlsx")
def xlsx_download() -> Response:
    """The counts as an Excel workbook: counts are numbers, every text cell is text (a
    district named 「=…」 is never a formula)."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    get_db().require_current()
    query = parse_query()
    lang = current_lang()
    header, rows = _table_rows(query, lang)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(translate(N_("Unmet needs"), lang)[:31])

    def cell(value: str | int) -> Any:  # a WriteOnlyCell (a function in openpyxl's stubs)
        c = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            c.data_type = "s"
        return c

    sheet.append([cell(h) for h in header])
    for row in rows:
        sheet.append([cell(v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return _download(
        buffer.getvalue(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        _filename(query, "xlsx"),
    )


# ------------------------------------------------------------------------------ the map


@bp.get("/unmet/map")
def map_page() -> Response:
    """The choropleth of unmet needs per district (the matcher's reasons; referrals that
    ended are in the tables). Exact counts for coordinators, 「少数」 with ``?public=1``."""
    from directory.map_data import UnknownAreaError, map_districts
    from maps import unmet_map
    from web.db import get_session
    from web.maps_views import _credits, _html

    get_db().require_current()
    query = parse_query()
    lang = current_lang()
    actor = current_actor()
    district_query = Query("district", query.fy, query.month, query.area, query.public)
    counts = [c for c in counts_for(district_query) if c.reason in UNMET_REASONS]
    scope = query.area
    if scope is None and actor.role == "tier2" and len(actor.area_codes) == 1:
        scope = actor.area_codes[0]
    try:
        districts = map_districts(get_session(), area_code=scope)
    except UnknownAreaError:  # pragma: no cover - the report has checked the code
        districts = map_districts(get_session())
    name = next((d.name for d in districts if d.code == scope), None) if scope else None
    title = (
        _("Unmet needs for life support by district: {name}", name=name)
        if name
        else _("Unmet needs for life support (by district)")
    )
    m = unmet_map(
        counts,
        districts,
        suppress_below=PUBLIC_SUPPRESS_BELOW if query.public else 0,
        title=_("{title} ({period})", title=title, period=period_label(query, lang)),
        as_of=fiscal.today_in_japan(),
        credits=[c.get("credit", c) if isinstance(c, dict) else c for c in _credits()],
        lang=lang,
    )
    return _html(m, _filename(query, "html"))

"""``/reports``: the annual and monthly reports in the browser — a printable page and the
same report as XLSX (the command line's ``tsunagu report``). Tier 2 see their own areas,
tier 1 and administrators every area; viewers and anonymous callers are refused by the
service (:func:`web.reports.make_report`)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, render_template, request
from werkzeug.exceptions import BadRequest

from directory import fiscal
from directory.i18n import N_, LocalisedError, LocalisedText
from web.db import get_db
from web.i18n import current_lang
from web.reports import make_report, report_tables, report_xlsx
from web.security import current_actor
from web.services import NotFoundForActor, need_fiscal_years

bp = Blueprint("reports", __name__)


def _query() -> tuple[int, int | None, str | None]:
    """``fy`` (default: this fiscal year), ``month`` and ``area`` from the query string;
    a bad one is a 400 that says what to fix."""
    raw_fy, raw_month = request.args.get("fy", ""), request.args.get("month", "")
    try:
        fy = int(raw_fy) if raw_fy else fiscal.fiscal_year(fiscal.today_in_japan())
        month = int(raw_month) if raw_month else None
        fiscal.period(fy, month)
    except LocalisedError as exc:
        raise BadRequest(LocalisedText(exc.msgid, **exc.params)) from None
    except ValueError:
        raise BadRequest(LocalisedText(N_("Choose a fiscal year."))) from None
    return fy, month, request.args.get("area") or None


def _report() -> Any:
    fy, month, area = _query()
    try:
        return make_report(
            get_db(), current_actor(), fy=fy, month=month, area=area, lang=current_lang()
        )
    except NotFoundForActor:
        abort(404)


@bp.get("/reports")
def index() -> str:
    """The report as a page: the filters, then one section per area."""
    report = _report()
    lang = current_lang()
    years = need_fiscal_years(get_db(), current_actor())
    if report.fy not in years:
        years = sorted({*years, report.fy}, reverse=True)
    return render_template(
        "reports/index.html",
        report=report,
        sections=[(place, report_tables(report, place, lang)) for place in report.places],
        years=[(fy, fiscal.fy_label(fy, lang)) for fy in years],
        months=[(m, fiscal.month_label(m, lang)) for m in fiscal.FISCAL_MONTHS],
        area=request.args.get("area") or "",
    )


@bp.get("/reports.xlsx")
def xlsx() -> Response:
    """The same report as a workbook (a sheet per area)."""
    report = _report()
    name = f"tsunagu-report-{report.fy}" + (f"-{report.month:02d}" if report.month else "")
    return Response(
        report_xlsx(report, current_lang()),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={
            "Content-Disposition": f'attachment; filename="{name}.xlsx"',
            "Cache-Control": "no-store",
        },
    )

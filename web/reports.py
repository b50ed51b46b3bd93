"""The annual and monthly reports: what a coordinator owes the municipality each 年度.

Why this shape: the reports coordinators file (the Kami plan, 月次報告及び年次報告書 in the
Omuta specification) are per area, in fiscal years written in era form, with the year
before beside the year reported ("登録 7件（休止中 2件）", 令和4年度 beside 令和5年度). So a
report is, per area and per district of it, for the period and for the same period a
year earlier:

* **resources** by category: registered at the end of the period (not ended by then),
  of which paused, new in the period, ended in the period. A resource counts in every
  area it serves (対象地区; 全域 counts under the municipality), or else in its venue's;
* **needs**: recorded in the period (``recorded_on``, else the day it was entered),
  matched (a resource was proposed in the period), connected (a referral reached
  ``connected`` in the period), referrals ended by cause (§8), unmet by reason (the
  engine's §5 reasons for the period's needs that are still unmet), and the median days
  from intake to the first connection;
* **how current the directory is**: the share of its registered resources confirmed in
  the year before the period's end.

Counts only: no need's text, id or pseudonym is read into a report. Tier 2 get their
own areas, tier 1 and administrators every area; each report made is audited.

A resource's first known day is the earlier of the day it was entered and the day it
was last confirmed (a list imported today holds resources confirmed years ago); the day
it ended is its last update while 終了; whether it was paused is its status now.
"""

from __future__ import annotations

import datetime as dt
import io
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from openpyxl.styles import Alignment
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory import fiscal
from directory.i18n import N_, translate
from directory.models import District, Resource, Venue, resource_category, resource_district
from directory.queries import ancestor_at, ancestor_map
from directory.taxonomy import load_taxonomy
from matching.models import MATCH_END_STATUSES, Match, MatchEvent, Need
from matching.reasons import unmet_label
from matching.service import load_needs, match_needs, unmet_counts
from web import audit
from web.actors import Actor
from web.db import Database
from web.services import AccessDenied, NotFoundForActor, need_filters

__all__ = ["Figures", "PlaceReport", "Report", "make_report", "report_xlsx"]

#: A resource counts as current when confirmed within this many days of the period's end.
CURRENT_DAYS = 365
# column words used inside formatted headers (defined here so the catalogue finds them)
_REGISTERED = N_("Registered")
_PAUSED = N_("of which paused")
_NEW = N_("New")
_ENDED = N_("Ended")
_RECORDED = N_("Needs recorded")
_CONNECTED = N_("Referrals connected")
_UNMET = N_("Unmet")

#: Header cells wrap (shared by every header: openpyxl keeps one style per object).
_WRAP = Alignment(wrap_text=True, vertical="top")
#: The municipality-wide bucket for resources serving 全域 (and districts in no area).
WHOLE = "*"


@dataclass
class ResourceCounts:
    registered: int = 0
    paused: int = 0
    new: int = 0
    ended: int = 0


@dataclass
class Figures:
    """One place in one period."""

    resources: dict[str, ResourceCounts] = field(default_factory=dict)  # category → counts
    recorded: int = 0
    matched: int = 0
    connected: int = 0
    ended_by_cause: Counter[str] = field(default_factory=Counter)
    unmet_by_reason: Counter[str] = field(default_factory=Counter)
    days_to_connect: list[int] = field(default_factory=list)
    registered_total: int = 0
    confirmed_recently: int = 0

    @property
    def median_days(self) -> float | None:
        return statistics.median(self.days_to_connect) if self.days_to_connect else None

    @property
    def confirmed_share(self) -> float | None:
        return self.confirmed_recently / self.registered_total if self.registered_total else None

    def resource_total(self, name: str) -> int:
        return sum(getattr(c, name) for c in self.resources.values())


@dataclass
class PlaceReport:
    code: str
    name: str
    level: str
    current: Figures
    previous: Figures
    districts: list[PlaceReport] = field(default_factory=list)


@dataclass
class Report:
    kind: str  # annual / monthly
    fy: int
    month: int | None
    period: fiscal.Period
    previous_period: fiscal.Period
    label: str
    previous_label: str
    places: list[PlaceReport]


def _period(fy: int, month: int | None) -> fiscal.Period:
    span = fiscal.period(fy, month)
    assert span is not None
    return span


def _label(fy: int, month: int | None, lang: str) -> str:
    year = fiscal.fy_label(fy, lang)
    return year if month is None else f"{year} {fiscal.era_month_label(fy, month, lang)}"


class _Places:
    """District → (area, district) buckets, read once."""

    def __init__(self, session: Session):
        self.tree = ancestor_map(session)
        rows = session.execute(
            select(District.id, District.code, District.name, District.level)
        ).all()
        self.info = {r.id: (r.code, r.name, r.level) for r in rows}

    def area(self, district_id: int) -> int | None:
        return ancestor_at(self.tree, district_id, "area")

    def district(self, district_id: int) -> int | None:
        return ancestor_at(self.tree, district_id, "district")


def make_report(
    db: Database,
    actor: Actor,
    *,
    fy: int,
    month: int | None = None,
    area: str | None = None,
    lang: str = "ja",
    today: dt.date | None = None,
) -> Report:
    """The annual (``month`` None) or monthly report over the actor's areas (or one area)."""
    if not actor.sees_needs:
        raise AccessDenied(N_("You are not allowed to see reports"))
    span, before = _period(fy, month), _period(fy - 1, month)
    today = today or fiscal.today_in_japan()
    spans = {"current": span, "previous": before}
    with db.read() as session:
        places = _Places(session)
        wanted = _areas_for(session, actor, places, area)
        figures: dict[tuple[int, int | None], dict[str, Figures]] = defaultdict(
            lambda: {"current": Figures(), "previous": Figures()}
        )
        _resources(session, places, wanted, spans, figures)
        _needs(session, places, wanted, spans, figures)
        _unmet(db, session, places, wanted, spans, figures, today)
    report = _assemble(places, wanted, figures, fy, month, span, before, lang)
    with db.write() as session:
        audit.record(
            session,
            actor,
            "export",
            "report",
            f"{'annual' if month is None else 'monthly'}:{fy}" + (f"-{month}" if month else ""),
            detail=f"areas={len(report.places)}",
        )
    return report


def _areas_for(session: Session, actor: Actor, places: _Places, code: str | None) -> set[int]:
    """The area ids the report covers (−1: the municipality-wide bucket, for those who
    reach everywhere); an area the actor may not reach looks like one that does not exist."""
    areas = {did for did, (_c, _n, level) in places.info.items() if level == "area"}
    everywhere = actor.may_reach_area(None)
    allowed = {a for a in areas if actor.may_reach_area(a)}
    if code is None:
        return allowed | ({-1} if everywhere else set())
    found = [did for did, (c, _n, _l) in places.info.items() if c == code]
    if not found or places.info[found[0]][2] != "area" or found[0] not in allowed:
        raise NotFoundForActor(code)
    return {found[0]}


def _resources(
    session: Session,
    places: _Places,
    wanted: set[int],
    spans: dict[str, fiscal.Period],
    figures: dict[tuple[int, int | None], dict[str, Figures]],
) -> None:
    """Resources per category in each period (one pass over the table)."""
    served: dict[int, list[int]] = defaultdict(list)
    for rid, did in session.execute(
        select(resource_district.c.resource_id, resource_district.c.district_id)
    ):
        served[rid].append(did)
    categories: dict[int, list[str]] = defaultdict(list)
    for rid, code in session.execute(
        select(resource_category.c.resource_id, resource_category.c.category_code)
    ):
        categories[rid].append(code)
    venue_district: dict[int, int | None] = {
        vid: did for vid, did in session.execute(select(Venue.id, Venue.district_id))
    }
    for r in session.execute(
        select(
            Resource.id,
            Resource.status,
            Resource.created_at,
            Resource.updated_at,
            Resource.last_verified_on,
            Resource.venue_id,
        )
    ):
        # its first known day: entered here, or confirmed before that (a list imported
        # today holds resources confirmed years ago)
        created = fiscal.japan_date(r.created_at)
        if r.last_verified_on is not None:
            created = min(created, r.last_verified_on)
        ended_on = fiscal.japan_date(r.updated_at) if r.status == "ended" else None
        venue = venue_district.get(r.venue_id) if r.venue_id is not None else None
        districts = served.get(r.id) or ([venue] if venue is not None else [])
        buckets = {_bucket(places, d) for d in districts} or {(-1, None)}
        # each resource once in an area's total, and once in each district row
        targets = {(a, None) for a, _ in buckets} | {b for b in buckets if b[1] is not None}
        targets = {t for t in targets if t[0] in wanted}
        if not targets:
            continue
        codes = categories.get(r.id) or ["-"]
        for key, span in spans.items():
            if created > span.last or (ended_on is not None and ended_on < span.first):
                continue  # not yet, or gone before the period
            registered = ended_on is None or ended_on > span.last
            recent = span.last - dt.timedelta(days=CURRENT_DAYS)
            for target in targets:
                fig = figures[target][key]
                for code in codes:
                    counts = fig.resources.setdefault(code, ResourceCounts())
                    counts.registered += registered
                    counts.paused += registered and r.status == "paused"
                    counts.new += created >= span.first
                    counts.ended += ended_on is not None and ended_on in span
                if registered:
                    fig.registered_total += 1
                    fig.confirmed_recently += (
                        r.last_verified_on is not None and recent < r.last_verified_on <= span.last
                    )


def _targets(bucket: tuple[int, int | None]) -> list[tuple[int, int | None]]:
    """Where one need counts: its area's total, and its district's row."""
    area, district = bucket
    return [(area, None)] + ([(area, district)] if district is not None else [])


def _bucket(places: _Places, district_id: int) -> tuple[int, int | None]:
    """(area, district) of a district id: −1 for the municipality (全域) or no area."""
    area = places.area(district_id)
    return (-1 if area is None else area, places.district(district_id))


def _needs(
    session: Session,
    places: _Places,
    wanted: set[int],
    spans: dict[str, fiscal.Period],
    figures: dict[tuple[int, int | None], dict[str, Figures]],
) -> None:
    """Recorded, matched, connected, ended by cause and days to connect in each period —
    counts only: the need's text, id and pseudonym are never selected."""
    intake: dict[int, dt.date] = {}
    bucket_of: dict[int, tuple[int, int | None]] = {}
    for need_id, district_id, recorded_on, created_at in session.execute(
        select(Need.id, Need.district_id, Need.recorded_on, Need.created_at)
    ):
        bucket = _bucket(places, district_id)
        if bucket[0] not in wanted:
            continue
        bucket_of[need_id] = bucket
        day = intake[need_id] = fiscal.recorded_day(recorded_on, created_at)
        for key, span in spans.items():
            if day in span:
                for target in _targets(bucket):
                    figures[target][key].recorded += 1
    matched: dict[str, set[int]] = {key: set() for key in spans}
    # what happened: the timeline, else (older records) a match's status and its last change
    happened: dict[tuple[int, str], dt.date] = {}
    for need_id, status, on in session.execute(
        select(MatchEvent.need_id, MatchEvent.status, MatchEvent.happened_on)
    ):
        if need_id in bucket_of:
            seen = happened.get((need_id, status))
            happened[(need_id, status)] = on if seen is None else min(on, seen)
    for need_id, status, created_at, updated_at in session.execute(
        select(Match.need_id, Match.status, Match.created_at, Match.updated_at)
    ):
        if need_id not in bucket_of:
            continue
        proposed = fiscal.japan_date(created_at)
        for key, span in spans.items():
            if proposed in span:
                matched[key].add(need_id)
        if (need_id, status) not in happened:
            happened[(need_id, status)] = fiscal.japan_date(updated_at)
    for key, needs in matched.items():
        for need_id in needs:
            for target in _targets(bucket_of[need_id]):
                figures[target][key].matched += 1
    for (need_id, status), on in happened.items():
        if status != "connected" and status not in MATCH_END_STATUSES:
            continue
        for key, span in spans.items():
            if on not in span:
                continue
            for target in _targets(bucket_of[need_id]):
                fig = figures[target][key]
                if status == "connected":
                    fig.connected += 1
                    fig.days_to_connect.append(max(0, (on - intake[need_id]).days))
                else:
                    fig.ended_by_cause[status] += 1


def _unmet(
    db: Database,
    session: Session,
    places: _Places,
    wanted: set[int],
    spans: dict[str, fiscal.Period],
    figures: dict[tuple[int, int | None], dict[str, Figures]],
    today: dt.date,
) -> None:
    """The open needs of each period that the engine finds unmet, by reason (one run of
    the matcher for both periods; counted by :func:`matching.service.unmet_counts`, the
    rule of the unmet-needs page)."""

    def counted(district_id: int) -> bool:
        return _bucket(places, district_id)[0] in wanted

    chosen = {
        key: load_needs(session, where=need_filters(session, counted, span))
        for key, span in spans.items()
    }
    everyone = [n for needs in chosen.values() for n in needs]
    results = dict(
        zip(
            (n.id for n in everyone),
            match_needs(session, db.snapshots, everyone, on=today, top=1),
            strict=True,
        )
    )
    by_code = {c: did for did, (c, _n, _l) in places.info.items()}
    for key, needs in chosen.items():
        for row in unmet_counts(session, needs, [results[n.id] for n in needs]):
            district = by_code[row.district]
            for target in _targets(_bucket(places, district)):
                figures[target][key].unmet_by_reason[row.reason] += row.count


def _assemble(
    places: _Places,
    wanted: set[int],
    figures: dict[tuple[int, int | None], dict[str, Figures]],
    fy: int,
    month: int | None,
    span: fiscal.Period,
    before: fiscal.Period,
    lang: str,
) -> Report:
    out = []
    for area in sorted(wanted, key=lambda a: places.info[a][0] if a >= 0 else "~"):
        if area >= 0:
            code, name, level = places.info[area]
        else:
            code, name, level = WHOLE, translate(N_("Whole municipality"), lang), "municipality"
        totals = figures.get((area, None))
        current = totals["current"] if totals else Figures()
        previous = totals["previous"] if totals else Figures()
        districts = [
            PlaceReport(*places.info[d], figs["current"], figs["previous"])
            for (a, d), figs in sorted(
                figures.items(), key=lambda kv: places.info[kv[0][1]][0] if kv[0][1] else ""
            )
            if a == area and d is not None and d != area
        ]
        if area < 0 and not districts and not _any(current) and not _any(previous):
            continue  # nothing municipality-wide: no empty sheet
        out.append(PlaceReport(code, name, level, current, previous, districts))
    return Report(
        "annual" if month is None else "monthly",
        fy,
        month,
        span,
        before,
        _label(fy, month, lang),
        _label(fy - 1, month, lang),
        out,
    )


def _any(f: Figures) -> bool:
    return bool(f.resources or f.recorded or f.matched or f.connected or f.unmet_by_reason)


# --------------------------------------------------------------------------- XLSX


def _category_rows(place: PlaceReport) -> list[str]:
    taxonomy = load_taxonomy()
    codes = set(place.current.resources) | set(place.previous.resources)
    order = {c.code: i for i, c in enumerate(taxonomy)}
    return sorted(codes, key=lambda c: (order.get(c, len(order)), c))


def _category_label(code: str, lang: str) -> str:
    taxonomy = load_taxonomy()
    if code in taxonomy:
        return taxonomy[code].label(lang)
    return translate(N_("(no category)"), lang)


def report_tables(report: Report, place: PlaceReport, lang: str) -> list[dict[str, Any]]:
    """The sections of one place's report as tables (title, header, rows): what the XLSX
    sheet and the printable page both show."""

    def t(msgid: str, **kw: Any) -> str:
        return translate(msgid, lang, **kw)

    now, then = report.label, report.previous_label
    cur, prev = place.current, place.previous
    resources = {
        "title": t(N_("Resources by category")),
        "header": [
            t(N_("Category")),
            f"{t(_REGISTERED)} {now}",
            f"{t(_PAUSED)} {now}",
            f"{t(_NEW)} {now}",
            f"{t(_ENDED)} {now}",
            f"{t(_REGISTERED)} {then}",
            f"{t(_PAUSED)} {then}",
        ],
        "rows": [
            [
                _category_label(code, lang),
                cur.resources.get(code, ResourceCounts()).registered,
                cur.resources.get(code, ResourceCounts()).paused,
                cur.resources.get(code, ResourceCounts()).new,
                cur.resources.get(code, ResourceCounts()).ended,
                prev.resources.get(code, ResourceCounts()).registered,
                prev.resources.get(code, ResourceCounts()).paused,
            ]
            for code in _category_rows(place)
        ],
        "total": [
            t(N_("Total")),
            cur.resource_total("registered"),
            cur.resource_total("paused"),
            cur.resource_total("new"),
            cur.resource_total("ended"),
            prev.resource_total("registered"),
            prev.resource_total("paused"),
        ],
    }

    def pair(label: str, a: Any, b: Any, fmt: str = "int") -> list[Any]:
        return [label, a, b, fmt]

    needs_rows = [
        pair(t(N_("Needs recorded")), cur.recorded, prev.recorded),
        pair(t(N_("Needs with a resource proposed")), cur.matched, prev.matched),
        pair(t(N_("Referrals connected")), cur.connected, prev.connected),
        pair(
            t(N_("Median days from intake to connection")),
            cur.median_days,
            prev.median_days,
            "days",
        ),
        pair(
            t(N_("Resources confirmed within a year")),
            cur.confirmed_share,
            prev.confirmed_share,
            "share",
        ),
    ]
    for cause in MATCH_END_STATUSES:
        needs_rows.append(
            pair(
                t(N_("Referrals ended: {cause}"), cause=unmet_label(cause, lang)),
                cur.ended_by_cause.get(cause, 0),
                prev.ended_by_cause.get(cause, 0),
            )
        )
    for reason in sorted(set(cur.unmet_by_reason) | set(prev.unmet_by_reason)):
        needs_rows.append(
            pair(
                t(N_("Unmet: {reason}"), reason=unmet_label(reason, lang)),
                cur.unmet_by_reason.get(reason, 0),
                prev.unmet_by_reason.get(reason, 0),
            )
        )
    needs = {
        "title": t(N_("Needs and referrals")),
        "header": [t(N_("Item")), now, then],
        "rows": [r[:3] for r in needs_rows],
        "formats": [r[3] for r in needs_rows],
    }
    districts = {
        "title": t(N_("By district")),
        "header": [
            t(N_("District")),
            f"{t(_REGISTERED)} {now}",
            f"{t(_RECORDED)} {now}",
            f"{t(_CONNECTED)} {now}",
            f"{t(_UNMET)} {now}",
            f"{t(_REGISTERED)} {then}",
            f"{t(_RECORDED)} {then}",
        ],
        "rows": [
            [
                d.name,
                d.current.resource_total("registered"),
                d.current.recorded,
                d.current.connected,
                sum(d.current.unmet_by_reason.values()),
                d.previous.resource_total("registered"),
                d.previous.recorded,
            ]
            for d in place.districts
        ],
    }
    return [resources, needs, districts]


def report_xlsx(report: Report, lang: str = "ja") -> bytes:
    """The report as a workbook: a summary sheet, then one sheet per area (Japanese
    headers, frozen header rows, number formats), ready to print."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    def t(msgid: str, **kw: Any) -> str:
        return translate(msgid, lang, **kw)

    # one style object each, shared by every cell (openpyxl looks styles up per object)
    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="DDE7F0")
    right = Alignment(horizontal="right")
    wb = Workbook()
    summary = wb.active
    assert summary is not None
    summary.title = t(N_("Summary"))[:31]
    title = t(N_("Report for {period}"), period=report.label)
    summary.append([title])
    summary["A1"].font = Font(bold=True, size=14)
    header = [
        t(N_("Area")),
        f"{t(_REGISTERED)} {report.label}",
        f"{t(_REGISTERED)} {report.previous_label}",
        f"{t(_RECORDED)} {report.label}",
        f"{t(_RECORDED)} {report.previous_label}",
        f"{t(_CONNECTED)} {report.label}",
        f"{t(_UNMET)} {report.label}",
        t(N_("Resources confirmed within a year")),
    ]
    summary.append(header)
    for p in report.places:
        summary.append(
            [
                p.name,
                p.current.resource_total("registered"),
                p.previous.resource_total("registered"),
                p.current.recorded,
                p.previous.recorded,
                p.current.connected,
                sum(p.current.unmet_by_reason.values()),
                p.current.confirmed_share,
            ]
        )
        summary.cell(summary.max_row, len(header)).number_format = "0.0%"
    _style_header(summary, 2, bold, head_fill)
    summary.freeze_panes = "B3"
    _widths(summary, get_column_letter)
    used: set[str] = {summary.title}
    for place in report.places:
        ws = wb.create_sheet(_sheet_name(place.name, used))
        ws.append([f"{place.name} — {title}"])
        ws["A1"].font = Font(bold=True, size=13)
        first_header = None
        for table in report_tables(report, place, lang):
            ws.append([])
            ws.append([table["title"]])
            ws.cell(ws.max_row, 1).font = bold
            ws.append(table["header"])
            _style_header(ws, ws.max_row, bold, head_fill)
            first_header = first_header or ws.max_row
            formats = table.get("formats") or ["int"] * len(table["rows"])
            for row, fmt in zip(table["rows"], formats, strict=True):
                ws.append(row)
                number_format = {"share": "0.0%", "days": "0.0"}.get(fmt, "#,##0")
                for col in range(2, len(row) + 1):
                    cell = ws.cell(ws.max_row, col)
                    cell.number_format = number_format
                    cell.alignment = right
            if "total" in table:
                ws.append(table["total"])
                for col in range(1, len(table["total"]) + 1):
                    ws.cell(ws.max_row, col).font = bold
        ws.freeze_panes = f"B{first_header + 1}" if first_header else None
        ws.print_title_rows = "1:1"
        ws.page_setup.orientation = "landscape"
        ws.page_setup.fitToWidth = 1
        _widths(ws, get_column_letter)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _style_header(ws: Any, row: int, bold: Any, fill: Any) -> None:
    for cell in ws[row]:
        cell.font = bold
        cell.fill = fill
        cell.alignment = _WRAP


def _widths(ws: Any, letter: Any) -> None:
    ws.column_dimensions[letter(1)].width = 34
    for col in range(2, ws.max_column + 1):
        ws.column_dimensions[letter(col)].width = 16


def _sheet_name(name: str, used: set[str]) -> str:
    """A sheet title Excel accepts (31 characters, none of []:*?/\\), unique."""
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31] or "-"
    candidate, n = clean, 2
    while candidate in used:
        suffix = f" ({n})"
        candidate = clean[: 31 - len(suffix)] + suffix
        n += 1
    used.add(candidate)
    return candidate

"""The directory as a §3 table (CSV or XLSX): the import format written back, so
export → import changes nothing.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.models import District, Organization, Resource, resource_category, resource_district
from directory.resources.cells import FORMULA_START, STATUS_LABEL
from directory.resources.columns import COLUMNS
from directory.text import normalize


def export_rows(
    session: Session, *, include_private: bool = False
) -> tuple[list[str], list[list[str]]]:
    """The directory as §3 rows (header + rows), public resources only unless asked.

    Exactly what :func:`import_resources` reads back to the same state: the schedule
    cells as the coordinator wrote them, served districts by name where the name is
    unique (else by code), ``全域`` for the whole municipality.
    """
    stmt = select(Resource).order_by(Resource.external_id)
    if not include_private:
        # 終了 resources stay out of the public file, as in every open format (§6).
        stmt = stmt.where(Resource.public.is_(True), Resource.status != "ended")
    resources = list(session.scalars(stmt))
    districts = session.execute(
        select(District.id, District.code, District.name, District.level)
    ).all()
    name_count: dict[str, int] = defaultdict(int)
    for d in districts:
        name_count[normalize(d.name)] += 1
    codes = {normalize(d.code) for d in districts}
    single_municipality = sum(1 for d in districts if d.level == "municipality") == 1

    def district_text(d: Any) -> str:
        if d.level == "municipality" and single_municipality:
            return "全域"
        key = normalize(d.name)
        return d.name if name_count[key] == 1 and key not in codes else d.code

    texts = {d.id: district_text(d) for d in districts}
    orgs = dict(session.execute(select(Organization.id, Organization.name)).tuples().all())
    extra_headers: list[str] = []
    for r in resources:
        for key in r.extra:
            if key not in extra_headers:
                extra_headers.append(key)
    header = [c.header for c in COLUMNS] + extra_headers
    cats = _grouped(session, resource_category.c.resource_id, resource_category.c.category_code)
    dists = _grouped(session, resource_district.c.resource_id, resource_district.c.district_id)
    out: list[list[str]] = []
    for r in resources:
        row = {
            "external_id": r.external_id,
            "name": r.name,
            "categories": ";".join(sorted(cats.get(r.id, []))),
            "kana": r.kana,
            "description": r.description,
            "organization": orgs.get(r.organization_id) if r.organization_id else None,
            "address": r.address,
            "building": r.building,
            "lat": repr(r.lat) if r.lat is not None else None,
            "lon": repr(r.lon) if r.lon is not None else None,
            "districts": ";".join(texts[d] for d in sorted(dists.get(r.id, []))),
            "days": r.schedule_days,
            "start": r.schedule_start,
            "end": r.schedule_end,
            "note": r.schedule_note,
            "capacity": str(r.capacity) if r.capacity is not None else None,
            "vacancy": (
                str(r.seats_left)
                if r.seats_left is not None
                else None
                if r.accepts_new is None
                else "あり"
                if r.accepts_new
                else "なし"
            ),
            "fee": r.fee,
            "eligibility": r.eligibility,
            "transport": None if r.transport is None else "あり" if r.transport else "なし",
            "phone": r.phone,
            "url": r.url,
            "status": STATUS_LABEL[r.status],
            "public": "可" if r.public else "否",
            "verified": r.last_verified_on.isoformat() if r.last_verified_on else None,
            "notes": r.notes,
        }
        out.append(
            [
                *(row[c.key] or "" for c in COLUMNS),
                *(str(r.extra.get(h, "")) for h in extra_headers),
            ]
        )
    return header, out


def _grouped(session: Session, key_col: Any, value_col: Any) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = defaultdict(list)
    for k, v in session.execute(select(key_col, value_col)):
        grouped[k].append(v)
    return grouped


def _safe_cell(value: str) -> str:
    """Spreadsheet formula injection: a cell that starts like a formula gets a quote.

    Numbers (-1.5 as a longitude would never be in Japan, but a negative count might)
    are left alone so they stay numbers.
    """
    if value.startswith(FORMULA_START) and not re.fullmatch(r"[-+]?\d+(\.\d+)?", value):
        return "'" + value
    return value


def write_csv(header: list[str], rows: list[list[str]], *, bom: bool = True) -> bytes:
    """UTF-8 with BOM by default, so Excel opens the Japanese text correctly."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[_safe_cell(c) for c in row] for row in rows])
    return (b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode("utf-8")


def write_xlsx(header: list[str], rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("地域資源")
    sheet.append(header)
    for row in rows:
        # Every cell is written as text so IDs like 001 and phone numbers keep their zeros.
        sheet.append([_safe_cell(c) if c else None for c in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()

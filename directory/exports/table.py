"""The directory as a §3 table (CSV or XLSX): the import format written back, so
export → import changes nothing.

Streamed like the other whole-directory exports: the rows are read in keyset batches
(:func:`~directory.exports.published.published_batches`, with each batch's categories,
districts and organisations), the CSV is written a batch at a time and the XLSX sheet
straight into its zip entry (:mod:`directory.exports.xlsx`), so memory stays bounded at
national scale. The header comes first, so the standard set's extra columns are gathered
by one light pass over ``extra`` before the rows.
"""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from directory.exports.published import (
    BATCH_SIZE,
    Progress,
    count_published,
    published_batches,
)
from directory.exports.xlsx import xlsx_stream
from directory.models import District, Organization, resource_category, resource_district
from directory.resources.cells import FORMULA_START, STATUS_LABEL
from directory.resources.columns import COLUMNS
from directory.text import normalize

#: The sheet of an XLSX export (and what the importer reads first).
SHEET_NAME = "地域資源"

#: The resource columns a table row is made of (see :func:`_cells`).
_ROW_COLUMNS = (
    "id",
    "external_id",
    "name",
    "kana",
    "description",
    "organization_id",
    "address",
    "building",
    "lat",
    "lon",
    "schedule_days",
    "schedule_start",
    "schedule_end",
    "schedule_note",
    "capacity",
    "seats_left",
    "accepts_new",
    "fee",
    "eligibility",
    "transport",
    "phone",
    "url",
    "status",
    "public",
    "last_verified_on",
    "notes",
    "extra",
)
#: The §3 keys in the order of the columns.
_KEYS = tuple(c.key for c in COLUMNS)
_NUMBER = re.compile(r"[-+]?\d+(\.\d+)?")


def table_rows(
    session: Session,
    *,
    include_private: bool = False,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> tuple[list[str], Iterator[list[str]]]:
    """The header of the §3 table and an iterator of its rows (public resources only
    unless ``include_private``; 終了 stays out of the public file, as in every open
    format, §6), read from the database in batches as the iterator is consumed.

    Exactly what :func:`~directory.resources.import_resources` reads back to the same
    state: the schedule cells as the coordinator wrote them, served districts by name
    where the name is unique (else by code), ``全域`` for the whole municipality, the
    standard set's other columns after the §3 ones in the order they first appear.
    ``progress(done, total)`` is called after each batch.
    """
    extra_headers = _extra_headers(session, include_private, batch_size)
    header = [c.header for c in COLUMNS] + extra_headers
    return header, _rows(session, extra_headers, include_private, batch_size, progress)


def export_rows(
    session: Session, *, include_private: bool = False
) -> tuple[list[str], list[list[str]]]:
    """:func:`table_rows` all in memory (small directories, tests)."""
    header, rows = table_rows(session, include_private=include_private)
    return header, list(rows)


def _extra_headers(session: Session, include_private: bool, batch_size: int) -> list[str]:
    """The keys of every exported resource's ``extra`` in the order they first appear
    (resources in external-id order), read in batches; most rows share one key list."""
    headers: dict[str, None] = {}
    seen: set[tuple[str, ...]] = set()
    for page in published_batches(
        session,
        ("external_id", "extra"),
        include_private=include_private,
        batch_size=batch_size * 10,
    ):
        for row in page.rows:
            keys = tuple(row.extra or ())
            if keys not in seen:
                seen.add(keys)
                headers.update(dict.fromkeys(keys))
    return list(headers)


def _district_texts(session: Session) -> dict[int, str]:
    """How each district is written in 対象地区: 全域 for the one municipality, its name
    where the name is unique and not also a code, else its code."""
    districts = session.execute(
        select(District.id, District.code, District.name, District.level)
    ).all()
    name_count: dict[str, int] = defaultdict(int)
    for d in districts:
        name_count[normalize(d.name)] += 1
    codes = {normalize(d.code) for d in districts}
    single_municipality = sum(1 for d in districts if d.level == "municipality") == 1

    def text(d: Any) -> str:
        if d.level == "municipality" and single_municipality:
            return "全域"
        key = normalize(d.name)
        return d.name if name_count[key] == 1 and key not in codes else d.code

    return {d.id: text(d) for d in districts}


def _rows(
    session: Session,
    extra_headers: list[str],
    include_private: bool,
    batch_size: int,
    progress: Progress | None,
) -> Iterator[list[str]]:
    total = count_published(session, include_private=include_private) if progress else 0
    texts = _district_texts(session)
    done = 0
    for page in published_batches(
        session, _ROW_COLUMNS, include_private=include_private, batch_size=batch_size
    ):
        rows, ids = page.rows, page.ids
        cats: dict[int, list[str]] = defaultdict(list)
        link = resource_category.c
        for rid, code in session.execute(
            select(link.resource_id, link.category_code).where(link.resource_id.in_(ids))
        ):
            cats[rid].append(code)
        dists: dict[int, list[int]] = defaultdict(list)
        served = resource_district.c
        for rid, did in session.execute(
            select(served.resource_id, served.district_id).where(served.resource_id.in_(ids))
        ):
            dists[rid].append(did)
        wanted = {r.organization_id for r in rows if r.organization_id is not None}
        orgs = (
            dict(
                session.execute(
                    select(Organization.id, Organization.name).where(Organization.id.in_(wanted))
                )
                .tuples()
                .all()
            )
            if wanted
            else {}
        )
        for r in rows:
            yield _cells(r, orgs, cats, dists, texts, extra_headers)
        done += len(rows)
        if progress is not None:
            progress(done, total)


def _cells(
    r: Row[Any],
    orgs: dict[int, str],
    cats: dict[int, list[str]],
    dists: dict[int, list[int]],
    texts: dict[int, str],
    extra_headers: list[str],
) -> list[str]:
    """One resource as the cells of its row: the §3 columns, then the extra ones."""
    (
        rid,
        external_id,
        name,
        kana,
        description,
        organization_id,
        address,
        building,
        lat,
        lon,
        days,
        start,
        end,
        note,
        capacity,
        seats_left,
        accepts_new,
        fee,
        eligibility,
        transport,
        phone,
        url,
        status,
        public,
        verified,
        notes,
        extra,
    ) = r  # unpacked in the order of _ROW_COLUMNS (faster than 27 attribute lookups)
    row = {
        "external_id": external_id,
        "name": name,
        "categories": ";".join(sorted(cats.get(rid, ()))),
        "kana": kana,
        "description": description,
        "organization": orgs.get(organization_id) if organization_id else None,
        "address": address,
        "building": building,
        "lat": repr(lat) if lat is not None else None,
        "lon": repr(lon) if lon is not None else None,
        "districts": ";".join(texts[d] for d in sorted(dists.get(rid, ()))),
        "days": days,
        "start": start,
        "end": end,
        "note": note,
        "capacity": str(capacity) if capacity is not None else None,
        "vacancy": (
            str(seats_left)
            if seats_left is not None
            else None
            if accepts_new is None
            else "あり"
            if accepts_new
            else "なし"
        ),
        "fee": fee,
        "eligibility": eligibility,
        "transport": None if transport is None else "あり" if transport else "なし",
        "phone": phone,
        "url": url,
        "status": STATUS_LABEL[status],
        "public": "可" if public else "否",
        "verified": verified.isoformat() if verified else None,
        "notes": notes,
    }
    cells = [row[key] or "" for key in _KEYS]
    if extra_headers:
        extra = extra or {}
        cells += [str(extra.get(h, "")) for h in extra_headers]
    return cells


def _safe_cell(value: str) -> str:
    """Spreadsheet formula injection: a cell that starts like a formula gets a quote.

    Numbers (-1.5 as a longitude would never be in Japan, but a negative count might)
    are left alone so they stay numbers.
    """
    if value.startswith(FORMULA_START) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


def csv_chunks(
    header: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    bom: bool = True,
    rows_per_chunk: int = BATCH_SIZE,
) -> Iterator[bytes]:
    """The CSV as UTF-8 chunks of ``rows_per_chunk`` rows (the first one with the BOM
    and the header): UTF-8 with BOM by default, so Excel opens the Japanese text
    correctly; CRLF line ends."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    prefix = b"\xef\xbb\xbf" if bom else b""
    first, pending = True, 0
    for row in rows:
        # _safe_cell inline: one call per cell is a measurable share at 150,000 rows
        writer.writerow([_safe_cell(c) if c.startswith(FORMULA_START) else c for c in row])
        pending += 1
        if pending == rows_per_chunk:
            yield (prefix if first else b"") + buffer.getvalue().encode("utf-8")
            first, pending = False, 0
            buffer.seek(0)
            buffer.truncate()
    if first or pending:
        yield (prefix if first else b"") + buffer.getvalue().encode("utf-8")


def write_csv(header: Sequence[str], rows: Iterable[Sequence[str]], *, bom: bool = True) -> bytes:
    """:func:`csv_chunks` in memory."""
    return b"".join(csv_chunks(header, rows, bom=bom))


def xlsx_chunks(header: Sequence[str], rows: Iterable[Sequence[str]]) -> Iterator[bytes]:
    """The XLSX file in chunks (:func:`~directory.exports.xlsx.xlsx_stream`: one sheet,
    every cell text, nothing held in memory but a thousand rows)."""
    safe = ([_safe_cell(c) if c.startswith(FORMULA_START) else c for c in row] for row in rows)
    return xlsx_stream(SHEET_NAME, header, safe)


def write_xlsx(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    """:func:`xlsx_chunks` in memory."""
    return b"".join(xlsx_chunks(header, rows))


def iter_resources_csv(
    session: Session,
    *,
    include_private: bool = False,
    bom: bool = True,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> Iterator[bytes]:
    """The §3 table as CSV chunks, the database read in batches (:func:`table_rows`);
    the same bytes as ``write_csv(*export_rows(session))``."""
    header, rows = table_rows(
        session, include_private=include_private, batch_size=batch_size, progress=progress
    )
    yield from csv_chunks(header, rows, bom=bom, rows_per_chunk=batch_size)


def iter_resources_xlsx(
    session: Session,
    *,
    include_private: bool = False,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> Iterator[bytes]:
    """The §3 table as an XLSX file in chunks, the database read in batches."""
    header, rows = table_rows(
        session, include_private=include_private, batch_size=batch_size, progress=progress
    )
    yield from xlsx_chunks(header, rows)

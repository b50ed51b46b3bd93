"""Verification rounds: which resources nobody has confirmed for a while, and confirming
them — one click on the call sheet, or a CSV of confirmations imported back.

Why: a directory is only useful while it is true, and the first thing users of every
directory ask for is a verification date they can trust. Coordinators re-check by phone
in rounds, district by district; this module gives them the list to call (resources not
confirmed for ``days``, default :data:`VERIFY_AFTER_DAYS`, with the organisation and the
number to call), and takes the answers back through the same edit path as the resource
page (history, audit, the directory's version, optimistic locking).

Reading the list needs a staff account (tier 2, tier 1, admin); confirming needs the
right to edit that resource (tier 2 of an area it serves, tier 1, admin).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from directory import fiscal
from directory.errors import InvalidInputError, Problem
from directory.i18n import N_, translate
from directory.models import District, Resource
from directory.resources.cells import parse_verified
from directory.tables import read_table
from directory.text import normalize
from web.actors import Actor
from web.db import Database
from web.resource_service import confirm_today, may_edit, resource_areas
from web.search import Geography
from web.services import NotFoundForActor, require_staff

__all__ = [
    "VERIFY_AFTER_DAYS",
    "Confirmed",
    "Unconfirmed",
    "call_sheet_csv",
    "import_confirmations",
    "unconfirmed",
]

#: Resources not confirmed for this many days are due for a call (a year: the round most
#: municipalities run once a fiscal year).
VERIFY_AFTER_DAYS = 365
#: The call sheet's columns (the import reads ID and 確認日 back; the rest is for the call).
SHEET_COLUMNS = ("ID", "名称", "地区", "団体名", "電話番号", "住所", "最終確認日", "確認日")


@dataclass(frozen=True)
class Unconfirmed:
    external_id: str
    name: str
    version: int
    district_code: str
    district_name: str
    organization: str
    phone: str
    address: str
    last_verified_on: dt.date | None
    days: int | None  # since it was last confirmed (None: never)


@dataclass(frozen=True)
class Confirmed:
    confirmed: int
    skipped: int  # rows left blank: not reached this time


def unconfirmed(
    db: Database,
    actor: Actor,
    *,
    days: int = VERIFY_AFTER_DAYS,
    area: str | None = None,
    today: dt.date | None = None,
) -> list[Unconfirmed]:
    """The resources (not ended) last confirmed more than ``days`` ago, or never, by
    district then longest-unconfirmed first. Tier 2 see those of their own areas unless
    ``area`` names another they may see; an unknown area is :class:`NotFoundForActor`."""
    require_staff(actor)
    today = today or fiscal.today_in_japan()
    due = today - dt.timedelta(days=max(0, days))
    with db.read() as session:
        geo = Geography.read(session)
        wanted = _areas(geo, actor, area)
        names = dict(session.execute(select(District.id, District.name)).tuples().all())
        codes = dict(session.execute(select(District.id, District.code)).tuples().all())
        rows = session.scalars(
            select(Resource)
            .where(
                Resource.status != "ended",
                or_(Resource.last_verified_on.is_(None), Resource.last_verified_on <= due),
            )
            .options(
                selectinload(Resource.districts),
                selectinload(Resource.venue),
                selectinload(Resource.organization),
            )
        )
        out = []
        for r in rows:
            if wanted is not None and not (resource_areas(geo, r) & wanted):
                continue
            home = (
                r.venue.district_id
                if r.venue is not None and r.venue.district_id is not None
                else (r.districts[0].id if r.districts else None)
            )
            out.append(
                Unconfirmed(
                    r.external_id,
                    r.name,
                    r.version,
                    codes.get(home, "") if home is not None else "",
                    names.get(home, "") if home is not None else "",
                    r.organization.name if r.organization is not None else "",
                    r.phone or (r.organization.phone or "" if r.organization else ""),
                    r.address or "",
                    r.last_verified_on,
                    None if r.last_verified_on is None else (today - r.last_verified_on).days,
                )
            )
    out.sort(key=lambda u: (u.district_code, -(u.days if u.days is not None else 10**6)))
    return out


def _areas(geo: Geography, actor: Actor, code: str | None) -> set[int] | None:
    """The area ids to list (None: every one)."""
    areas = {a.id: a.code for a in geo.areas}
    if code is not None:
        found = next((aid for aid, c in areas.items() if c == code), None)
        if found is None:
            raise NotFoundForActor(code)
        return {found}
    if actor.role == "tier2":
        return set(actor.area_ids)
    return None


def call_sheet_csv(rows: list[Unconfirmed]) -> bytes:
    """The call sheet as CSV (UTF-8 with BOM, for Excel): fill 確認日 and import it back."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(SHEET_COLUMNS)
    for u in rows:
        writer.writerow(
            [
                u.external_id,
                u.name,
                u.district_name,
                u.organization,
                u.phone,
                u.address,
                u.last_verified_on.isoformat() if u.last_verified_on else "",
                "",
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def import_confirmations(
    db: Database,
    actor: Actor,
    path: Path,
    *,
    dry_run: bool = False,
    today: dt.date | None = None,
) -> Confirmed:
    """Read a call sheet back: each row with a 確認日 confirms that resource on that day
    (blank rows were not reached and are skipped). Every row is checked first — an
    unknown ID, a date that is not one or lies in the future, a resource the actor may
    not edit — and any problem refuses the whole file (:class:`InvalidInputError`, each
    problem with its row and column); nothing is written then, nor with ``dry_run``."""
    today = today or fiscal.today_in_japan()
    table = read_table(path)
    header = {normalize(h): i for i, h in enumerate(table.header)}
    id_col = header.get(normalize("ID"))
    date_col = header.get(normalize("確認日"))
    if date_col is None:
        date_col = header.get(normalize("最終確認日"))
    name = str(path)
    if id_col is None or date_col is None:
        missing = "ID" if id_col is None else "確認日"
        raise InvalidInputError(name, [Problem("missing_column", {"header": missing})])
    problems: list[Problem] = []
    wanted: list[tuple[int, str, dt.date]] = []
    for row_number, cells in table.rows:
        rid = cells[id_col].strip() if id_col < len(cells) else ""
        raw = cells[date_col].strip() if date_col < len(cells) else ""
        if not raw:
            continue
        try:
            day = parse_verified(raw)
        except ValueError:
            problems.append(
                Problem("not_a_date", {"value": raw}, row_number, table.header[date_col])
            )
            continue
        if day > today:
            problems.append(
                Problem("date_in_future", {"value": raw}, row_number, table.header[date_col])
            )
            continue
        wanted.append((row_number, rid, day))
    skipped = sum(1 for _ in table.rows) - len(wanted) - len(problems)
    with db.read() as session:
        geo = Geography.read(session)
        versions = _check(session, geo, actor, table.header[id_col], wanted, problems)
    if problems:
        raise InvalidInputError(name, problems)
    if not dry_run:
        for _row, rid, day in wanted:
            confirm_today(db, actor, rid, versions[rid], today=day)
    return Confirmed(len(wanted), skipped)


def _check(
    session: Session,
    geo: Geography,
    actor: Actor,
    id_header: str,
    wanted: list[tuple[int, str, dt.date]],
    problems: list[Problem],
) -> dict[str, int]:
    """Each wanted resource exists and the actor may edit it: their versions."""
    ids = [rid for _row, rid, _day in wanted]
    found = {
        r.external_id: r
        for r in session.scalars(
            select(Resource)
            .where(Resource.external_id.in_(ids))
            .options(selectinload(Resource.districts), selectinload(Resource.venue))
        )
    }
    versions = {}
    for row_number, rid, _day in wanted:
        resource = found.get(rid)
        if resource is None:
            problems.append(Problem("unknown_resource", {"value": rid}, row_number, id_header))
        elif not may_edit(actor, resource_areas(geo, resource)):
            problems.append(Problem("not_your_resource", {"value": rid}, row_number, id_header))
        else:
            versions[rid] = resource.version
    return versions


def describe_days(u: Unconfirmed, lang: str) -> str:
    """「412日前」 / "412 days ago", or 「未確認」 / "never"."""
    if u.days is None:
        return translate(N_("never confirmed"), lang)
    return translate(N_("{days} days ago"), lang, days=u.days)

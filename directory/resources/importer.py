""":func:`import_resources`: read, check and write one file, all rows or none (or the
valid ones with ``skip_invalid``, the rejected ones named and kept for ``--rejects``),
refusing rows that would silently replace another resource (§3a).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from dataclasses import replace as replace_problem
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.bulk import gc_paused, large_cache
from directory.db import import_lock
from directory.distance import haversine_m
from directory.errors import InvalidInputError, Problem
from directory.exports.table import write_csv
from directory.geography import ImportResult
from directory.models import Organization, Resource
from directory.resources.checks import Checked, Progress, _Context, _header_of, parse_rows
from directory.resources.columns import _HEADER_KEYS, _looks_like_header
from directory.resources.writer import _table, _where_in, _write
from directory.state import bump
from directory.tables import read_table
from directory.text import normalize


@dataclass
class ResourceImportResult(ImportResult):
    """An import's result, with the rows ``skip_invalid`` left out: their problems
    (``FILE:ROW:COLUMN: reason``) and, when asked for, their original cells (--rejects)."""

    errors: list[Problem] = field(default_factory=list)
    rejected: int = 0
    header: list[str] = field(default_factory=list)  # the file's own column names
    rejected_rows: list[tuple[int, list[str]]] = field(default_factory=list)

    def as_json(self, lang: str = "ja") -> dict[str, Any]:
        out = super().as_json(lang)
        out["errors"] = [p.as_json(lang) for p in self.errors]
        out["rejected"] = self.rejected
        return out

    def rejects_csv(self, lang: str = "ja") -> bytes:
        """The rejected rows as they were written, plus an ``エラー内容`` column saying what
        to fix: UTF-8 with BOM like our exports, so it opens in Excel and imports again."""
        reasons: dict[int, list[str]] = defaultdict(list)
        for problem in self.errors:
            key = problem.row if problem.row is not None else _feature_row(problem.feature)
            if key is not None:
                where = f"{problem.column}: " if problem.column else ""
                reasons[key].append(where + problem.reason(lang))
        width = len(self.header)
        rows = [
            [*(cells + [""] * width)[:width], " / ".join(reasons.get(number, []))]
            for number, cells in self.rejected_rows
        ]
        return write_csv([*self.header, REJECTS_COLUMN], rows)


#: The column a rejects file adds: what is wrong with the row (removed again on import).
REJECTS_COLUMN = "エラー内容"
#: A stored resource of another name is the same one renamed only when it is this close
#: (the same hall), run by the same organisation or at the same address (see _replacements).
REPLACE_DISTANCE_M = 100.0


def _feature_row(feature: str | None) -> int | None:
    m = re.match(r"#(\d+)", feature or "")
    return int(m[1]) + 1 if m else None


def import_resources(
    session: Session,
    path: Path,
    progress: Progress | None = None,
    *,
    columns: Mapping[str, str] | None = None,
    skip_invalid: bool = False,
    keep_rejects: bool = False,
    id_prefix: str | None = None,
    replace: bool = False,
    today: dt.date | None = None,
) -> ResourceImportResult:
    """Create or update resources by ``ID`` from a CSV/XLSX/GeoJSON file, all rows or none.

    Raises :class:`InvalidInputError` listing every problem; the caller commits (or
    rolls back for a dry run). Re-importing the same ``ID`` updates the row and bumps its
    ``version``; a row that changes nothing is counted unchanged and keeps its version.

    ``columns`` renames the file's own columns to §3 ones (``--columns``).
    ``skip_invalid`` writes the valid rows and returns the rejected ones' problems (a
    problem with the file as a whole still refuses it); ``keep_rejects`` also keeps their
    cells for :meth:`ResourceImportResult.rejects_csv`. ``id_prefix`` prefixes every id;
    a row that would replace a stored resource of another name at another place is an
    error unless ``replace`` (DATA_FORMATS §3a; see :func:`_replacements`).

    ``today`` is the import day (default: today in Japan; tests pass a fixed one): 隔週
    with no date in its text is anchored on its first occurrence on or after it, once — a
    re-import of the same schedule text keeps the stored anchor (see :func:`_write`).
    """
    import_lock(session, "resources")
    with gc_paused():
        mapping = {normalize(k): v for k, v in (columns or {}).items()}

        def is_header(cells: list[str]) -> bool:
            return _looks_like_header([mapping.get(normalize(c), c) for c in cells])

        table = read_table(path, is_header=is_header)
        own_header = list(table.header)
        map_warnings: list[Problem] = []
        if mapping:
            found = {normalize(h) for h in table.header}
            map_warnings = [
                Problem("column_map_unused", {"header": k}, column=k)
                for k in (columns or {})
                if normalize(k) not in found
            ]
            table.header = [mapping.get(normalize(h), h) for h in table.header]
        own = {m: h for m, h in zip(table.header, own_header, strict=True) if m != h}
        if normalize(table.header[-1] if table.header else "") == normalize(REJECTS_COLUMN):
            table.header[-1] = ""  # a rejects file, fixed: its エラー内容 is not data
        raw_rows = table.rows if keep_rejects else []
        features = table.features
        if features is not None:  # named by the column that is the name (#3 (中央サロン))
            at = next(
                (i for i, h in enumerate(table.header) if _HEADER_KEYS.get(normalize(h)) == "name"),
                None,
            )
            for number, cells in table.rows:
                name = cells[at].strip() if at is not None else ""
                if name:
                    features[number] = f"#{number - 1} ({name})"
        checked, ctx = parse_rows(
            table, session, str(path), progress, id_prefix=id_prefix, today=today
        )
        ctx.warnings[:0] = map_warnings
        if len(checked) and not replace:
            _replacements(session, checked, ctx)
            ctx.errors.sort(key=lambda p: p.row or 0)
        result = ResourceImportResult(warnings=ctx.warnings, header=own_header)
        if ctx.errors:
            rows = set(checked.rows)
            rejected = {p.row for p in ctx.errors if p.row in rows}
            if not skip_invalid or any(p.row not in rows for p in ctx.errors):
                raise InvalidInputError(
                    str(path),
                    _as_features(ctx.errors, features, own),
                    _as_features(ctx.warnings, features, own),
                )
            result.errors = ctx.errors
            result.rejected = len(rejected)
            result.rejected_rows = [(n, cells) for n, cells in raw_rows if n in rejected]
            checked = _subset(checked, [i for i, n in enumerate(checked.rows) if n not in rejected])
        if len(checked):
            with large_cache(session):
                _write(session, checked, result, progress)
            result.warnings += _likely_duplicates(session, checked)
        if result.created or result.updated:
            bump(session)
        result.warnings = _as_features(result.warnings, features, own)
        result.errors = _as_features(result.errors, features, own)
        return result


#: Above this many rows an import is a whole directory arriving: its duplicates are a
#: review of their own (`tsunagu directory duplicates`), not one warning per row.
DUPLICATE_CHECK_ROWS = 20_000


def _likely_duplicates(session: Session, checked: Checked) -> list[Problem]:
    """A warning on each written row that looks like another resource (the file's or one
    already stored): the same check as ``tsunagu directory duplicates``, on the pairs
    that involve this file. Nothing is refused: two salons may share a name and a hall."""
    from directory.duplicates import entries, pairs_among

    if len(checked) > DUPLICATE_CHECK_ROWS:
        return [Problem("duplicates_not_checked", {"rows": len(checked)})]
    row_of = {
        rid: row
        for rid, row in zip(checked.values["external_id"], checked.rows, strict=True)
        if rid is not None
    }
    session.flush()
    warnings = []
    for pair in pairs_among(entries(session)):
        for mine, other, other_name in (
            (pair.first, pair.second, pair.second_name),
            (pair.second, pair.first, pair.first_name),
        ):
            if mine in row_of:
                warnings.append(
                    Problem(
                        "likely_duplicate",
                        {"other": other, "name": other_name, "score": round(pair.score, 2)},
                        row=row_of[mine],
                    )
                )
                break
    return warnings


def _as_features(
    problems: list[Problem], features: dict[int, str] | None, own: Mapping[str, str]
) -> list[Problem]:
    """Problems as the user's file says it: a column renamed by ``--columns`` under the
    file's own name, and in a GeoJSON file the feature (``#N (name)``), not a row (§7)."""
    if features is None and not own:
        return problems
    out = []
    for p in problems:
        if p.column is not None and p.column in own:
            p = replace_problem(p, column=own[p.column])
        if features is not None and p.row is not None:
            p = replace_problem(p, row=None, feature=features.get(p.row))
        out.append(p)
    return out


def _subset(checked: Checked, keep: list[int]) -> Checked:
    """The rows ``keep`` (indexes) of ``checked``, column by column."""

    def pick(items: list[Any]) -> list[Any]:
        return [items[i] for i in keep]

    return Checked(
        pick(checked.rows),
        {k: pick(v) for k, v in checked.values.items()},
        pick(checked.categories),
        pick(checked.district_ids),
        pick(checked.schedules),
        pick(checked.organization),
    )


def _replacements(session: Session, checked: Checked, ctx: _Context) -> None:
    """Refuse rows that would replace another resource (§3a) unless ``--replace``.

    A stored resource has the row's id and another name (neither normalised name contains
    the other), and nothing shows it is the same one renamed: it is not within
    :data:`REPLACE_DISTANCE_M` (a rename keeps its hall; real lists put a town's facilities
    a few hundred metres apart, so 1 km would let them overwrite each other), not run by
    the same organisation, not at the same address. Two lists that number their rows
    from 1 then never overwrite each other silently."""
    values = checked.values
    ids = [v for v in values["external_id"] if v is not None]
    if not ids:
        return
    table = _table(Resource)
    org = _table(Organization)
    stmt = select(
        table.c.external_id,
        table.c.name,
        table.c.name_key,
        table.c.lat,
        table.c.lon,
        table.c.address,
        org.c.name_key.label("org_key"),
        org.c.name.label("org_name"),
    ).select_from(table.outerjoin(org, org.c.id == table.c.organization_id))
    stored = {row.external_id: row for row in _where_in(session, stmt, table.c.external_id, ids)}
    if not stored:
        return
    for n, external_id in enumerate(values["external_id"]):
        old = stored.get(external_id)
        if old is None:
            continue
        new_key = values["name_key"][n]
        if not new_key or new_key in old.name_key or old.name_key in new_key:
            continue
        lat, lon = values["lat"][n], values["lon"][n]
        organization = checked.organization[n]
        address = values["address"][n]
        params: dict[str, Any] = {"value": external_id, "other": old.name}
        metres = None
        if lat is not None and old.lat is not None:
            metres = float(haversine_m(lat, lon, old.lat, old.lon))
        if (
            (metres is not None and metres <= REPLACE_DISTANCE_M)
            or (organization and old.org_key and normalize(organization) == old.org_key)
            or (address and old.address and normalize(address) == normalize(old.address))
        ):
            continue
        if metres is not None:
            code = "replaces_far"
            params["km"] = f"{metres / 1000:.1f}"
        elif organization and old.org_key:
            code = "replaces_other_organization"
            params["organization"] = old.org_name
        else:
            code = "replaces_other_place"
        ctx.errors.append(
            Problem(code, params, row=checked.rows[n], column=_header_of(ctx, "external_id"))
        )

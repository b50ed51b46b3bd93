"""Every cell of a file checked, column by column, before anything is written
(:func:`parse_rows`): each distinct value parsed once, errors sorted back into row order,
served districts (対象地区, 全域) resolved against the database's districts.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from directory.errors import NUL, Problem, UnknownCategoryError
from directory.fiscal import today_in_japan
from directory.models import District
from directory.resources.cells import (
    CellError,
    _categories,
    _clean,
    _eligibility,
    _municipality,
    category_from_name,
    parse_choice,
    parse_coordinate,
    parse_fee,
    parse_int,
    parse_vacancy,
    parse_verified,
)
from directory.resources.columns import (
    _ADDRESS_KEYS,
    _CODE_KEYS,
    _ROW_NUMBER_KEYS,
    BY_KEY,
    _map_header,
)
from directory.resources.schedule_cells import _closed_phrase, _row_schedule, _RowSchedule
from directory.tables import Table
from directory.taxonomy import load_taxonomy, split_categories
from directory.text import normalize

Progress = Callable[[str, int, int], None]
WHOLE_AREA = {"全域", "全地区", "町内全域", "市内全域", "村内全域", "区内全域"}


@dataclass
class Checked:
    """The file's rows after checking, column by column (150,000 dicts would not fit the
    memory budget, and columns go straight into the bulk INSERT)."""

    rows: list[int]  # the user's row numbers
    values: dict[str, list[Any]]  # Resource column → one value per row
    categories: list[tuple[str, ...]]
    district_ids: list[tuple[int, ...]]
    schedules: list[tuple[dict[str, Any], ...]]  # Schedule rows (ScheduleParse.as_rows)
    organization: list[str | None]

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class _Context:
    path: str
    header: list[str]
    header_index: dict[str, int]
    extra_columns: list[tuple[int, str]]
    districts_by_code: dict[str, int]
    districts_by_name: dict[str, list[int]]
    municipalities: list[tuple[int, str]]  # (id, code)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    id_from_number: bool = False  # no ID column: NO / #property is the id (§3a)
    id_prefix: str = ""  # --id-prefix: prepended to every id of the file
    import_day: dt.date | None = None  # anchors 隔週 with no date written (see _row_schedule)


def _district_lookup(
    session: Session,
) -> tuple[dict[str, int], dict[str, list[int]], list[tuple[int, str]]]:
    by_code: dict[str, int] = {}
    by_name: dict[str, list[int]] = defaultdict(list)
    municipalities: list[tuple[int, str]] = []
    for d in session.execute(select(District.id, District.code, District.name, District.level)):
        by_code[normalize(d.code)] = d.id
        by_name[normalize(d.name)].append(d.id)
        if d.level == "municipality":
            municipalities.append((d.id, d.code))
    return by_code, dict(by_name), municipalities


def _import_day() -> dt.date:
    """Today in Japan: the day a file is imported, whatever the server's clock zone."""
    return today_in_japan()


def _prefix(id_prefix: str | None) -> str:
    """``--id-prefix P``: ids become ``P-<id>`` (no second separator when P ends in one)."""
    if not id_prefix:
        return ""
    return id_prefix if id_prefix[-1] in "-_:/." else f"{id_prefix}-"


def parse_rows(
    table: Table,
    session: Session,
    path: str,
    progress: Progress | None = None,
    *,
    id_prefix: str | None = None,
    today: dt.date | None = None,
) -> tuple[Checked, _Context]:
    """Check every cell of every row; collect all errors and warnings (nothing written).

    ``today`` is the import day (default: today in Japan): 隔週 with no date in the text
    counts its weeks from its first occurrence on or after it.

    Works column by column: each distinct value of a column is parsed once (values
    repeat heavily at national scale), and errors are sorted back into row order, each
    row's in the order its columns are checked. Consumes ``table.rows``.
    """
    index, extras, errors, warnings = _map_header(table.header, table.header_row)
    if table.header_row > 1:
        warnings.insert(0, Problem("header_row", {"row": table.header_row}, row=table.header_row))
    if table.sheet is not None:
        warnings.insert(0, Problem("sheet_used", {"sheet": table.sheet}))
    id_from_number = False
    if "external_id" not in index:
        number = next(
            (i for i, h in enumerate(table.header) if normalize(h) in _ROW_NUMBER_KEYS), None
        )
        if number is not None:  # NO / #property is the id (§3a)
            index["external_id"] = number
            id_from_number = True
            errors = [e for e in errors if e.column != BY_KEY["external_id"].header]
            warnings = [
                w
                for w in warnings
                if not (w.code == "unknown_column" and w.column == table.header[number])
            ]
    by_code, by_name, municipalities = _district_lookup(session)
    ctx = _Context(
        path,
        table.header,
        index,
        extras,
        by_code,
        by_name,
        municipalities,
        errors,
        warnings,
        id_from_number,
        _prefix(id_prefix),
        today or _import_day(),
    )
    if errors:
        return Checked([], {}, [], [], [], []), ctx
    check = _Check(ctx, table, progress)
    checked = check.run()
    ctx.errors.sort(key=lambda p: p.row or 0)  # stable: within a row, in check order
    return checked, ctx


_CHECK_STEPS = 8  # progress steps of _Check.run


class _Check:
    """One file's columns and the errors found in them (see :func:`parse_rows`)."""

    def __init__(self, ctx: _Context, table: Table, progress: Progress | None) -> None:
        self.ctx = ctx
        self.progress = progress
        self.rows = [number for number, _ in table.rows]
        self.n = len(self.rows)
        # Transposed once. Rows are at least as wide as the header (tables._table), so
        # zip only drops cells beyond it, which no column names.
        rows = (cells for _, cells in table.rows)
        columns = list(zip(*rows, strict=False)) if table.rows else []
        width = min(len(table.header), len(columns))
        table.rows = []  # the raw cells are not needed any more
        self.cells: dict[str, list[str | None]] = {
            key: _clean(columns[i]) for key, i in ctx.header_index.items() if i < width
        }
        self.extras: list[tuple[str, list[str | None]]] = [
            (header, _clean(columns[i])) for i, header in ctx.extra_columns if i < width
        ]
        del columns
        # 市区町村コード columns, for 全域 (see _whole_area)
        extras = [(normalize(header), column) for header, column in self.extras]
        self.codes = [column for key, column in extras if key in _CODE_KEYS]
        parts = [column for key, column in extras if key in _ADDRESS_KEYS]
        if parts and "address" not in self.cells:  # 所在地_都道府県 + … + 所在地_番地以下
            self.cells["address"] = [
                "".join(p for p in row if p) or None for row in zip(*parts, strict=True)
            ]
        self.none: list[str | None] = [None] * self.n
        self.errored: set[int] = set()  # row indexes with an error so far

    def column(self, key: str) -> list[str | None]:
        return self.cells.get(key, self.none)

    def error(self, n: int, key: str, code: str, **params: Any) -> None:
        self.errored.add(n)
        self.ctx.errors.append(
            Problem(code, params, row=self.rows[n], column=_header_of(self.ctx, key))
        )

    def parsed(self, key: str, fn: Callable[..., Any], *args: Any) -> list[Any]:
        """``fn(cell, *args)`` for every cell of the column (once per distinct cell);
        a :class:`CellError` is reported on every row that has that cell, as None."""
        column = self.cells.get(key)
        if column is None:
            return [None] * self.n  # a fresh list: callers complete it in place
        memo: dict[str | None, Any] = {}
        failed = False
        for cell in set(column):
            if cell is None:
                continue
            try:
                memo[cell] = fn(cell, *args)
            except CellError as exc:
                memo[cell], failed = exc, True
        out = list(map(memo.get, column))  # None cells: None
        if failed:
            for n, value in enumerate(out):
                if isinstance(value, CellError):
                    self.error(n, key, value.code, **value.params)
                    out[n] = None
        return out

    def step(self, k: int) -> None:
        if self.progress:
            self.progress("check", k * self.n // _CHECK_STEPS, self.n)

    def run(self) -> Checked:
        n = self.n
        values: dict[str, list[Any]] = {}
        self.step(0)
        self._nul_characters()
        self._identity(values)
        categories = self._categories()
        for key in (
            "kana",
            "description",
            "address",
            "building",
            "phone",
            "url",
            "notes",
            "fee",
            "eligibility",
        ):
            values[key] = self.column(key)
        from directory.tables import unsafe_url  # javascript: / data: links are refused

        for index, url in enumerate(values["url"]):  # (n is the row count here)
            if url and unsafe_url(url):
                self.error(index, "url", "unsafe_url", value=url)
        values["name_key"] = [normalize(name) if name else "" for name in values["name"]]
        self.step(2)
        self._coordinates(values)
        values["capacity"] = self.parsed("capacity", parse_int)
        vacancy = self.parsed("vacancy", parse_vacancy)
        values["accepts_new"] = [v[0] if v else None for v in vacancy]
        values["seats_left"] = [v[1] if v else None for v in vacancy]
        values["fee_yen"] = self.parsed("fee", parse_fee)
        eligibility = self.parsed("eligibility", _eligibility)
        values["min_age"] = [e[0] if e else None for e in eligibility]
        values["eligibility_attributes"] = [e[1] if e else _NO_ATTRIBUTES for e in eligibility]
        values["transport"] = self.parsed("transport", parse_choice, "yesno")
        status = self.parsed("status", parse_choice, "status")
        public = self.parsed("public", parse_choice, "public")
        values["public"] = [True if p is None else p for p in public]
        values["last_verified_on"] = self.parsed("verified", parse_verified)
        self.step(4)
        schedules = self._schedules(values, status)
        self.step(6)
        district_ids = self._districts()
        values["extra"] = self._extra()
        self.step(_CHECK_STEPS)
        return Checked(
            self.rows,
            values,
            categories,
            district_ids,
            schedules,
            self.column("organization")[:] if n else [],
        )

    def _nul_characters(self) -> None:
        """Refuse NUL (\\x00) in any cell, on its row and column: PostgreSQL cannot store it
        and SQLite would, so it is a file problem on both engines. Later checks see the cell
        without it. One join per column keeps the scan cheap at national scale."""
        columns = [(key, c, True) for key, c in self.cells.items()]
        columns += [(header, c, False) for header, c in self.extras]
        for name, column, known in columns:
            if NUL not in "".join(filter(None, column)):
                continue
            for n, cell in enumerate(column):
                if cell and NUL in cell:
                    if known:
                        self.error(n, name, "nul_character")
                    else:  # a kept standard-set column: named by its header
                        self.errored.add(n)
                        self.ctx.errors.append(
                            Problem("nul_character", row=self.rows[n], column=name)
                        )
                    column[n] = cell.replace(NUL, "") or None

    def _identity(self, values: dict[str, list[Any]]) -> None:
        for key in ("external_id", "name"):
            column = self.column(key)
            for n in [n for n, v in enumerate(column) if v is None]:
                self.error(n, key, "required")
            values[key] = column
        ids = values["external_id"]
        if self.ctx.id_from_number:  # <municipality code>-<NO> when the row names its code
            codes = [next((c[n] for c in self.codes if c[n]), None) for n in range(self.n)]
            ids = [
                None if v is None else (f"{_municipality(code)}-{v}" if code else v)
                for v, code in zip(ids, codes, strict=True)
            ]
        if self.ctx.id_prefix:
            ids = [None if v is None else self.ctx.id_prefix + v for v in ids]
        values["external_id"] = ids
        seen: dict[str, int] = {}
        for n, external_id in enumerate(values["external_id"]):
            if external_id is None:
                continue
            first = seen.setdefault(external_id, n)
            if first != n:
                self.error(
                    n, "external_id", "duplicate_id", value=external_id, other=self.rows[first]
                )

    def _categories(self) -> list[tuple[str, ...]]:
        column = self.cells.get("categories", self.none)
        errored_before = set(self.errored)
        names = self.column("name")
        filled: dict[int, tuple[str, ...]] = {}
        for n in [n for n, v in enumerate(column) if v is None]:
            code = category_from_name(names[n]) if names[n] else None
            if code is None:
                self.error(n, "categories", "required")
                continue
            filled[n] = (code,)  # an empty 種別 the name states (§3a): a warning
            self.ctx.warnings.append(
                Problem(
                    "category_from_name",
                    {"category": load_taxonomy()[code].label_ja},
                    row=self.rows[n],
                    column=_header_of(self.ctx, "categories"),
                )
            )
        memo: dict[str, tuple[str, ...] | UnknownCategoryError] = {}
        out: list[tuple[str, ...]] = []
        for n, cell in enumerate(column):
            if cell is None:
                out.append(filled.get(n, ()))
                continue
            found = memo.get(cell)
            if found is None:
                try:
                    found = _categories(cell)
                except UnknownCategoryError as exc:
                    found = exc
                memo[cell] = found
            if isinstance(found, UnknownCategoryError):
                code = "unknown_category_suggest" if found.suggestions else "unknown_category"
                self.error(
                    n,
                    "categories",
                    code,
                    value=found.text,
                    suggestions="、".join(found.suggestions),
                )
                out.append(())
                continue
            if not found and n not in errored_before:
                self.error(n, "categories", "required")
            out.append(found)
        return out

    def _coordinates(self, values: dict[str, list[Any]]) -> None:
        lat = self.parsed("lat", parse_coordinate, "lat")
        lon = self.parsed("lon", parse_coordinate, "lon")
        has_lat, has_lon = self.column("lat"), self.column("lon")
        for n in range(self.n):
            if (has_lat[n] is None) != (has_lon[n] is None):
                self.error(n, "lon" if has_lat[n] is not None else "lat", "coordinate_pair")
            if lat[n] is None or lon[n] is None:
                lat[n] = lon[n] = None
        values["lat"], values["lon"] = lat, lon

    def _schedules(
        self, values: dict[str, list[Any]], status: list[str | None]
    ) -> list[tuple[dict[str, Any], ...]]:
        """The time cells must be times (an error); the rest is read by the schedule
        parser, and what it cannot understand is a warning, never a guess."""
        days, start, end, note = (self.column(k) for k in ("days", "start", "end", "note"))
        if "closed" in self.cells:  # 定休日: read as 「…休み」 after the notes (§3a)
            note = [
                " ".join(p for p in (cell, _closed_phrase(closed)) if p) or None
                for cell, closed in zip(note, self.cells["closed"], strict=True)
            ]
        memo: dict[tuple[str | None, ...], _RowSchedule] = {}
        schedules: list[tuple[dict[str, Any], ...]] = []
        understood: list[bool] = []
        for n, key in enumerate(zip(days, start, end, note, strict=True)):
            found = memo.get(key)
            if found is None:
                found = memo[key] = _row_schedule(*key, anchor_from=self.ctx.import_day)
            for column, code, params in found.errors:
                self.error(n, column, code, **params)
            if found.not_understood is not None:
                column = "note" if self.column("note")[n] else "days"
                if column == "days" and not key[0]:
                    column = next(
                        (k for k in ("closed", "start", "end") if self.column(k)[n]), "days"
                    )
                self.ctx.warnings.append(
                    Problem(
                        "schedule_not_understood",
                        {"value": found.not_understood},
                        row=self.rows[n],
                        column=_header_of(self.ctx, column),
                    )
                )
            schedules.append(found.rows)
            understood.append(found.understood)
            if status[n] is None:
                status[n] = "paused" if found.paused else "active"
        values["schedule_days"], values["schedule_start"] = days, start
        values["schedule_end"], values["schedule_note"] = end, note
        values["schedule_understood"] = understood
        values["status"] = status
        return schedules

    def _districts(self) -> list[tuple[int, ...]]:
        column = self.cells.get("districts", self.none)
        memo: dict[str, tuple[tuple[int, ...], list[tuple[str, dict[str, str]]]] | None] = {}
        out: list[tuple[int, ...]] = []
        for n, cell in enumerate(column):
            if cell is None:
                out.append(())
                continue
            if cell in memo:
                found = memo[cell]
            else:
                found = memo[cell] = _district_cell(self.ctx, cell)
            if found is None:  # 全域 among several municipalities: the row's own code decides
                code = next((c[n] for c in self.codes if c[n] is not None), None)
                found = _district_cell(self.ctx, cell, code)
                assert found is not None
            ids, problems = found
            for code, params in problems:
                self.error(n, "districts", code, **params)
            out.append(ids)
        return out

    def _extra(self) -> list[dict[str, Any]]:
        if not self.extras:
            return [_NO_EXTRA] * self.n
        headers = [h for h, _ in self.extras]
        return [
            {h: v for h, v in zip(headers, cells, strict=True) if v is not None} or _NO_EXTRA
            for cells in zip(*(c for _, c in self.extras), strict=True)
        ]


_NO_ATTRIBUTES: list[str] = []  # shared, never mutated: one JSON value for the bulk INSERT
_NO_EXTRA: dict[str, Any] = {}


def _header_of(ctx: _Context, key: str) -> str:
    """The column as the user's file names it (開始時刻), else its §3 name."""
    i = ctx.header_index.get(key)
    return ctx.header[i] if i is not None else BY_KEY[key].header


_WHOLE_AREA_KEYS = frozenset(normalize(w) for w in WHOLE_AREA)


_ROW_CODE = object()  # _district_cell: "the row's code is not known yet"


def _district_cell(
    ctx: _Context, cell: str, code: str | object | None = _ROW_CODE
) -> tuple[tuple[int, ...], list[tuple[str, dict[str, str]]]] | None:
    """The districts one 対象地区 cell names and the problems with it; None when it says
    全域 in a database of several municipalities and no ``code`` (the row's 市区町村コード)
    was given, as then each row's own code decides."""
    found: list[int] = []
    problems: list[tuple[str, dict[str, str]]] = []
    for part in split_categories(cell):  # same separators: ; 、 , (never ・)
        key = normalize(part)
        if key in _WHOLE_AREA_KEYS:
            if len(ctx.municipalities) != 1 and code is _ROW_CODE:
                return None
            municipality = _whole_area(ctx, code if isinstance(code, str) else None)
            if municipality is None:
                problems.append(("whole_area_ambiguous", {"value": part}))
            else:
                found.append(municipality)
            continue
        if key in ctx.districts_by_code:
            found.append(ctx.districts_by_code[key])
            continue
        ids = ctx.districts_by_name.get(key, [])
        if len(ids) == 1:
            found.append(ids[0])
        elif len(ids) > 1:
            problems.append(("ambiguous_district", {"value": part}))
        elif (listed := _dot_list(ctx, key)) is not None:
            found.extend(listed)  # 本町一区・本町二区: a list written with ・
        else:
            problems.append(("unknown_district", {"value": part}))
    return tuple(dict.fromkeys(found)), problems


def _dot_list(ctx: _Context, key: str) -> list[int] | None:
    """The districts of a name list joined with ・, when every part is one known district
    (・ can be part of a name, so this is tried only when the whole is unknown)."""
    if "・" not in key:
        return None
    found: list[int] = []
    for part in key.split("・"):
        district = ctx.districts_by_code.get(part)
        ids = [district] if district is not None else ctx.districts_by_name.get(part, [])
        if len(ids) != 1:
            return None
        found.append(ids[0])
    return found


def _whole_area(ctx: _Context, code_cell: str | None) -> int | None:
    """全域: the one municipality in the database, or the one the row's own code names."""
    if len(ctx.municipalities) == 1:
        return ctx.municipalities[0][0]
    if code_cell:
        code = normalize(code_cell)[:5]
        for municipality_id, municipality_code in ctx.municipalities:
            if normalize(municipality_code)[:5] == code:
                return municipality_id
    return None

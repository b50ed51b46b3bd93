"""Read the spreadsheets coordinators actually keep: CSV (UTF-8 ± BOM or CP932) and XLSX.

Every cell comes back as a string ("" when empty), so one validator serves both
formats. Rows are numbered as the user sees them: the header is row 1.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from directory.errors import InvalidInputError, Problem

# A workbook whose parts would unpack to more than this is refused before parsing
# (a zip bomb), as are macro-enabled workbooks (SECURITY_NOTES.md).
MAX_XLSX_UNPACKED_BYTES = 512 * 1024 * 1024
CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
XLSX_SUFFIXES = {".xlsx"}
GEOJSON_SUFFIXES = {".geojson", ".json"}  # resource lists as Point features (§3a)
REFUSED_SUFFIXES = {".xlsm", ".xlsb", ".xls"}


#: How far down a header is looked for (title lines above it are skipped).
HEADER_SEARCH_ROWS = 20

HeaderTest = Callable[[list[str]], bool]


@dataclass
class Table:
    """A header and its rows, numbered as the user's spreadsheet numbers them."""

    header: list[str]
    rows: list[tuple[int, list[str]]]  # (row number, cells as read; blank ones "")
    encoding: str
    header_row: int = 1  # the header's row number (title lines above it were skipped)
    sheet: str | None = None  # XLSX: the sheet read, when it is not the first
    # GeoJSON: the features' labels (#N, or #N (name)) by the row numbers given to them
    # (feature N is row N + 1, as if the properties were a sheet under a header row)
    features: dict[int, str] | None = None


def read_input(path: Path) -> bytes:
    """The bytes of an input file, or :class:`InvalidInputError` saying why they can't be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InvalidInputError(str(path), [Problem("file_not_found")]) from None
    except OSError as exc:
        raise InvalidInputError(str(path), [Problem("file_unreadable", {"detail": exc})]) from None


def read_table(path: Path, is_header: HeaderTest | None = None) -> Table:
    """Read a CSV or XLSX file, or raise :class:`InvalidInputError` saying why not.

    ``is_header`` tells a header row from a title line: the header is the first row
    within :data:`HEADER_SEARCH_ROWS` that passes it (else the first non-blank row), and
    an XLSX file is read from its first sheet that has one (else its first sheet), as
    municipal workbooks often open with a title, a cover or an explanation sheet.
    """
    name = str(path)
    suffix = path.suffix.lower()
    if suffix in REFUSED_SUFFIXES:
        raise InvalidInputError(name, [Problem("refused_format", {"suffix": suffix})])
    if not path.exists():
        raise InvalidInputError(name, [Problem("file_not_found")])
    if suffix in XLSX_SUFFIXES:
        return _read_xlsx(path, is_header)
    if suffix in GEOJSON_SUFFIXES:
        return _read_geojson(path)
    if suffix not in CSV_SUFFIXES:
        raise InvalidInputError(name, [Problem("unknown_format", {"suffix": suffix or "-"})])
    raw = read_input(path)
    text, encoding = decode(raw, name)
    delimiter = "\t" if suffix == ".tsv" else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        records = list(reader)
    except csv.Error as exc:
        raise InvalidInputError(
            name, [Problem("file_unreadable", {"detail": exc}, row=reader.line_num)]
        ) from None
    return _table(name, records, encoding, is_header)


def decode(raw: bytes, name: str) -> tuple[str, str]:
    """BOM → strict UTF-8 → CP932, then charset-normalizer (LIBRARIES.md: chardet misreads
    CP932 with ㈱髙① as MacLatin2). Undecodable bytes are an error, never replaced."""
    if raw.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    elif raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]
    else:
        candidates = ["utf-8", "cp932"]
    for encoding in candidates:
        try:
            return raw.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(raw).best()
    if best is not None and best.encoding in {
        "utf_8",
        "cp932",
        "shift_jis",
        "euc_jp",
        "iso2022_jp",
        "utf_16",
    }:
        return str(best), best.encoding
    position = _first_bad_byte(raw)
    raise InvalidInputError(name, [Problem("bad_encoding", {"line": position})])


def _first_bad_byte(raw: bytes) -> int:
    """The line (1-based) of the first byte neither UTF-8 nor CP932 can decode."""
    for encoding in ("utf-8", "cp932"):
        try:
            raw.decode(encoding)
        except UnicodeDecodeError as exc:
            last = exc.start
    return raw[:last].count(b"\n") + 1


def _table(
    name: str, records: list[list[str]], encoding: str, is_header: HeaderTest | None = None
) -> Table:
    header_at = _header_index(records, is_header)
    if header_at is None:
        raise InvalidInputError(name, [Problem("no_header")])
    header = [cell.strip() for cell in records[header_at]]
    records_iter = iter(enumerate(records[header_at + 1 :], start=header_at + 2))
    width = len(header)
    rows: list[tuple[int, list[str]]] = []
    for number, record in records_iter:
        # Cells stay as read (blank ones as ""); the importer strips them column by column.
        if not (record and record[0].strip()) and not "".join(record).strip():
            continue
        if len(record) < width:
            record = record + [""] * (width - len(record))
        rows.append((number, record))
    return Table(header, rows, encoding, header_row=header_at + 1)


def _header_index(records: list[list[str]], is_header: HeaderTest | None) -> int | None:
    """The index of the header record: the first within reach that ``is_header`` accepts,
    else the first non-blank one; None when every record is blank."""
    accepted = _accepted_header(records, is_header) if is_header else None
    if accepted is not None:
        return accepted
    return next((i for i, record in enumerate(records) if any(c.strip() for c in record)), None)


def _accepted_header(records: list[list[str]], is_header: HeaderTest) -> int | None:
    """The index of the first of the first :data:`HEADER_SEARCH_ROWS` non-blank records
    that ``is_header`` accepts, if any."""
    seen = 0
    for i, record in enumerate(records):
        cells = [cell.strip() for cell in record]
        if not any(cells):
            continue
        if is_header(cells):
            return i
        seen += 1
        if seen >= HEADER_SEARCH_ROWS:
            break
    return None


def _read_xlsx(path: Path, is_header: HeaderTest | None = None) -> Table:
    name = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            if any(n.endswith("vbaProject.bin") for n in archive.namelist()):
                raise InvalidInputError(name, [Problem("refused_format", {"suffix": "macro"})])
    except zipfile.BadZipFile:
        raise InvalidInputError(name, [Problem("not_xlsx")]) from None
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise InvalidInputError(name, [Problem("xlsx_too_large", {"mb": unpacked // 2**20})])
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        chosen: tuple[int, list[list[str]]] | None = None
        for index in range(len(workbook.sheet_names)):
            values = workbook.get_sheet_by_index(index).to_python(skip_empty_area=False)
            records = [[_cell_text(v) for v in row] for row in values]
            if chosen is None:
                chosen = (index, records)  # the first sheet, unless a later one has a header
            if is_header is None:
                break
            if _accepted_header(records, is_header) is not None:
                chosen = (index, records)
                break
    except (CalamineError, ValueError, OSError) as exc:
        raise InvalidInputError(name, [Problem("file_unreadable", {"detail": exc})]) from None
    if chosen is None:
        raise InvalidInputError(name, [Problem("no_header")])
    index, records = chosen
    table = _table(name, records, "xlsx", is_header)
    table.sheet = workbook.sheet_names[index] if index else None
    return table


def _cell_text(value: object) -> str:
    """An Excel cell as the text a person would read in it."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        if value.time() == dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, dt.timedelta):  # a duration cell used as a time of day
        minutes = int(value.total_seconds() // 60)
        return f"{minutes // 60:02d}:{minutes % 60:02d}"
    return str(value)


# --------------------------------------------------------------------------- GeoJSON


def _read_geojson(path: Path) -> Table:
    """A FeatureCollection of Points as a table (DATA_FORMATS §3a): the properties are the
    columns (in the order they first appear) and the geometry gives 緯度/経度, so a care
    map's GeoJSON imports like its CSV. A feature without a Point keeps empty
    coordinates, except another geometry, whose type is put in 緯度 to be refused there."""
    from directory.geography import read_feature_collection  # geography reads tables

    features = read_feature_collection(path)
    header: dict[str, None] = {}
    for feature in features:
        props = feature.get("properties") if isinstance(feature, dict) else None
        if isinstance(props, dict):
            header.update((str(k).strip(), None) for k in props if str(k).strip())
    for coordinate in ("緯度", "経度"):
        header.pop(coordinate, None)  # the geometry is the feature's place
    columns = [*header, "緯度", "経度"]
    rows: list[tuple[int, list[str]]] = []
    labels: dict[int, str] = {}
    for i, feature in enumerate(features, start=1):
        feature = feature if isinstance(feature, dict) else {}
        props = feature.get("properties")
        props = props if isinstance(props, dict) else {}
        values = {str(k).strip(): v for k, v in props.items()}
        cells = [_json_cell(values.get(column)) for column in columns[:-2]]
        cells += _point_cells(feature.get("geometry"))
        rows.append((i + 1, cells))
        name = next((values[k] for k in ("name", "名称") if isinstance(values.get(k), str)), "")
        labels[i + 1] = f"#{i} ({name.strip()})" if name.strip() else f"#{i}"
    return Table(columns, rows, "utf-8", features=labels)


def _json_cell(value: Any) -> str:
    """A property value as the text a spreadsheet cell would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def _point_cells(geometry: Any) -> list[str]:
    """緯度, 経度 of a Point geometry ([lon, lat] in GeoJSON)."""
    if not isinstance(geometry, dict) or geometry.get("type") is None:
        return ["", ""]
    coordinates = geometry.get("coordinates")
    if geometry.get("type") != "Point":
        return [f"({geometry.get('type')})", ""]
    if (
        isinstance(coordinates, list)
        and len(coordinates) >= 2
        and all(isinstance(c, int | float) and not isinstance(c, bool) for c in coordinates[:2])
    ):
        return [repr(float(coordinates[1])), repr(float(coordinates[0]))]
    return [json.dumps(coordinates, ensure_ascii=False), ""]

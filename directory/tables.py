"""Read the spreadsheets coordinators actually keep: CSV (UTF-8 ± BOM or CP932) and XLSX.

Every cell comes back as a string ("" when empty), so one validator serves both
formats. Rows are numbered as the user sees them: the header is row 1.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import json
import math
import os
import re
import unicodedata
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from directory.errors import InvalidInputError, Problem

# A workbook whose parts would unpack to more than this is refused before parsing
# (a zip bomb), as are macro-enabled workbooks (SECURITY_NOTES.md).
MAX_XLSX_UNPACKED_BYTES = 512 * 1024 * 1024
#: One part (a sheet's XML, the shared strings) may unpack to at most this …
MAX_XLSX_PART_BYTES = 256 * 1024 * 1024
#: … and a part larger than XLSX_RATIO_FLOOR may not unpack to more than this many times
#: its compressed size (real sheets compress 5–30×; a zip bomb 1000×).
MAX_XLSX_RATIO = 200
XLSX_RATIO_FLOOR = 8 * 1024 * 1024
#: A sheet is read as a rectangle from A1 to its last used cell, every empty cell
#: included: one stray cell at XFD1048576 would be 17 billion cells (SECURITY_NOTES.md).
MAX_XLSX_CELLS = 5_000_000
#: Default size limit of an input file (any format), in MB; TSUNAGU_MAX_INPUT_MB sets it.
DEFAULT_MAX_INPUT_MB = 200
#: JSON nested deeper than this is refused (GeoJSON MultiPolygons need 6 levels).
MAX_JSON_DEPTH = 64
CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
XLSX_SUFFIXES = {".xlsx"}
GEOJSON_SUFFIXES = {".geojson", ".json"}  # resource lists as Point features (§3a)
REFUSED_SUFFIXES = {".xlsm", ".xltm", ".xlam", ".xlsb", ".xls"}


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


def max_input_bytes() -> int:
    """The size limit of an input file: ``TSUNAGU_MAX_INPUT_MB`` (default 200 MB).

    Read at each import, so a deployment (or a test) can change it without a restart.
    """
    raw = os.environ.get("TSUNAGU_MAX_INPUT_MB", "").strip()
    try:
        mb = float(raw) if raw else DEFAULT_MAX_INPUT_MB
    except ValueError:
        mb = DEFAULT_MAX_INPUT_MB
    if not math.isfinite(mb) or mb <= 0:
        mb = DEFAULT_MAX_INPUT_MB
    return int(mb * 1024 * 1024)


def check_size(path: Path) -> None:
    """Refuse a file larger than :func:`max_input_bytes` before a byte of it is read."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise InvalidInputError(str(path), [Problem("file_not_found")]) from None
    except OSError as exc:
        raise InvalidInputError(str(path), [Problem("file_unreadable", {"detail": exc})]) from None
    limit = max_input_bytes()
    if size > limit:
        raise InvalidInputError(
            str(path),
            [Problem("file_too_large", {"mb": _mb(size), "limit": _mb(limit)})],
        )


def _mb(size: int) -> str:
    return f"{size / 2**20:,.1f}"


def read_input(path: Path) -> bytes:
    """The bytes of an input file, or :class:`InvalidInputError` saying why they can't be read
    (missing, unreadable, or larger than the limit: checked before reading)."""
    check_size(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InvalidInputError(str(path), [Problem("file_not_found")]) from None
    except (OSError, MemoryError) as exc:
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
        check_size(path)
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
    CP932 with ㈱髙① as MacLatin2). Undecodable bytes are an error, never replaced, and a
    file mixing UTF-8 and Shift_JIS lines is refused naming the odd line (decoding it all
    as CP932 would import the UTF-8 lines as mojibake)."""
    if raw.startswith(b"\xef\xbb\xbf"):
        try:
            return raw.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise InvalidInputError(name, [_mixed(line, "Shift_JIS", "UTF-8")]) from None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return raw.decode("utf-16"), "utf-16"
        except UnicodeDecodeError as exc:
            line = raw[: exc.start].count(b"\n") + 1
            raise InvalidInputError(name, [Problem("bad_encoding", {"line": line})]) from None
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    mixed = _mixed_line(raw)
    if mixed is not None:
        raise InvalidInputError(name, [mixed])
    try:
        return raw.decode("cp932"), "cp932"
    except UnicodeDecodeError:
        pass
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
    raise InvalidInputError(name, [Problem("bad_encoding", {"line": _first_bad_line(raw)})])


def _mixed(line: int, found: str, rest: str) -> Problem:
    return Problem("mixed_encoding", {"line": line, "found": found, "rest": rest})


_JAPANESE = re.compile("[\u3000-\u30ff\u3400-\u9fff\uff01-\uffef]")


def _mixed_line(raw: bytes) -> Problem | None:
    """The odd line of a file that is mostly UTF-8 with Shift_JIS lines, or the reverse.

    A line counts as UTF-8 only when it decodes as UTF-8 *and* holds Japanese text (a short
    CP932 line can happen to be valid UTF-8, but then it decodes to no Japanese); the
    minority encoding's first line is named. None when the file is not mixed.
    """
    utf8: list[int] = []
    not_utf8: list[int] = []
    for number, line in enumerate(raw.split(b"\n"), start=1):
        if line.isascii():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError:
            try:
                line.decode("cp932")
            except UnicodeDecodeError:
                return None  # neither: bad_encoding names it
            not_utf8.append(number)
            continue
        if _JAPANESE.search(text):
            utf8.append(number)
    if not utf8 or not not_utf8:
        return None
    if len(utf8) >= len(not_utf8):
        return _mixed(not_utf8[0], "Shift_JIS", "UTF-8")
    return _mixed(utf8[0], "UTF-8", "Shift_JIS")


def _first_bad_line(raw: bytes) -> int:
    """The line (1-based) of the first line that neither UTF-8 nor CP932 can decode."""
    for number, line in enumerate(raw.split(b"\n"), start=1):
        for encoding in ("utf-8", "cp932"):
            try:
                line.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
        else:
            return number
    return 1


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


#: What a broken or hostile zip can raise while its directory or a part is read.
_ZIP_ERRORS = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    OSError,
    EOFError,
    ValueError,
    KeyError,
    IndexError,
    NotImplementedError,
    RuntimeError,
    UnicodeDecodeError,
)
_MACRO_PART = re.compile(r"(^|/)vbaproject[^/]*\.bin$|(^|/)vbadata\.xml$", re.IGNORECASE)
_MACRO_TYPE = re.compile(rb"macroenabled|vbaproject", re.IGNORECASE)
# Any r="A1" attribute, in either quote (<row r="5"> has no letters and is not a used
# cell). No look-behind: a leading literal keeps the scan at ~10 ms per MB of XML; any
# other attribute ending in "r" can only make the range look larger, never smaller.
_REF_COLUMN = re.compile(rb"r\s*=\s*[\"']\$?([A-Za-z]{1,3})\$?[0-9]")
_REF_ROW = re.compile(rb"r\s*=\s*[\"']\$?[A-Za-z]{1,3}\$?([0-9]{1,7})[\"']")
_DIMENSION = re.compile(
    rb"<(?:\w+:)?dimension\b[^>]*?\sref\s*=\s*[\"'][^\"':]*?:?\$?([A-Za-z]{1,3})\$?([0-9]{1,7})[\"']"
)
_SHEET = re.compile(rb"<(?:\w+:)?sheet\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(rb"([\w:]+)\s*=\s*[\"']([^\"']*)[\"']")


@dataclass
class _SheetExtent:
    """How far a sheet's used range reaches: its last row and column (1-based)."""

    rows: int = 0
    cols: int = 0

    def add(self, col: bytes, row: bytes) -> None:
        self.rows = max(self.rows, int(row))
        self.cols = max(self.cols, _column_number(col))

    @property
    def cells(self) -> int:
        return self.rows * self.cols

    @property
    def ref(self) -> str:
        return f"{_column_letters(self.cols)}{self.rows}"


def _column_number(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


def _column_letters(n: int) -> str:
    out = ""
    while n > 0:
        n, rem = divmod(n - 1, 26)
        out = chr(65 + rem) + out
    return out or "A"


def _inspect_xlsx(path: Path) -> dict[str, _SheetExtent]:
    """Check a workbook before any parser sees it; the used range of each sheet, by name.

    Refused: not a zip; parts that would unpack past :data:`MAX_XLSX_PART_BYTES` or
    :data:`MAX_XLSX_UNPACKED_BYTES`, or at more than :data:`MAX_XLSX_RATIO` times their
    compressed size (a zip bomb); a VBA project or a macro-enabled content type, whatever
    the case of its name. Sheets are scanned as streams, never unpacked whole.
    """
    name = str(path)
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            total = 0
            for info in infos:
                total += info.file_size
                if _MACRO_PART.search(info.filename):
                    raise InvalidInputError(
                        name, [Problem("macro_workbook", {"part": info.filename})]
                    )
                if info.file_size > MAX_XLSX_PART_BYTES or (
                    info.file_size > XLSX_RATIO_FLOOR
                    and info.file_size > MAX_XLSX_RATIO * max(info.compress_size, 1)
                ):
                    raise InvalidInputError(
                        name,
                        [
                            Problem(
                                "xlsx_part_too_large",
                                {
                                    "part": info.filename,
                                    "mb": _mb(info.file_size),
                                    "ratio": f"{info.file_size // max(info.compress_size, 1):,}",
                                },
                            )
                        ],
                    )
            if total > MAX_XLSX_UNPACKED_BYTES:
                raise InvalidInputError(name, [Problem("xlsx_too_large", {"mb": total // 2**20})])
            by_lower = {info.filename.lower(): info for info in infos}
            types = by_lower.get("[content_types].xml")
            if types is not None and _MACRO_TYPE.search(archive.read(types)):
                raise InvalidInputError(name, [Problem("macro_workbook", {"part": types.filename})])
            return _sheet_extents(archive, by_lower)
    except InvalidInputError:
        raise
    except _ZIP_ERRORS:
        raise InvalidInputError(name, [Problem("not_xlsx")]) from None


def _sheet_extents(
    archive: zipfile.ZipFile, by_lower: dict[str, zipfile.ZipInfo]
) -> dict[str, _SheetExtent]:
    """Each worksheet's used range (from its ``<dimension>`` and every cell reference, the
    larger), keyed by sheet name; a sheet whose part is not found is keyed by its part."""
    targets: dict[str, str] = {}  # relationship id → part name (lower case)
    rels = by_lower.get("xl/_rels/workbook.xml.rels")
    if rels is not None:
        for tag in re.findall(rb"<(?:\w+:)?Relationship\b[^>]*>", archive.read(rels)):
            attrs = {k.split(b":")[-1]: v for k, v in _ATTR.findall(tag)}
            target = attrs.get(b"Target", b"").decode("utf-8", "replace").lstrip("/")
            if not target.lower().startswith("xl/"):
                target = "xl/" + target
            targets[attrs.get(b"Id", b"").decode("utf-8", "replace")] = target.lower()
    names: dict[str, str] = {}  # part → sheet name
    book = by_lower.get("xl/workbook.xml")
    if book is not None:
        for tag in _SHEET.findall(archive.read(book)):
            attrs = {k.split(b":")[-1]: v for k, v in _ATTR.findall(tag)}
            part = targets.get(attrs.get(b"id", b"").decode("utf-8", "replace"))
            if part:
                names[part] = html.unescape(attrs.get(b"name", b"").decode("utf-8", "replace"))
    extents: dict[str, _SheetExtent] = {}
    for lower, info in by_lower.items():
        if not (lower.startswith("xl/worksheets/") and lower.endswith(".xml")):
            continue
        extent = _SheetExtent()
        tail = b""
        with archive.open(info) as stream:
            while chunk := stream.read(1 << 20):
                data = tail + chunk
                for col, row in _DIMENSION.findall(data):
                    extent.add(col, row)
                # column letters are few; rows many: compared in C, not one by one
                for col in set(_REF_COLUMN.findall(data)):
                    extent.add(col, b"0")
                extent.rows = max(extent.rows, max(map(int, _REF_ROW.findall(data)), default=0))
                tail = data[-2048:]
        extents[names.get(lower, info.filename)] = extent
    return extents


def _check_extent(name: str, sheet: str, extent: _SheetExtent | None) -> None:
    """Refuse a sheet whose rectangle from A1 to its last used cell is too large to read."""
    if extent is not None and extent.cells > MAX_XLSX_CELLS:
        raise InvalidInputError(
            name,
            [
                Problem(
                    "xlsx_used_range",
                    {
                        "sheet": sheet,
                        "ref": extent.ref,
                        "cells": f"{extent.cells:,}",
                        "limit": f"{MAX_XLSX_CELLS:,}",
                    },
                )
            ],
        )


def _read_xlsx(path: Path, is_header: HeaderTest | None = None) -> Table:
    name = str(path)
    extents = _inspect_xlsx(path)
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        chosen: tuple[int, list[list[str]]] | None = None
        for index in range(len(workbook.sheet_names)):
            sheet = workbook.sheet_names[index]
            if sheet in extents:
                _check_extent(name, sheet, extents[sheet])
            else:  # a sheet we could not place: the largest of the workbook's must do
                _check_extent(
                    name, sheet, max(extents.values(), key=lambda e: e.cells, default=None)
                )
            values = workbook.get_sheet_by_index(index).to_python(skip_empty_area=False)
            records = [[_cell_text(v) for v in row] for row in values]
            if chosen is None:
                chosen = (index, records)  # the first sheet, unless a later one has a header
            if is_header is None:
                break
            if _accepted_header(records, is_header) is not None:
                chosen = (index, records)
                break
    except InvalidInputError:
        raise
    except (CalamineError, ValueError, OSError, MemoryError, RecursionError) as exc:
        raise InvalidInputError(name, [Problem("file_unreadable", {"detail": exc})]) from None
    except BaseException as exc:  # calamine's Rust panics arrive as a BaseException
        if type(exc).__name__ != "PanicException":
            raise
        raise InvalidInputError(name, [Problem("not_xlsx")]) from None
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


# ------------------------------------------------------------------------------ JSON


class _BadNumber(ValueError):
    """A JSON number Python would read as NaN or ±Infinity (or one too long to read)."""

    def __init__(self, literal: str):
        super().__init__(literal)
        self.literal = literal


def _constant(literal: str) -> float:
    raise _BadNumber(literal)  # NaN, Infinity, -Infinity: not JSON (RFC 8259 §6)


def _float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):  # 1e999
        raise _BadNumber(literal)
    return value


def _int(literal: str) -> int:
    if len(literal) > 100:  # Python refuses > 4300 digits; no real value needs 100
        raise _BadNumber(literal)
    return int(literal)


def load_json(text: str, name: str) -> Any:
    """Parse a JSON input file, or raise :class:`InvalidInputError` saying where it breaks.

    Refused with a message (never a traceback): syntax errors, NaN / Infinity and numbers
    that overflow (a NaN coordinate compares false with every bound), and nesting deeper
    than :data:`MAX_JSON_DEPTH` (100,000 nested lists raise RecursionError in the parser;
    a document that parses just under Python's limit would raise it in any recursive
    check after). Messages carry positions only, never values (needs are personal data).
    """
    try:
        doc = json.loads(text, parse_constant=_constant, parse_float=_float, parse_int=_int)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            name, [Problem("not_json", {"line": exc.lineno, "col": exc.colno, "detail": exc.msg})]
        ) from None
    except _BadNumber as exc:
        line = _line_of_token(text, exc.literal)
        raise InvalidInputError(name, [Problem("json_bad_number", {"line": line})]) from None
    except RecursionError:
        raise InvalidInputError(
            name, [Problem("json_too_deep", {"limit": MAX_JSON_DEPTH})]
        ) from None
    if _deeper_than(doc, MAX_JSON_DEPTH):
        raise InvalidInputError(name, [Problem("json_too_deep", {"limit": MAX_JSON_DEPTH})])
    return doc


_JSON_STRING = r'"(?:[^"\\]|\\.)*"'


def _line_of_token(text: str, literal: str) -> int:
    """The line of the first ``literal`` outside a JSON string (1 when not found)."""
    token = rf"(?<![\w.+-]){re.escape(literal)}(?![\w.])"
    for match in re.finditer(f"{_JSON_STRING}|({token})", text):
        if match.group(1) is not None:
            return text.count("\n", 0, match.start()) + 1
    return 1


def _deeper_than(doc: Any, limit: int) -> bool:
    """Whether lists and objects nest more than ``limit`` levels (iterative: no recursion)."""
    if not isinstance(doc, dict | list):
        return False
    stack: list[tuple[Any, int]] = [(doc, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value
        if depth > limit:
            return True
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


# ------------------------------------------------------------------------------- URLs

_UNSAFE_SCHEMES = ("javascript:", "vbscript:", "data:")


def unsafe_url(value: str) -> bool:
    """Whether a URL cell would run script or carry a document when linked.

    Read as a browser would: HTML entities decoded (``&#106;avascript:``), full-width
    letters folded, spaces, tabs, newlines and control characters dropped, any case.
    """
    text = value
    for _ in range(3):  # &amp;#106; too
        unescaped = html.unescape(text)
        if unescaped == text:
            break
        text = unescaped
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if ch > " " and ch != "\x7f")
    return text.lower().startswith(_UNSAFE_SCHEMES)


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

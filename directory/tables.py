"""Read the spreadsheets coordinators actually keep: CSV (UTF-8 ± BOM or CP932) and XLSX.

Every cell comes back as a string ("" when empty), so one validator serves both
formats. Rows are numbered as the user sees them: the header is row 1.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from directory.errors import InvalidInputError, Problem

# A workbook whose parts would unpack to more than this is refused before parsing
# (a zip bomb), as are macro-enabled workbooks (SECURITY_NOTES.md).
MAX_XLSX_UNPACKED_BYTES = 512 * 1024 * 1024
CSV_SUFFIXES = {".csv", ".txt", ".tsv"}
XLSX_SUFFIXES = {".xlsx"}
REFUSED_SUFFIXES = {".xlsm", ".xlsb", ".xls"}


@dataclass
class Table:
    """A header and its rows; ``rows[i]`` is row ``i + 2`` in the user's spreadsheet."""

    header: list[str]
    rows: list[tuple[int, list[str]]]  # (row number, cells as read; blank ones "")
    encoding: str


def read_input(path: Path) -> bytes:
    """The bytes of an input file, or :class:`InvalidInputError` saying why they can't be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise InvalidInputError(str(path), [Problem("file_not_found")]) from None
    except OSError as exc:
        raise InvalidInputError(str(path), [Problem("file_unreadable", {"detail": exc})]) from None


def read_table(path: Path) -> Table:
    """Read a CSV or XLSX file, or raise :class:`InvalidInputError` saying why not."""
    name = str(path)
    suffix = path.suffix.lower()
    if suffix in REFUSED_SUFFIXES:
        raise InvalidInputError(name, [Problem("refused_format", {"suffix": suffix})])
    if not path.exists():
        raise InvalidInputError(name, [Problem("file_not_found")])
    if suffix in XLSX_SUFFIXES:
        return _read_xlsx(path)
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
    return _table(name, records, encoding)


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
    if best is not None and best.encoding in {"utf_8", "cp932", "shift_jis", "euc_jp",
                                              "iso2022_jp", "utf_16"}:
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


def _table(name: str, records: list[list[str]], encoding: str) -> Table:
    records_iter: Iterator[tuple[int, list[str]]] = iter(enumerate(records, start=1))
    header: list[str] | None = None
    for _number, record in records_iter:
        if any(cell.strip() for cell in record):
            header = [cell.strip() for cell in record]
            break
    if header is None:
        raise InvalidInputError(name, [Problem("no_header")])
    width = len(header)
    rows: list[tuple[int, list[str]]] = []
    for number, record in records_iter:
        # Cells stay as read (blank ones as ""); the importer strips them column by column.
        if not (record and record[0].strip()) and not "".join(record).strip():
            continue
        if len(record) < width:
            record = record + [""] * (width - len(record))
        rows.append((number, record))
    return Table(header, rows, encoding)


def _read_xlsx(path: Path) -> Table:
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
        values = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except (CalamineError, ValueError, OSError) as exc:
        raise InvalidInputError(name, [Problem("file_unreadable", {"detail": exc})]) from None
    records = [[_cell_text(v) for v in row] for row in values]
    return _table(name, records, "xlsx")


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

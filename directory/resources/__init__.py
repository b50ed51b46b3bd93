"""Import resources from municipal CSV/XLSX/GeoJSON files (DATA_FORMATS §3).

Files come as coordinators keep them: Shift_JIS or UTF-8, columns in any order, the
Digital Agency standard set's headers or their everyday synonyms, schedules in ordinary
Japanese. Every row is checked before anything is written; a file with any error writes
nothing and reports every error as ``FILE:ROW:COLUMN: reason``.

Speed matters (a national directory holds ~150,000 rows), so cells are parsed through
per-column memo tables (values repeat heavily) and rows are written with bulk statements.

The package: :mod:`~directory.resources.columns` (the §3 columns and the file's header),
:mod:`~directory.resources.cells` (one cell's value), :mod:`~directory.resources.schedule_cells`
(the schedule cells as one text), :mod:`~directory.resources.checks` (every cell checked,
column by column), :mod:`~directory.resources.importer` (:func:`import_resources`) and
:mod:`~directory.resources.writer` (bulk writes). The same format written back (CSV/XLSX)
is an export like the others: :mod:`directory.exports.table`.
"""

from directory.resources.cells import (
    FORMULA_START,
    STATUS_LABEL,
    CellError,
    category_from_name,
    parse_choice,
    parse_coordinate,
    parse_date,
    parse_eligibility,
    parse_fee,
    parse_int,
    parse_vacancy,
    parse_verified,
)
from directory.resources.checks import WHOLE_AREA, Checked, Progress, parse_rows
from directory.resources.columns import (
    BY_KEY,
    CLOSED_DAYS,
    COLUMNS,
    STANDARD_EXTRA,
    Column,
    read_column_map,
)
from directory.resources.importer import (
    REJECTS_COLUMN,
    REPLACE_DISTANCE_M,
    ResourceImportResult,
    import_resources,
)
from directory.resources.schedule_cells import schedule_text
from directory.resources.writer import VENUE_LINK_M

__all__ = [
    "BY_KEY",
    "CLOSED_DAYS",
    "COLUMNS",
    "FORMULA_START",
    "REJECTS_COLUMN",
    "REPLACE_DISTANCE_M",
    "STANDARD_EXTRA",
    "STATUS_LABEL",
    "VENUE_LINK_M",
    "WHOLE_AREA",
    "CellError",
    "Checked",
    "Column",
    "Progress",
    "ResourceImportResult",
    "category_from_name",
    "import_resources",
    "parse_choice",
    "parse_coordinate",
    "parse_date",
    "parse_eligibility",
    "parse_fee",
    "parse_int",
    "parse_rows",
    "parse_vacancy",
    "parse_verified",
    "read_column_map",
    "schedule_text",
]

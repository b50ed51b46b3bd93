"""Exports of the directory: GeoJSON, Open Referral HSDS 3.0 JSON, iCalendar, and the §3
table (CSV/XLSX) that imports back.

These files leave the building (council web site, open-data portals, residents'
calendar apps), so every function here starts from the *published* set — 公開=可 and not
終了 — unless ``include_private=True``. The open formats copy only allow-listed fields:
they never read needs, notes (備考) or capacity, and of the standard set's extra columns only those
named in ``_EXTRA_FIELDS`` (バリアフリー情報, FAX, 郵便番号, 都道府県・市区町村): a field that
is not named here cannot leak (SECURITY_NOTES.md, "published maps and exports").

Every whole-directory export has a streaming form (``iter_resources_*``): UTF-8 chunks,
the database read in keyset batches of :data:`BATCH_SIZE`, so memory stays bounded at
national scale (150,000 resources); the in-memory forms give the same document.

Decisions (DATA_FORMATS §6):

* **Where a resource is.** Its own 緯度/経度 when written, else its venue's point. A
  resource with no point but with served districts (配食 for 全域, 除雪 for two districts)
  is a GeoJSON feature whose geometry is the union of those districts, with
  ``"location": "service_area"``, so residents still find it on a map; a resource with
  neither is left out of GeoJSON (HSDS and CSV still carry it).
* **Stable ids.** HSDS ids and iCalendar UIDs are UUIDv5 over the resource's external id
  (the file's ID column) in a fixed namespace, so re-exports diff cleanly. IDs must stay
  unique across every dataset that is merged.
* **A horizon.** RFC 5545 and HSDS have no rule for Japanese public holidays or for
  seasons that recur every year, so the calendar and HSDS files are written for a window:
  ``start`` (default: the first day of the current month in Japan, so every export in a
  month is identical) to ``end`` (default: two years later). Inside it, holidays
  (jpholiday, with 振替休日) and 12/29–1/3 are EXDATEs and the RRULE ends (UNTIL) at
  ``end``, so a calendar never shows a holiday session that will not happen. 隔週 is
  anchored on ``start`` exactly as :func:`directory.schedules.to_rrule_set` anchors it,
  so the calendar expands to the same occurrences as ``tsunagu schedule expand --from
  START``.
* **Schedules that cannot be expressed** (not understood, or no days written) give no
  VEVENT; the calendar names them in ``X-TSUNAGU-UNSCHEDULED`` properties and HSDS keeps
  them as a schedule with only the words (``description``) and a note.

The §3 table (:mod:`~directory.exports.table`) is the import format written back, so it
carries every column of a resource (備考 and 定員 included: export → import changes
nothing); it never reads needs either.

The package: :mod:`~directory.exports.common` (ids, the window, a resource's published
fields), :mod:`~directory.exports.published` (what an export reads, in batches),
:mod:`~directory.exports.geojson`, :mod:`~directory.exports.occurrences` (schedule rows in
the window, shared by) :mod:`~directory.exports.ical` and :mod:`~directory.exports.hsds`,
and :mod:`~directory.exports.table`.
"""

from directory.exports.common import (
    ID_NAMESPACE,
    TIMEZONE,
    ExportNotFoundError,
    default_window,
    stable_id,
)
from directory.exports.geojson import GEOJSON_PROPERTIES, iter_resources_geojson, resources_geojson
from directory.exports.hsds import HSDS_VERSION, iter_resources_hsds, resources_hsds
from directory.exports.ical import (
    district_ics,
    district_resources,
    iter_resources_ics,
    resource_ics,
    resources_ics,
)
from directory.exports.published import (
    BATCH_SIZE,
    Page,
    Progress,
    count_published,
    iter_published,
    published_batches,
    published_resources,
)
from directory.exports.table import (
    csv_chunks,
    export_rows,
    iter_resources_csv,
    iter_resources_xlsx,
    table_rows,
    write_csv,
    write_xlsx,
    xlsx_chunks,
)

__all__ = [
    "BATCH_SIZE",
    "GEOJSON_PROPERTIES",
    "HSDS_VERSION",
    "ID_NAMESPACE",
    "TIMEZONE",
    "ExportNotFoundError",
    "Page",
    "Progress",
    "count_published",
    "csv_chunks",
    "default_window",
    "district_ics",
    "district_resources",
    "export_rows",
    "iter_published",
    "iter_resources_csv",
    "iter_resources_geojson",
    "iter_resources_hsds",
    "iter_resources_ics",
    "iter_resources_xlsx",
    "published_batches",
    "published_resources",
    "resource_ics",
    "resources_geojson",
    "resources_hsds",
    "resources_ics",
    "stable_id",
    "table_rows",
    "write_csv",
    "write_xlsx",
    "xlsx_chunks",
]

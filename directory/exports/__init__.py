"""Open exports of the directory: GeoJSON, Open Referral HSDS 3.0 JSON and iCalendar.

These files leave the building (council web site, open-data portals, residents'
calendar apps), so every function here starts from the *published* set — 公開=可 and not
終了 — unless ``include_private=True``, and copies only allow-listed fields. Nothing here
reads needs, notes (備考) or capacity, and of the standard set's extra columns only those
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
"""

from directory.exports.hsds import (  # noqa: F401
    _ALL_DAYS,
    _CITY,
    _ENCODE,
    _EXTRA_FIELDS,
    _HSDS_STATUS,
    _NAMESPACE_BYTES,
    _NO_ORGANIZATION,
    _ORGANIZATION_COLUMNS,
    _PREFECTURE,
    _RECORD_COLUMNS,
    _STATUS_LABEL,
    _URL,
    _VENUE_COLUMNS,
    BATCH_SIZE,
    GEOJSON_PROPERTIES,
    HORIZON_YEARS,
    HSDS_VERSION,
    ID_NAMESPACE,
    PRODID,
    TAXONOMY_DESCRIPTION,
    TAXONOMY_NAME,
    TIMEZONE,
    ExportNotFoundError,
    Progress,
    _address,
    _Areas,
    _calendar,
    _calendar_head,
    _closures,
    _describe,
    _drop_none,
    _events,
    _expressible,
    _expressible_rules,
    _extra_value,
    _feature,
    _geojson_geometry,
    _hsds_address,
    _hsds_location,
    _hsds_schedules,
    _hsds_service,
    _hsds_time,
    _HsdsContext,
    _iso_z,
    _iter_calendar,
    _key,
    _page_head,
    _parsed,
    _place,
    _point,
    _published_query,
    _Record,
    _rrule,
    _rule_lines,
    _rule_occurrences,
    _schedule_fields,
    _schedule_words,
    _season,
    _season_windows,
    _shared_id,
    _source_text,
    _stamp,
    _url,
    count_published,
    default_window,
    district_ics,
    district_resources,
    iter_published,
    iter_resources_geojson,
    iter_resources_hsds,
    iter_resources_ics,
    published_resources,
    resource_ics,
    resources_geojson,
    resources_hsds,
    resources_ics,
    stable_id,
)
from directory.exports.hsds import __all__ as __all__

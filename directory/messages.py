"""The codes of every problem the directory reports, and their messages.

The codes are a stable API (``"code"`` in ``--json`` output); each names an English
msgid of the one catalogue (:mod:`directory.i18n`), which holds the Japanese and the
English (a test checks both are complete and keep the same placeholders).
"""

from __future__ import annotations

from typing import Any

from directory.i18n import N_, translate

MESSAGES: dict[str, str] = {
    # generic
    "required": N_("a required value is missing"),
    # access (needs are recorded only by the coordinators of their area)
    "need_outside_your_areas": N_(
        "this district is not in your areas, so you cannot record this need"
    ),
    # files
    "file_not_found": N_("file not found"),
    "file_unreadable": N_("cannot read the file: {detail}"),
    "not_json": N_("not valid JSON (line {line}, column {col}: {detail})"),
    "not_feature_collection": N_("not a GeoJSON FeatureCollection"),
    "no_features": N_("the file has no features"),
    "projected_crs": N_(
        "the coordinate system {crs} is not longitude/latitude; save the file in EPSG:4326 "
        "(or JGD2011)"
    ),
    "unknown_crs": N_(
        "the coordinate system {crs} cannot be used; save the file in EPSG:4326 (or JGD2011)"
    ),
    # features
    "not_a_feature": N_("not a Feature"),
    "missing_geometry": N_("the feature has no geometry"),
    "wrong_geometry": N_("the geometry is a {got}; a {expected} is needed"),
    "bad_geometry": N_("cannot read the geometry: {detail}"),
    "invalid_polygon": N_("the polygon is invalid ({detail})"),
    "outside_japan": N_(
        "the coordinates ({lon}, {lat}) are not longitude/latitude in Japan "
        "(lon 122–154, lat 20–46); check the order and the coordinate system"
    ),
    "bad_level": N_("level {value!r} must be one of municipality, area, district"),
    "duplicate_code": N_(
        "the code {value!r} appears more than once in the file (also feature {other})"
    ),
    "unknown_parent": N_("the parent {value!r} is neither in this file nor in the database"),
    "parent_cycle": N_("following parent leads back to itself ({value})"),
    "parent_level": N_("the parent of a {level} must be a {expected} ({value!r} is a {got})"),
    "not_text": N_("not a text value"),
    "venue_outside_districts": N_(
        "the venue {name!r} lies outside every district (kept without a district)"
    ),
    # categories
    "unknown_category": N_("the category {value!r} is not in the taxonomy"),
    "unknown_category_suggest": N_(
        "the category {value!r} is not in the taxonomy (did you mean: {suggestions})"
    ),
    # tables (CSV / XLSX)
    "refused_format": N_(
        "{suffix} files are refused; save the sheet as a macro-free .xlsx or as .csv"
    ),
    "unknown_format": N_("the extension {suffix} is not supported (use .csv or .xlsx)"),
    "not_xlsx": N_("cannot open the file as an Excel .xlsx"),
    "xlsx_too_large": N_("the workbook would unpack to {mb} MB, which is too large"),
    # hostile or damaged files (refused before they are parsed)
    "file_too_large": N_(
        "the file is {mb} MB, larger than the limit of {limit} MB; split it into smaller "
        "files (the limit is the setting TSUNAGU_MAX_INPUT_MB)"
    ),
    "xlsx_used_range": N_(
        "the used range of the sheet {sheet!r} reaches {ref} ({cells} cells; at most {limit} "
        "can be read); delete the unneeded cells, rows and columns beyond the table and save "
        "the file again"
    ),
    "xlsx_part_too_large": N_(
        "the part {part} would unpack to {mb} MB ({ratio} times its compressed size), so the "
        "file is refused as a possible zip bomb; open it in Excel and save it again as .xlsx, "
        "or save it as .csv"
    ),
    "macro_workbook": N_(
        "the workbook contains macros ({part}); macro-enabled files are refused: save it as "
        "a macro-free Excel workbook (.xlsx) or as .csv"
    ),
    "mixed_encoding": N_(
        "line {line} is written in {found} while the rest of the file is {rest}; save the "
        "whole file in one encoding (UTF-8)"
    ),
    "json_too_deep": N_(
        "the JSON is nested more than {limit} levels deep, so it is not a file this command "
        "reads; check that you chose the right file"
    ),
    "json_bad_number": N_(
        "line {line} has a number that JSON does not allow (NaN, Infinity, or too large); "
        "write an ordinary number or leave the value out"
    ),
    "unsafe_url": N_(
        "{value!r} cannot be used as a link: javascript: and data: addresses are refused; "
        "write an address that starts with https:// or http://"
    ),
    "bad_encoding": N_(
        "cannot tell the encoding (line {line} is neither UTF-8 nor Shift_JIS); save the file "
        "as UTF-8 or Shift_JIS"
    ),
    "no_header": N_("the file has no header row"),
    "header_row": N_(
        "row {row} was taken as the header; the rows above it were skipped as a title"
    ),
    "sheet_used": N_("read the table on the sheet {sheet!r} (the first sheet has no header row)"),
    # resources (CSV / XLSX rows)
    "missing_column": N_("the required column {header!r} is missing"),
    "unknown_column": N_("the column {header!r} is not used (ignored)"),
    "likely_duplicate": N_(
        "looks like {other} ({name}), score {score}: if it is the same resource, merge them "
        "(Likely duplicates, /resources/duplicates, or tsunagu directory merge)"
    ),
    "duplicates_not_checked": N_(
        "{rows} rows: too many to look for duplicates while importing; see Likely duplicates "
        "(/resources/duplicates) or run tsunagu directory duplicates"
    ),
    # confirmations read back from a call sheet (web/verification.py)
    "unknown_resource": N_("there is no resource with the ID {value!r}"),
    "not_your_resource": N_("you may not confirm {value!r}: it serves none of your areas"),
    # real municipal files (DATA_FORMATS §3a)
    "category_from_name": N_(
        "the category is empty; {category!r} was taken from the name (write it in the column "
        "to confirm)"
    ),
    "column_map_unused": N_(
        "the column mapping names {header!r}, which the file does not have (ignored)"
    ),
    "column_map_bad_target": N_(
        "the column mapping maps {header!r} to {target!r}, which is not a column of the "
        "resource format; map it to a column such as 名称, 種別 or 住所"
    ),
    "column_map_unreadable": N_(
        'cannot read the column mapping: {detail}; write it as JSON like {{"their column": "名称"}}'
    ),
    "replaces_far": N_(
        "the ID {value!r} is already used by {other!r}, {km} km from here, so this row would "
        "replace another resource; if this list numbers its rows like another list, import "
        "it with --id-prefix; to replace it on purpose, add --replace"
    ),
    "replaces_other_organization": N_(
        "the ID {value!r} is already used by {other!r} of {organization!r}, so this row "
        "would replace another resource; if this list numbers its rows like another list, "
        "import it with --id-prefix; to replace it on purpose, add --replace"
    ),
    "replaces_other_place": N_(
        "the ID {value!r} is already used by {other!r}, and nothing shows it is the same "
        "place, so this row would replace another resource; if this list numbers its rows "
        "like another list, import it with --id-prefix; to replace it on purpose, add "
        "--replace"
    ),
    "duplicate_column": N_("the column {header!r} means the same as {used!r}; {used!r} was used"),
    "duplicate_id": N_("the ID {value!r} appears more than once in the file (also row {other})"),
    "not_integer": N_("{value!r} is not a whole number"),
    "not_number": N_("{value!r} is not a number"),
    "coordinate_outside_japan": N_(
        "the {axis} {value!r} is outside Japan ({low}–{high}); check that latitude and "
        "longitude are not swapped"
    ),
    "coordinate_pair": N_("give both latitude and longitude, or neither"),
    "not_a_date": N_("{value!r} is not a date (e.g. 2024-04-01, 2024/4/1, 令和6年4月1日)"),
    "bad_era_date": N_("{value!r} is not a date of that era"),
    "bad_choice": N_("{value!r} is not allowed ({allowed})"),
    "not_a_time": N_("{value!r} is not a time (e.g. 10:00, 10時30分, 午後1時)"),
    "end_before_start": N_("the end time {end!r} is not after the start time {start!r}"),
    "unknown_district": N_(
        "the district {value!r} is not registered (write a district code or name)"
    ),
    "ambiguous_district": N_("more than one district is called {value!r}; use its code"),
    "whole_area_ambiguous": N_(
        "cannot tell which municipality {value!r} means (several are registered)"
    ),
    "schedule_not_understood": N_(
        "the schedule {value!r} could not be understood (kept as written, not used for matching)"
    ),
    # needs (JSON, DATA_FORMATS §4). "row" is the need's position in the list (1 = first).
    # Need text is personal data: no message takes the text as a parameter.
    "json_not_utf8": N_("not UTF-8 (line {line}); save the JSON file as UTF-8"),
    "not_a_list": N_("not a list of needs (a JSON array [...])"),
    "not_an_object": N_("the need is not a JSON object ({{...}})"),
    "duplicate_need_id": N_("the id appears more than once in the file (the same as need {other})"),
    "district_not_leaf": N_("{value!r} is a {level}; a need must name a district (level district)"),
    "categories_or_text_required": N_("either categories or text is required"),
    "categories_not_inferred": N_(
        "cannot tell the category (nothing could be inferred from text; add categories)"
    ),
    "categories_inferred": N_(
        "categories inferred from text: {categories} (recorded as inferred; please check)"
    ),
    "not_a_list_field": N_("write a list ([...])"),
    "bad_weekday": N_("{value!r} is not a weekday (e.g. 月, 火曜, 水曜日, 平日, 土日, Mon)"),
    "not_a_time_range": N_("{value!r} is not a time range (e.g. 07:00-09:00, 10時～12時, 午前)"),
    "bad_month": N_("{value!r} is not a month (1–12)"),
    "out_of_range": N_("{value!r} is not between {low} and {high}"),
    "not_boolean": N_("{value!r} is not true / false (あり / なし)"),
    "unknown_attribute": N_(
        "the attribute {value!r} is not used (one of {allowed}); it was not stored"
    ),
    "date_in_future": N_("{value!r} is in the future"),
    "location_outside_district": N_(
        "the location (lat, lon) is about {km} km outside the district; check the "
        "coordinates or the district"
    ),
    "resident_not_pseudonym": N_(
        "resident must be a pseudonymous reference (letters, digits and - _ . : with at least "
        "one digit, e.g. R-3f9a); never a name"
    ),
    "id_looks_like_name": N_(
        "the id looks like a person's name; use a number such as N-0001 (never a name)"
    ),
    "consent_by_unknown": N_("consent_by must be one of {allowed} (never a name)"),
    "basis_missing": N_("neither consent (consent_on) nor a statutory ground (basis) is recorded"),
    "personal_field_ignored": N_(
        "{field!r} identifies a person and is not stored (use a pseudonymous resident)"
    ),
    "unknown_field": N_("the field {field!r} is not used (ignored)"),
    "too_long": N_("longer than {max} characters"),
    "nul_character": N_(
        "the NUL character (\\x00) is not allowed; remove it and save the file again"
    ),
    # needs: the same rules as above, told without the value (it may be personal data)
    "need_not_number": N_("{field} must be a number"),
    "need_not_integer": N_("{field} must be a whole number from {low} to {high}"),
    "need_out_of_range": N_("{field} must be between {low} and {high}"),
    "need_coordinate_outside_japan": N_(
        "the {axis} is outside Japan ({low}–{high}); check that latitude and longitude are "
        "not swapped"
    ),
    "need_not_a_date": N_("{field} is not a date (e.g. 2024-04-01, 2024/4/1, 令和6年4月1日)"),
    "need_bad_era_date": N_("{field} is not a date of that era"),
    "need_date_in_future": N_("{field} is in the future"),
    "need_bad_weekday": N_(
        "{field} holds a value that is not a weekday (e.g. 月, 火曜, 水曜日, 平日, 土日, Mon)"
    ),
    "need_not_a_time_range": N_("{field} is not a time range (e.g. 07:00-09:00, 10時～12時, 午前)"),
    "need_end_before_start": N_("in {field}, the end is not after the start"),
    "need_bad_month": N_("{field} holds a value that is not a month (1–12, 冬, 12月～3月)"),
    "need_not_boolean": N_("{field} must be true / false (あり / なし)"),
    "need_bad_choice": N_("{field} must be one of {allowed}"),
    "need_unknown_attribute": N_(
        "{field} held a value that is not used (one of {allowed}); it was not stored"
    ),
    "need_unknown_district": N_(
        "the district in {field} is not registered (write a district code or name)"
    ),
    "need_ambiguous_district": N_("more than one district has the name in {field}; use its code"),
    "need_district_not_leaf": N_(
        "the district in {field} is a {level}; a need must name a district (level district)"
    ),
    "need_unknown_category": N_("{field} holds a category that is not in the taxonomy"),
    "need_unknown_category_suggest": N_(
        "{field} holds a category that is not in the taxonomy (did you mean: {suggestions})"
    ),
    # database errors (DatabaseProblem): names of columns and constraints only, never values
    "import_running": N_(
        "another import is running; run this again when it has finished (nothing was written)"
    ),
    "db_duplicate": N_(
        "a row with the same {column} already exists ({column} must be unique); if another "
        "import ran at the same time, run this again when it has finished (nothing was written)"
    ),
    "db_not_null": N_("{column} is empty and cannot be stored (nothing was written)"),
    "db_foreign_key": N_(
        "a value refers to nothing ({column}); what it refers to may have been deleted "
        "meanwhile (nothing was written)"
    ),
    "db_check": N_("a value breaks the database rule {constraint} (nothing was written)"),
    "db_nul": N_("a value with the NUL character (\\x00) cannot be stored (nothing was written)"),
    "db_bad_value": N_(
        "the database refused a value (check its type, length and characters; nothing was written)"
    ),
    "db_unavailable": N_("cannot reach the database; try again shortly (nothing was written)"),
    "db_error": N_("the database operation failed ({kind}); nothing was written"),
}


def message(code: str, lang: str = "ja", **params: Any) -> str:
    """Return the message ``code`` in ``lang`` ('ja' or 'en'), filled with ``params``."""
    return translate(MESSAGES[code], lang, **params)


def texts(code: str) -> tuple[str, str]:
    """The unfilled Japanese and English templates of ``code``."""
    return translate(MESSAGES[code], "ja"), translate(MESSAGES[code], "en")

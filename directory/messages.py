"""Japanese and English texts for every problem the directory reports.

One catalogue keeps the two languages side by side so a new message cannot be added in
one language only (a test checks that every code has both).
"""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, tuple[str, str]] = {
    # generic
    "required": ("必須の値がありません", "a required value is missing"),
    # files
    "file_not_found": ("ファイルが見つかりません", "file not found"),
    "file_unreadable": ("ファイルを読み込めません: {detail}", "cannot read the file: {detail}"),
    "not_json": (
        "JSON として読めません（{line}行目 {col}文字目: {detail}）",
        "not valid JSON (line {line}, column {col}: {detail})",
    ),
    "not_feature_collection": (
        "GeoJSON の FeatureCollection ではありません",
        "not a GeoJSON FeatureCollection",
    ),
    "no_features": ("地物（feature）が1件もありません", "the file has no features"),
    "projected_crs": (
        "座標系 {crs} は経緯度ではありません。経緯度（EPSG:4326 / JGD2011）で保存し直してください",
        "the coordinate system {crs} is not longitude/latitude; save the file in EPSG:4326 "
        "(or JGD2011)",
    ),
    "unknown_crs": (
        "座標系 {crs} は使えません。経緯度（EPSG:4326 / JGD2011）で保存し直してください",
        "the coordinate system {crs} cannot be used; save the file in EPSG:4326 (or JGD2011)",
    ),
    # features
    "not_a_feature": ("Feature ではありません", "not a Feature"),
    "missing_geometry": ("形状（geometry）がありません", "the feature has no geometry"),
    "wrong_geometry": (
        "形状の種類が {got} です。{expected} が必要です",
        "the geometry is a {got}; a {expected} is needed",
    ),
    "bad_geometry": ("形状を読めません: {detail}", "cannot read the geometry: {detail}"),
    "invalid_polygon": (
        "ポリゴンが不正です（{detail}）",
        "the polygon is invalid ({detail})",
    ),
    "outside_japan": (
        "座標 ({lon}, {lat}) が日本の経緯度の範囲（経度122〜154・緯度20〜46）にありません。"
        "経度・緯度の順か、座標系を確認してください",
        "the coordinates ({lon}, {lat}) are not longitude/latitude in Japan "
        "(lon 122–154, lat 20–46); check the order and the coordinate system",
    ),
    "bad_level": (
        "level「{value}」は municipality・area・district のいずれかにしてください",
        "level {value!r} must be one of municipality, area, district",
    ),
    "duplicate_code": (
        "code「{value}」がファイル内で重複しています（{other}件目にもあります）",
        "the code {value!r} appears more than once in the file (also feature {other})",
    ),
    "unknown_parent": (
        "parent「{value}」はこのファイルにもデータベースにもありません",
        "the parent {value!r} is neither in this file nor in the database",
    ),
    "parent_cycle": (
        "parent をたどると自分自身に戻ります（{value}）",
        "following parent leads back to itself ({value})",
    ),
    "parent_level": (
        "{level} の parent は {expected} でなければなりません（「{value}」は {got}）",
        "the parent of a {level} must be a {expected} ({value!r} is a {got})",
    ),
    "not_text": ("文字列ではありません", "not a text value"),
    "venue_outside_districts": (
        "会場「{name}」はどの地区の範囲にも入っていません（地区なしで登録しました）",
        "the venue {name!r} lies outside every district (kept without a district)",
    ),
    # categories
    "unknown_category": (
        "種別「{value}」は分類表にありません",
        "the category {value!r} is not in the taxonomy",
    ),
    "unknown_category_suggest": (
        "種別「{value}」は分類表にありません（候補: {suggestions}）",
        "the category {value!r} is not in the taxonomy (did you mean: {suggestions})",
    ),
    # tables (CSV / XLSX)
    "refused_format": (
        "{suffix} 形式のファイルは読み込めません。マクロなしの .xlsx か .csv で保存してください",
        "{suffix} files are refused; save the sheet as a macro-free .xlsx or as .csv",
    ),
    "unknown_format": (
        "拡張子 {suffix} は読み込めません（.csv か .xlsx にしてください）",
        "the extension {suffix} is not supported (use .csv or .xlsx)",
    ),
    "not_xlsx": ("Excel（.xlsx）ファイルとして開けません", "cannot open the file as an Excel .xlsx"),
    "xlsx_too_large": (
        "展開すると {mb} MB を超える Excel ファイルは読み込めません",
        "the workbook would unpack to {mb} MB, which is too large",
    ),
    "bad_encoding": (
        "文字コードを判別できません（{line}行目に UTF-8 でも Shift_JIS でもない文字があります）。"
        "UTF-8 か Shift_JIS で保存し直してください",
        "cannot tell the encoding (line {line} is neither UTF-8 nor Shift_JIS); save the file "
        "as UTF-8 or Shift_JIS",
    ),
    "no_header": ("見出し行がありません", "the file has no header row"),
    # resources (CSV / XLSX rows)
    "missing_column": ("必須の列「{header}」がありません", "the required column {header!r} is missing"),
    "unknown_column": (
        "列「{header}」は使われません（無視しました）",
        "the column {header!r} is not used (ignored)",
    ),
    "duplicate_column": (
        "列「{header}」は「{used}」と同じ意味なので、「{used}」を使いました",
        "the column {header!r} means the same as {used!r}; {used!r} was used",
    ),
    "duplicate_id": (
        "ID「{value}」がファイル内で重複しています（{other}行目にもあります）",
        "the ID {value!r} appears more than once in the file (also row {other})",
    ),
    "not_integer": ("「{value}」は整数ではありません", "{value!r} is not a whole number"),
    "not_number": ("「{value}」は数値ではありません", "{value!r} is not a number"),
    "coordinate_outside_japan": (
        "{axis}「{value}」が日本の範囲（{low}〜{high}）にありません。緯度と経度が逆になっていないか確認してください",
        "the {axis} {value!r} is outside Japan ({low}–{high}); check that latitude and "
        "longitude are not swapped",
    ),
    "coordinate_pair": (
        "緯度と経度は両方そろえて入力してください",
        "give both latitude and longitude, or neither",
    ),
    "not_a_date": (
        "「{value}」は日付として読めません（例: 2024-04-01、2024/4/1、令和6年4月1日）",
        "{value!r} is not a date (e.g. 2024-04-01, 2024/4/1, 令和6年4月1日)",
    ),
    "bad_era_date": (
        "「{value}」はその元号に存在しない日付です",
        "{value!r} is not a date of that era",
    ),
    "bad_choice": ("「{value}」は使えません（{allowed}）", "{value!r} is not allowed ({allowed})"),
    "not_a_time": (
        "「{value}」は時刻として読めません（例: 10:00、10時30分、午後1時）",
        "{value!r} is not a time (e.g. 10:00, 10時30分, 午後1時)",
    ),
    "end_before_start": (
        "終了時間「{end}」が開始時間「{start}」より前です",
        "the end time {end!r} is not after the start time {start!r}",
    ),
    "unknown_district": (
        "地区「{value}」は登録されていません（地区の code か名前を書いてください）",
        "the district {value!r} is not registered (write a district code or name)",
    ),
    "ambiguous_district": (
        "地区名「{value}」は複数あります。地区の code で書いてください",
        "more than one district is called {value!r}; use its code",
    ),
    "whole_area_ambiguous": (
        "「{value}」がどの市町村の全域か分かりません（市町村が複数登録されています）",
        "cannot tell which municipality {value!r} means (several are registered)",
    ),
    "schedule_not_understood": (
        "予定「{value}」を解釈できません（そのまま保存し、マッチングでは使いません）",
        "the schedule {value!r} could not be understood (kept as written, not used for matching)",
    ),
}


def message(code: str, lang: str = "ja", **params: Any) -> str:
    """Return the message ``code`` in ``lang`` ('ja' or 'en'), filled with ``params``."""
    ja, en = MESSAGES[code]
    template = en if lang == "en" else ja
    return template.format(**params)

"""Japanese and English texts for every problem the directory reports.

One catalogue keeps the two languages side by side so a new message cannot be added in
one language only (a test checks that every code has both).
"""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, tuple[str, str]] = {
    # generic
    "required": ("必須の値がありません", "a required value is missing"),
    # access (needs are recorded only by the coordinators of their area)
    "need_outside_your_areas": (
        "この地区はあなたの担当圏域に含まれていないため、このニーズは登録できません",
        "this district is not in your areas, so you cannot record this need",
    ),
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
    "header_row": (
        "見出しを{row}行目と判断し、その上の行は表題として読み飛ばしました",
        "row {row} was taken as the header; the rows above it were skipped as a title",
    ),
    "sheet_used": (
        "シート「{sheet}」の表を読み込みました（最初のシートには見出し行がありません）",
        "read the table on the sheet {sheet!r} (the first sheet has no header row)",
    ),
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
    # needs (JSON, DATA_FORMATS §4). "row" is the need's position in the list (1 = first).
    # Need text is personal data: no message takes the text as a parameter.
    "json_not_utf8": (
        "UTF-8 として読めません（{line}行目）。JSON は UTF-8 で保存してください",
        "not UTF-8 (line {line}); save the JSON file as UTF-8",
    ),
    "not_a_list": (
        "ニーズの一覧（JSON の配列 [...]）ではありません",
        "not a list of needs (a JSON array [...])",
    ),
    "not_an_object": (
        "ニーズが JSON のオブジェクト（{{...}}）ではありません",
        "the need is not a JSON object ({{...}})",
    ),
    "duplicate_need_id": (
        "id がファイル内で重複しています（{other}件目と同じです）",
        "the id appears more than once in the file (the same as need {other})",
    ),
    "district_not_leaf": (
        "「{value}」は{level}です。ニーズには地区（行政区・町内会、level が district のもの）を"
        "指定してください",
        "{value!r} is a {level}; a need must name a district (level district)",
    ),
    "categories_or_text_required": (
        "categories か text のどちらかが必要です",
        "either categories or text is required",
    ),
    "categories_not_inferred": (
        "カテゴリを特定できません（text から推定できませんでした。categories を書いてください）",
        "cannot tell the category (nothing could be inferred from text; add categories)",
    ),
    "categories_inferred": (
        "text からカテゴリを推定しました: {categories}（推定として記録しました。確認してください）",
        "categories inferred from text: {categories} (recorded as inferred; please check)",
    ),
    "not_a_list_field": (
        "リスト（[...]）で書いてください",
        "write a list ([...])",
    ),
    "bad_weekday": (
        "「{value}」は曜日として読めません（例: 月、火曜、水曜日、平日、土日）",
        "{value!r} is not a weekday (e.g. 月, 火曜, 水曜日, 平日, 土日, Mon)",
    ),
    "not_a_time_range": (
        "「{value}」は時間帯として読めません（例: 07:00-09:00、10時～12時、午前）",
        "{value!r} is not a time range (e.g. 07:00-09:00, 10時～12時, 午前)",
    ),
    "bad_month": (
        "「{value}」は月（1〜12）ではありません",
        "{value!r} is not a month (1–12)",
    ),
    "out_of_range": (
        "「{value}」は {low}〜{high} の範囲にありません",
        "{value!r} is not between {low} and {high}",
    ),
    "not_boolean": (
        "「{value}」は true / false（あり / なし）ではありません",
        "{value!r} is not true / false (あり / なし)",
    ),
    "unknown_attribute": (
        "属性「{value}」は使われません（{allowed} のいずれか）。保存しませんでした",
        "the attribute {value!r} is not used (one of {allowed}); it was not stored",
    ),
    "date_in_future": (
        "「{value}」は未来の日付です",
        "{value!r} is in the future",
    ),
    "location_outside_district": (
        "位置（lat・lon）が district の地区から約 {km} km 離れています。緯度・経度か地区を"
        "確認してください",
        "the location (lat, lon) is about {km} km outside the district; check the "
        "coordinates or the district",
    ),
    "resident_not_pseudonym": (
        "resident には仮名の番号（英数字と - _ . : からなり数字を含むもの。例: R-3f9a）を書いて"
        "ください。氏名は書かないでください",
        "resident must be a pseudonymous reference (letters, digits and - _ . : with at least "
        "one digit, e.g. R-3f9a); never a name",
    ),
    "id_looks_like_name": (
        "id が人の名前のように見えます。番号（例: N-0001）を使ってください（氏名は書かないでください）",
        "the id looks like a person's name; use a number such as N-0001 (never a name)",
    ),
    "consent_by_unknown": (
        "consent_by には {allowed} のいずれかを書いてください（氏名は書かないでください）",
        "consent_by must be one of {allowed} (never a name)",
    ),
    "basis_missing": (
        "同意（consent_on）も法令上の根拠（basis）も記録されていません",
        "neither consent (consent_on) nor a statutory ground (basis) is recorded",
    ),
    "personal_field_ignored": (
        "「{field}」は個人を特定する情報のため保存しません（仮名の resident を使ってください）",
        "{field!r} identifies a person and is not stored (use a pseudonymous resident)",
    ),
    "unknown_field": (
        "項目「{field}」は使われません（無視しました）",
        "the field {field!r} is not used (ignored)",
    ),
    "too_long": (
        "{max} 文字を超えています",
        "longer than {max} characters",
    ),
    "nul_character": (
        "NUL 文字（\\x00）は使えません。その文字を消してから保存し直してください",
        "the NUL character (\\x00) is not allowed; remove it and save the file again",
    ),
    # needs: the same rules as above, told without the value (it may be personal data)
    "need_not_number": ("{field} は数値で書いてください", "{field} must be a number"),
    "need_not_integer": (
        "{field} は {low}〜{high} の整数にしてください",
        "{field} must be a whole number from {low} to {high}",
    ),
    "need_out_of_range": (
        "{field} は {low}〜{high} の範囲にしてください",
        "{field} must be between {low} and {high}",
    ),
    "need_coordinate_outside_japan": (
        "{axis}が日本の範囲（{low}〜{high}）にありません。緯度と経度が逆になっていないか確認してください",
        "the {axis} is outside Japan ({low}–{high}); check that latitude and longitude are "
        "not swapped",
    ),
    "need_not_a_date": (
        "{field} を日付として読めません（例: 2024-04-01、2024/4/1、令和6年4月1日）",
        "{field} is not a date (e.g. 2024-04-01, 2024/4/1, 令和6年4月1日)",
    ),
    "need_bad_era_date": (
        "{field} はその元号に存在しない日付です",
        "{field} is not a date of that era",
    ),
    "need_date_in_future": ("{field} が未来の日付です", "{field} is in the future"),
    "need_bad_weekday": (
        "{field} に曜日として読めない値があります（例: 月、火曜、水曜日、平日、土日）",
        "{field} holds a value that is not a weekday (e.g. 月, 火曜, 水曜日, 平日, 土日, Mon)",
    ),
    "need_not_a_time_range": (
        "{field} を時間帯として読めません（例: 07:00-09:00、10時～12時、午前）",
        "{field} is not a time range (e.g. 07:00-09:00, 10時～12時, 午前)",
    ),
    "need_end_before_start": (
        "{field} の終わりの時刻が始まりの時刻より前です",
        "in {field}, the end is not after the start",
    ),
    "need_bad_month": (
        "{field} に月（1〜12、冬、12月～3月）として読めない値があります",
        "{field} holds a value that is not a month (1–12, 冬, 12月～3月)",
    ),
    "need_not_boolean": (
        "{field} は true / false（あり / なし）で書いてください",
        "{field} must be true / false (あり / なし)",
    ),
    "need_bad_choice": (
        "{field} は {allowed} のいずれかにしてください",
        "{field} must be one of {allowed}",
    ),
    "need_unknown_attribute": (
        "{field} に使われない値がありました（{allowed} のいずれか）。保存しませんでした",
        "{field} held a value that is not used (one of {allowed}); it was not stored",
    ),
    "need_unknown_district": (
        "{field} の地区は登録されていません（地区の code か名前を書いてください）",
        "the district in {field} is not registered (write a district code or name)",
    ),
    "need_ambiguous_district": (
        "{field} の地区名は複数の地区にあります。地区の code で書いてください",
        "more than one district has the name in {field}; use its code",
    ),
    "need_district_not_leaf": (
        "{field} の地区は{level}です。ニーズには地区（行政区・町内会、level が district のもの）を"
        "指定してください",
        "the district in {field} is a {level}; a need must name a district (level district)",
    ),
    "need_unknown_category": (
        "{field} に分類表にない種別があります",
        "{field} holds a category that is not in the taxonomy",
    ),
    "need_unknown_category_suggest": (
        "{field} に分類表にない種別があります（候補: {suggestions}）",
        "{field} holds a category that is not in the taxonomy (did you mean: {suggestions})",
    ),
    # database errors (DatabaseProblem): names of columns and constraints only, never values
    "import_running": (
        "別の取り込みが実行中です。終わってからもう一度実行してください（何も書き込んでいません）",
        "another import is running; run this again when it has finished (nothing was written)",
    ),
    "db_duplicate": (
        "{column} が同じ行がすでにあります（{column} は重複できません）。別の取り込みと同時に"
        "実行した場合は、終わってからもう一度実行してください（何も書き込んでいません）",
        "a row with the same {column} already exists ({column} must be unique); if another "
        "import ran at the same time, run this again when it has finished (nothing was written)",
    ),
    "db_not_null": (
        "{column} が空のため保存できません（何も書き込んでいません）",
        "{column} is empty and cannot be stored (nothing was written)",
    ),
    "db_foreign_key": (
        "参照先のない値があるため保存できません（{column}）。取り込み中に参照先が削除された可能性が"
        "あります（何も書き込んでいません）",
        "a value refers to nothing ({column}); what it refers to may have been deleted "
        "meanwhile (nothing was written)",
    ),
    "db_check": (
        "データベースの規則 {constraint} に合わない値があるため保存できません（何も書き込んでいません）",
        "a value breaks the database rule {constraint} (nothing was written)",
    ),
    "db_nul": (
        "NUL 文字（\\x00）を含む値はデータベースに保存できません（何も書き込んでいません）",
        "a value with the NUL character (\\x00) cannot be stored (nothing was written)",
    ),
    "db_bad_value": (
        "データベースが値を受け付けませんでした（型・長さ・文字を確認してください。何も書き込んでいません）",
        "the database refused a value (check its type, length and characters; nothing was "
        "written)",
    ),
    "db_unavailable": (
        "データベースに接続できません。しばらくしてからもう一度実行してください（何も書き込んでいません）",
        "cannot reach the database; try again shortly (nothing was written)",
    ),
    "db_error": (
        "データベースの処理に失敗しました（{kind}）。何も書き込んでいません",
        "the database operation failed ({kind}); nothing was written",
    ),
}


def message(code: str, lang: str = "ja", **params: Any) -> str:
    """Return the message ``code`` in ``lang`` ('ja' or 'en'), filled with ``params``."""
    ja, en = MESSAGES[code]
    template = en if lang == "en" else ja
    return template.format(**params)

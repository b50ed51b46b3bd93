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
}


def message(code: str, lang: str = "ja", **params: Any) -> str:
    """Return the message ``code`` in ``lang`` ('ja' or 'en'), filled with ``params``."""
    ja, en = MESSAGES[code]
    template = en if lang == "en" else ja
    return template.format(**params)

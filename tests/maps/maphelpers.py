"""Plain-data inputs and HTML helpers shared by the map tests."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from shapely.geometry import box

from directory.map_data import CoordinatorResource, MapDistrict, PublicResource

# Codes and names without digits, so a test can say "no digit appears for this district".
TOWN = MapDistrict("TOWN", "みどり町", "municipality", None, box(140.0, 38.0, 140.2, 38.2))
AREA = MapDistrict("TOWN-EAST", "東地域", "area", "TOWN", box(140.1, 38.0, 140.2, 38.2))
NORTH = MapDistrict("TOWN-EAST-N", "北町", "district", "TOWN-EAST", box(140.1, 38.1, 140.2, 38.2))
SOUTH = MapDistrict("TOWN-EAST-S", "南町", "district", "TOWN-EAST", box(140.1, 38.0, 140.2, 38.1))
DISTRICTS = [TOWN, AREA, NORTH, SOUTH]


def public(
    external_id: str,
    name: str,
    categories: tuple[str, ...],
    lat: float | None,
    lon: float | None,
    **kw: Any,
) -> PublicResource:
    values: dict[str, Any] = {
        "districts": (),
        "schedule": "毎週 火 10:00～12:00",
        "phone": "0229-00-0001",
        "address": "みどり町一丁目",
        "place": "北町集会所",
        "status": "active",
        "last_verified_on": dt.date(2024, 4, 1),
    } | kw
    return PublicResource(external_id, name, categories, lat, lon, **values)


def coordinator(
    external_id: str,
    name: str,
    categories: tuple[str, ...],
    lat: float | None,
    lon: float | None,
    *,
    status: str = "active",
    public_flag: bool = True,
    **kw: Any,
) -> CoordinatorResource:
    values: dict[str, Any] = {
        "districts": (),
        "schedule": "毎週 火 10:00～12:00",
        "phone": "0229-00-0001",
        "address": "みどり町一丁目",
        "place": "北町集会所",
        "last_verified_on": dt.date(2024, 4, 1),
        "organization": "北町行政区",
    } | kw
    return CoordinatorResource(
        external_id, name, categories, lat, lon, status=status, public=public_flag, **values
    )


def island(html: str, prefix: str) -> Any:
    """The JSON data island whose id starts with ``prefix`` (the maps' data in a page)."""
    match = re.search(
        rf'<script type="application/json" id="{re.escape(prefix)}[^"]*">(.*?)</script>', html, re.S
    )
    assert match, f"no data island {prefix!r}"
    return json.loads(match.group(1))


#: The handout tests' data credits and resources (two on one hall, two without a place).
CREDITS = [
    {
        "source": "国土数値情報",
        "credit": "「国土数値情報（行政区域データ）（国土交通省）」を加工して作成",
    },
    "出典：テスト用の地区データ",
]

RESOURCES = [
    public("R-1", "北町ふれあいサロン", ("salon",), 38.15, 140.15),
    public("R-2", "北町お茶会", ("tea",), 38.15, 140.15),  # same hall as R-1
    public("R-3", "南町体操クラブ", ("exercise",), 38.05, 140.15),
    public("R-4", "みんなのサロン", ("salon", "watch"), 38.12, 140.12),
    public("R-5", "除雪ボランティア", ("snow",), None, None, districts=("TOWN-EAST-N",)),
    public("R-6", "お弁当の宅配", ("meals",), None, None, districts=("TOWN",)),
]

CDN_MARKERS = (
    "https://cdn",
    "cdnjs",
    "jsdelivr",
    "code.jquery",
    "netdna",
    "unpkg",
    "bootstrapcdn",
    "googleapis",
)


def unescaped(html: str) -> str:
    """The page with JavaScript's \\uXXXX and \\" escapes undone (folium's ``tojson`` writes
    tile attributions that way), so tests can look for the text a browser shows."""
    text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), html)
    return text.replace('\\"', '"')

"""The §3 columns (DATA_FORMATS §3, §3a): each column's canonical header and the other
names files give it (the standard set's, the open-data template's English keys, everyday
synonyms), the standard set's other columns that are kept but not interpreted, and how a
file's header row is found and mapped onto them (``--columns MAP.json`` included).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from directory.errors import InvalidInputError, Problem
from directory.text import normalize


@dataclass(frozen=True)
class Column:
    """One §3 column: its canonical header, the other headers that mean it, and its key."""

    key: str
    header: str
    aliases: tuple[str, ...] = ()
    required: bool = False


COLUMNS: tuple[Column, ...] = (
    Column("external_id", "ID", ("資源ID", "資源番号", "管理番号", "識別子", "id"), required=True),
    Column(
        "name",
        "名称",
        (
            "介護サービス事業所名称",
            "施設名",
            "施設名称",
            "名前",
            "資源名",
            "活動名",
            "団体・活動名",
            "サービス名",
            "事業名",
            "通いの場名称",
            "通いの場名",
            "サロン名",
            "グループ名",
            "教室名",
            "name",
        ),
        required=True,
    ),
    Column(
        "categories",
        "種別",
        (
            "実施サービス",
            "分類",
            "カテゴリ",
            "カテゴリー",
            "サービス種別",
            "種類",
            "資源種別",
            "活動種別",
            "活動の種類",
            "サービスの種類",
            "活動分類",
            "事業種別",
            "service",
            "category",
        ),
        required=True,
    ),
    Column(
        "kana", "名称_カナ", ("名称カナ", "ふりがな", "フリガナ", "よみがな", "カナ", "nameKana")
    ),
    Column("description", "説明", ("内容", "活動内容", "概要", "サービス内容", "description")),
    Column(
        "organization",
        "団体名",
        (
            "運営団体",
            "運営団体名",
            "実施主体",
            "運営主体",
            "事業者名",
            "法人名",
            "主催",
            "主催者",
            "organization",
            "corporateName",
        ),
    ),
    Column("address", "住所", ("所在地", "所在地_連結表記", "所在地住所", "address")),
    # The hall a salon meets in is the venue's name (see _create_venues).
    Column(
        "building",
        "方書",
        (
            "所在地_方書",
            "建物名",
            "会場",
            "会場名",
            "開催場所",
            "開催会場",
            "実施場所",
            "活動場所",
            "場所",
            "building",
            "addressBuilding",
        ),
    ),
    Column("lat", "緯度", ("latitude", "lat")),
    Column("lon", "経度", ("longitude", "lon", "lng")),
    Column(
        "districts",
        "対象地区",
        (
            "活動地区",
            "対象地域",
            "対象区域",
            "地区",
            "行政区",
            "活動範囲",
            "活動エリア",
            "対象エリア",
            "実施地区",
            "開催地区",
            "地区名",
        ),
    ),
    Column(
        "days",
        "利用可能曜日",
        ("曜日", "活動曜日", "開催曜日", "実施曜日", "availableDate", "availableDay"),
    ),
    # A time range in one cell (10:00～12:00) is read whole: 時間 columns map here.
    Column(
        "start",
        "開始時間",
        (
            "開始時刻",
            "開始",
            "時間",
            "時間帯",
            "開催時間",
            "活動時間",
            "実施時間",
            "利用時間",
            "利用可能時間",
            "startTime",
            "openingHours",
        ),
    ),
    Column("end", "終了時間", ("終了時刻", "終了", "endTime")),
    Column(
        "note",
        "利用可能日時特記事項",
        (
            "日時特記事項",
            "開催日",
            "活動日",
            "日程",
            "開催日時",
            "活動日時",
            "実施日",
            "開催頻度",
            "availableDateNote",
        ),
    ),
    Column("capacity", "定員", ("定員数", "capacity")),
    Column("vacancy", "空き", ("空き状況", "空き人数", "新規受入", "受入")),
    Column("fee", "費用", ("料金", "利用料", "利用料金", "参加費", "会費", "fee")),
    Column("eligibility", "対象者", ("対象", "利用対象者", "参加対象", "利用条件", "target")),
    Column("transport", "送迎", ("送迎の有無", "送迎有無")),
    Column(
        "phone",
        "電話番号",
        ("電話", "TEL", "連絡先電話番号", "連絡先", "問い合わせ先", "telephoneNumber", "phone"),
    ),
    Column("url", "URL", ("ホームページ", "HP", "ウェブサイト", "referenceObject", "website")),
    Column("status", "状態", ("活動状況", "状況", "活動状態")),
    Column("public", "公開", ("公開可否", "掲載", "掲載可否", "公開可")),
    Column("verified", "最終確認日", ("確認日", "更新日", "最終更新日", "情報確認日")),
    Column("notes", "備考", ("その他", "note", "notes", "remarks")),
)
# The days a resource is closed (DATA_FORMATS §3a): read with the schedule as 「…休み」 and
# stored in 利用可能日時特記事項, so it is not a column of its own on export.
CLOSED_DAYS = Column(
    "closed", "定休日", ("休館日", "休業日", "休日", "休所日", "regular_holiday", "closedDays")
)
BY_KEY = {c.key: c for c in (*COLUMNS, CLOSED_DAYS)}

# The standard set's address in parts: joined into 住所 when the file has no 住所.
_ADDRESS_PARTS = ("所在地_都道府県", "所在地_市区町村", "所在地_町字", "所在地_番地以下")

# Other columns of the Digital Agency standard set: kept with the resource (and written
# back on export) but not interpreted, and never reported as unknown.
STANDARD_EXTRA = (
    "都道府県コード又は市区町村コード",
    "地方公共団体コード",
    "NO",
    "都道府県名",
    "市区町村名",
    "名称_英字",
    "POIコード",
    "内線番号",
    "法人番号",
    "バリアフリー情報",
    "画像",
    "画像_ライセンス",
    "FAX番号",
    "メールアドレス",
    "駐車場情報",
    "アクセス方法",
    "緯度経度の測地系",
    "名称_通称",
    "郵便番号",
    "連絡先メールアドレス",
    "連絡先FormURL",
    "連絡先備考",
    *_ADDRESS_PARTS,
    # the same, under the open-data template's English keys (DATA_FORMATS §3a)
    "#property",
    "localGovernmentCode",
    "prefectureName",
    "cityName",
    "nameEn",
    "POICode",
    "extension",
    "FAXNumber",
    "corporateNumber",
    "barrierFreeInformation",
    "image",
    "imageLicense",
    "postalCode",
    "geodeticSystem",
    "emailAddress",
)

# When a file has no ID column, the standard set's row number is the id (§3a).
_ROW_NUMBER_HEADERS = ("NO", "No.", "番号", "#property")


def _norm_keys() -> dict[str, str]:
    keys: dict[str, str] = {}
    for column in (*COLUMNS, CLOSED_DAYS):
        for header in (column.header, *column.aliases):
            keys[normalize(header)] = column.key
    return keys


_HEADER_KEYS = _norm_keys()
_HEADER_REMARK = re.compile(r"(?:\([^()]*\)|\[[^\[\]]*\]|【[^【】]*】)$")
_EXTRA_KEYS = {normalize(h): h for h in STANDARD_EXTRA}


def _map_header(
    header: list[str], row: int = 1
) -> tuple[dict[str, int], list[tuple[int, str]], list[Problem], list[Problem]]:
    """Map the file's headers to §3 columns. When two headers mean one column, the §3 name
    wins (else the first); the other is kept as an extra column, with a warning."""
    index: dict[str, int] = {}
    extras: list[tuple[int, str]] = []
    errors: list[Problem] = []
    warnings: list[Problem] = []
    for i, raw in enumerate(header):
        if not raw:
            continue
        key = normalize(raw)
        column = _HEADER_KEYS.get(key)
        if column is None and key not in _EXTRA_KEYS:
            # 定員（人）, 緯度(世界測地系), 費用（円）: the name before a closing remark.
            bare = _HEADER_REMARK.sub("", key)
            if bare in _HEADER_KEYS or bare in _EXTRA_KEYS:
                key, column = bare, _HEADER_KEYS.get(bare)
        if column is not None:
            if column in index:
                first = header[index[column]]
                canonical = normalize(BY_KEY[column].header)
                if normalize(first) == canonical or key != canonical:
                    warnings.append(
                        Problem(
                            "duplicate_column", {"header": raw, "used": first}, row=row, column=raw
                        )
                    )
                    extras.append((i, raw))
                    continue
                warnings.append(
                    Problem(
                        "duplicate_column", {"header": first, "used": raw}, row=row, column=first
                    )
                )
                extras.append((index[column], first))
            index[column] = i
        elif key in _EXTRA_KEYS:
            extras.append((i, raw))
        else:
            warnings.append(Problem("unknown_column", {"header": raw}, row=row, column=raw))
    for spec in COLUMNS:
        if spec.required and spec.key not in index:
            errors.append(
                Problem("missing_column", {"header": spec.header}, row=row, column=spec.header)
            )
    return index, extras, errors, warnings


def _looks_like_header(cells: list[str]) -> bool:
    """A row naming at least two §3 columns (by any of their names) is the header; a
    title line above it (令和6年度 通いの場一覧) is not."""
    keys = [normalize(cell) for cell in cells if cell]
    return (
        sum(key in _HEADER_KEYS or _HEADER_REMARK.sub("", key) in _HEADER_KEYS for key in keys) >= 2
    )


_CODE_KEYS = frozenset(
    normalize(h)
    for h in ("都道府県コード又は市区町村コード", "地方公共団体コード", "localGovernmentCode")
)
_ROW_NUMBER_KEYS = frozenset(normalize(h) for h in _ROW_NUMBER_HEADERS)
_ADDRESS_KEYS = frozenset(normalize(h) for h in _ADDRESS_PARTS)


def read_column_map(path: Path) -> dict[str, str]:
    """``--columns MAP.json``: ``{"their column": "§3 column"}``; every target must be a
    column the importer knows (any of its names), else the map is refused whole."""
    from directory.tables import read_input

    name = str(path)
    try:
        doc = json.loads(read_input(path).decode("utf-8-sig"))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        raise InvalidInputError(
            name, [Problem("column_map_unreadable", {"detail": str(exc)})]
        ) from None
    if not isinstance(doc, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in doc.items()
    ):
        raise InvalidInputError(
            name,
            [Problem("column_map_unreadable", {"detail": '{"their column": "§3 column"}'})],
        )
    problems = [
        Problem("column_map_bad_target", {"header": k, "target": v}, column=k)
        for k, v in doc.items()
        if not _known_header(v)
    ]
    if problems:
        raise InvalidInputError(name, problems)
    return {k.strip(): v.strip() for k, v in doc.items()}


def _known_header(header: str) -> bool:
    key = normalize(header)
    return key in _HEADER_KEYS or key in _EXTRA_KEYS or key in _ROW_NUMBER_KEYS

"""Import and export resources as municipal CSV/XLSX files (DATA_FORMATS §3).

Files come as coordinators keep them: Shift_JIS or UTF-8, columns in any order, the
Digital Agency standard set's headers or their everyday synonyms, schedules in ordinary
Japanese. Every row is checked before anything is written; a file with any error writes
nothing and reports every error as ``FILE:ROW:COLUMN: reason``.

Speed matters (a national directory holds ~150,000 rows), so cells are parsed through
per-column memo tables (values repeat heavily) and rows are written with bulk statements.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
import typing
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from dataclasses import replace as replace_problem
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import sqlalchemy as sa
from sqlalchemy import JSON, Text, bindparam, cast, delete, func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from directory import schedules as sched
from directory.attributes import attributes_in
from directory.bulk import bulk_insert_columns, gc_paused, insert_returning_ids, large_cache
from directory.db import import_lock
from directory.distance import haversine_m
from directory.errors import (
    NUL,
    ConcurrentEditError,
    InvalidInputError,
    Problem,
    UnknownCategoryError,
)
from directory.geography import (
    ImportResult,
    districts_frame,
    locate_points,
    nearest_within,
    pairs_within,
)
from directory.models import (
    Base,
    District,
    Organization,
    Resource,
    Schedule,
    Venue,
    resource_category,
    resource_district,
    utcnow,
)
from directory.queries import ancestor_at, ancestor_map
from directory.state import bump
from directory.tables import Table, read_table
from directory.taxonomy import load_taxonomy, split_categories
from directory.text import normalize

Progress = Callable[[str, int, int], None]


def _table(model: type[Base]) -> sa.Table:
    """A model's table. DeclarativeBase types ``__table__`` as a FromClause (it may be a
    join or a subquery); every model here is mapped to a plain Table."""
    return typing.cast(sa.Table, model.__table__)


# --------------------------------------------------------------------------- columns


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

_STATUS = {
    "活動中": "active",
    "実施中": "active",
    "active": "active",
    "開催中": "active",
    "休止中": "paused",
    "休止": "paused",
    "活動休止": "paused",
    "paused": "paused",
    "終了": "ended",
    "廃止": "ended",
    "活動終了": "ended",
    "ended": "ended",
}
_STATUS_LABEL = {"active": "活動中", "paused": "休止中", "ended": "終了"}
_YES_NO = {
    "あり": True,
    "有": True,
    "有り": True,
    "○": True,
    "〇": True,
    "はい": True,
    "yes": True,
    "true": True,
    "可": True,
    "1": True,
    "なし": False,
    "無": False,
    "無し": False,
    "×": False,
    "いいえ": False,
    "no": False,
    "false": False,
    "不可": False,
    "否": False,
    "0": False,
}
_PUBLIC = {
    "可": True,
    "公開": True,
    "公開可": True,
    "はい": True,
    "○": True,
    "〇": True,
    "yes": True,
    "true": True,
    "1": True,
    "公開する": True,
    "掲載": True,
    "掲載可": True,
    "掲載する": True,
    "否": False,
    "非公開": False,
    "不可": False,
    "公開不可": False,
    "いいえ": False,
    "×": False,
    "no": False,
    "false": False,
    "0": False,
    "公開しない": False,
    "非掲載": False,
    "掲載不可": False,
    "掲載しない": False,
}
WHOLE_AREA = {"全域", "全地区", "町内全域", "市内全域", "村内全域", "区内全域"}
VENUE_LINK_M = 50.0
_LAT, _LON = (20.0, 46.0), (122.0, 154.0)


def _norm_keys() -> dict[str, str]:
    keys: dict[str, str] = {}
    for column in (*COLUMNS, CLOSED_DAYS):
        for header in (column.header, *column.aliases):
            keys[normalize(header)] = column.key
    return keys


_HEADER_KEYS = _norm_keys()
_HEADER_REMARK = re.compile(r"(?:\([^()]*\)|\[[^\[\]]*\]|【[^【】]*】)$")
_EXTRA_KEYS = {normalize(h): h for h in STANDARD_EXTRA}


# ------------------------------------------------------------------------- parsing


class CellError(ValueError):
    """A cell that cannot be used: ``code`` and ``params`` select the message."""

    def __init__(self, code: str, **params: Any):
        super().__init__(code)
        self.code = code
        self.params = params


@lru_cache(maxsize=65536)
def parse_int(cell: str) -> int | None:
    """定員: 20, 20人, 約20名, 20名程度, 最大20人; None for no limit (なし, 制限なし, 無制限)."""
    text = _without_remark(normalize(cell)).replace(",", "")
    if text in _NO_LIMIT:
        return None
    m = _CAPACITY.fullmatch(text)
    if not m:
        raise CellError("not_integer", value=cell)
    return int(m[1])


_NO_LIMIT = frozenset(
    normalize(w)
    for w in (
        "なし",
        "無し",
        "制限なし",
        "定員なし",
        "無制限",
        "特になし",
        "-",
        "ー",
        "―",
        "なし(自由参加)",
    )
)
_CAPACITY = re.compile(
    r"(?:約|およそ|最大|定員)?(\d+)(?:人|名)?(?:程度|くらい|ぐらい|まで|以内|前後)?"
)
# A remark closing a cell: あり（要予約）, 休止中（令和6年4月～）. After NFKC brackets are ASCII.
_REMARK_TAIL = re.compile(r"(?:\([^()]*\)|\[[^\[\]]*\]|【[^【】]*】)+$")


def _without_remark(text: str) -> str:
    """``text`` without a closing remark in brackets (unless that is all there is)."""
    return _REMARK_TAIL.sub("", text) or text


@lru_cache(maxsize=65536)
def parse_coordinate(cell: str, axis: str) -> float:
    try:
        value = float(cell)  # most cells are plain ASCII numbers
    except ValueError:
        try:
            value = float(normalize(cell))  # full-width digits, a stray space
        except ValueError:
            raise CellError("not_number", value=cell) from None
    low, high = _LAT if axis == "lat" else _LON
    if not (low <= value <= high) or math.isnan(value):
        raise CellError(
            "coordinate_outside_japan",
            value=cell,
            low=low,
            high=high,
            axis="緯度" if axis == "lat" else "経度",
        )
    return value


_ERA_LETTERS = {"r": "令和", "h": "平成", "s": "昭和"}
_ISO_DATE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})")
_KANJI_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")
_ERA_DATE = re.compile(
    r"(令和|平成|昭和|[rhs])\.?(元|\d{1,2})[年.\-/](\d{1,2})[月.\-/](\d{1,2})日?"
)


@lru_cache(maxsize=65536)
def parse_date(cell: str) -> dt.date:
    """2024-04-01, 2024/4/1, 2024年4月1日, 令和6年4月1日, 令和元年5月1日, R6.4.1.

    Era dates are checked against the era's span with japanera: 令和1年4月1日 (before
    令和 began) and 平成32年 are errors, not guesses.
    """
    text = normalize(cell)
    text = (
        text.split(" ")[0]
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}[ t]\d{2}:\d{2}(:\d{2})?", text)
        else text
    )
    for pattern in (_ISO_DATE, _KANJI_DATE):
        m = pattern.fullmatch(text)
        if m:
            try:
                return dt.date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                raise CellError("not_a_date", value=cell) from None
    m = _ERA_DATE.fullmatch(text)
    if m:
        from japanera import EraDate

        era = _ERA_LETTERS.get(m[1], m[1])
        year = "元" if m[2] in ("元", "1") and era == "令和" and m[2] == "元" else m[2]
        try:
            found = EraDate.strptime(
                f"{era}{year}年{int(m[3])}月{int(m[4])}日", "%-K%-y年%-m月%-d日"
            )
        except ValueError:
            found = []
        if not found:
            raise CellError("bad_era_date", value=cell)
        d = found[0]
        return dt.date(d.year, d.month, d.day)
    raise CellError("not_a_date", value=cell)


_MONTH_ONLY = re.compile(
    r"(?P<y>\d{4})(?:[-/.]|年)(?P<m>\d{1,2})月?"
    r"|(?P<era>令和|平成|昭和|[rhs])\.?(?P<ey>元|\d{1,2})[年.\-/](?P<em>\d{1,2})月?"
)


@lru_cache(maxsize=65536)
def parse_verified(cell: str) -> dt.date:
    """最終確認日: a date (see :func:`parse_date`), or a month (2024年4月, 令和6年4月,
    2024/4), read as its first day: lists are often confirmed 'as of' a month."""
    try:
        return parse_date(cell)
    except CellError as exc:
        m = _MONTH_ONLY.fullmatch(normalize(cell))
        if not m:
            raise
        if m["y"]:
            first = f"{m['y']}-{int(m['m']):02d}-01"
        else:
            first = f"{m['era']}{m['ey']}年{m['em']}月1日"
        try:
            return parse_date(first)
        except CellError:
            raise exc from None


@lru_cache(maxsize=4096)
def parse_choice(cell: str, table: str) -> Any:
    """状態, 送迎/空き (あり・なし) and 公開 (可・否) as people write them: the word, maybe
    with a remark (あり（要予約）, 休止中（令和6年4月～）); 状態 also by its key word
    (活動休止 → 休止, 令和5年度で終了 → 終了). Anything else is an error, never a guess."""
    tables: dict[str, Mapping[str, str | bool]] = {
        "status": _STATUS,
        "yesno": _YES_NO,
        "public": _PUBLIC,
    }
    mapping = tables[table]
    text = normalize(cell)
    for key in (text, _without_remark(text)):
        if key in mapping:
            return mapping[key]
    key = _without_remark(text)
    if table == "status":
        found = {status for status, words in _STATUS_WORDS for w in words if w in key}
        if len(found) == 1:  # 休止から再開 names two states: an error, not a guess
            return found.pop()
    elif table == "yesno":
        for value, prefixes in _YES_NO_PREFIXES:
            if key.startswith(prefixes):  # あり・要予約, なし(徒歩のみ)
                return value
    allowed = {"status": "活動中・休止中・終了", "yesno": "あり・なし", "public": "可・否"}[table]
    raise CellError("bad_choice", value=cell, allowed=allowed)


_STATUS_WORDS = (
    ("paused", ("休止", "休会", "中止中", "お休み")),
    ("ended", ("終了", "廃止", "解散", "閉鎖")),
    ("active", ("活動中", "実施中", "開催中", "継続", "運営中", "再開")),
)
_YES_NO_PREFIXES = ((True, ("あり", "有り", "はい")), (False, ("なし", "無し", "いいえ")))


@lru_cache(maxsize=4096)
def parse_vacancy(cell: str) -> tuple[bool | None, int | None]:
    """空き: あり / なし / seats left (3, 残り3, 3名). A number is always a count: 「1」 is one
    seat left, not the yes/no table's 1 (=あり), which would lose the count."""
    text = _without_remark(normalize(cell))
    m = re.fullmatch(r"(?:残り|あと|空き)?(\d+)(?:人|名|席)?", text)
    if m:
        seats = int(m[1])
        return seats > 0, seats
    if text in _YES_NO:
        return _YES_NO[text], None
    raise CellError("bad_choice", value=cell, allowed="あり・なし・残りの人数")


@lru_cache(maxsize=16384)
def parse_fee(cell: str) -> int | None:
    text = normalize(cell)
    if text in ("無料", "0円", "0", "なし", "無償"):
        return 0
    m = re.search(r"(\d[\d,]*)円", text)
    return int(m[1].replace(",", "")) if m else None


@lru_cache(maxsize=16384)
def parse_eligibility(cell: str) -> tuple[int | None, tuple[str, ...]]:
    """対象者: the minimum age (65歳以上) and the attributes the matcher understands,
    read with the needs' synonyms (:mod:`directory.attributes`)."""
    m = re.search(r"(\d+)歳以上", normalize(cell))
    return (int(m[1]) if m else None), attributes_in(cell)


@lru_cache(maxsize=65536)
def _categories(cell: str) -> tuple[str, ...]:
    taxonomy = load_taxonomy()
    codes: list[str] = []
    for part in split_categories(cell):
        try:
            codes.append(taxonomy.resolve(part).code)
        except UnknownCategoryError:
            # 訪問介護・通所介護: a list joined with ・ when every part is a category (・ is
            # part of labels, so this is tried only when the whole is unknown)
            pieces = [p for p in part.split("・") if p.strip()]
            if len(pieces) < 2:
                raise
            try:
                codes.extend(taxonomy.resolve(p).code for p in pieces)
            except UnknownCategoryError:
                raise UnknownCategoryError(part, taxonomy.suggest(part)) from None
    return tuple(dict.fromkeys(codes))


@lru_cache(maxsize=1)
def _name_suffixes() -> tuple[tuple[str, str], ...]:
    """(normalised spelling, code) of every Japanese label and synonym, longest first:
    the endings by which a name says what it is (○○老人いこいの家, ○○地域包括支援センター)."""
    found: dict[str, str] = {}
    for cat in load_taxonomy():
        for spelling in (cat.label_ja, *cat.synonyms):
            key = normalize(spelling)
            if len(key) >= 2:
                found.setdefault(key, cat.code)
    return tuple(sorted(found.items(), key=lambda kv: -len(kv[0])))


@lru_cache(maxsize=16384)
def category_from_name(name: str) -> str | None:
    """The category a name states unambiguously by its ending (「中央老人いこいの家」 →
    gathering, 「北部地域包括支援センター」 → consultation), for a row whose 種別 is empty
    (§3a); None when no ending names one, or two endings of the same length disagree."""
    key = _without_remark(normalize(name))
    best: tuple[int, str] | None = None
    for suffix, code in _name_suffixes():
        if best is not None and len(suffix) < best[0]:
            break
        if key.endswith(suffix):
            if best is not None and best[1] != code:
                return None
            best = (len(suffix), code)
    return best[1] if best else None


@lru_cache(maxsize=65536)
def _time_cell(cell: str) -> tuple[dt.time, dt.time | None]:
    """開始時間/終了時間: one time, or a whole range written in one cell."""
    try:
        return sched.parse_time(cell), None
    except ValueError:
        try:
            start, end = sched.parse_time_range(cell)
        except ValueError:
            raise CellError("not_a_time", value=cell) from None
        return start, end


def _fmt_time(t: dt.time) -> str:
    return f"{t.hour}:{t.minute:02d}"


def schedule_text(days: str | None, start: str | None, end: str | None, note: str | None) -> str:
    """The one text the schedule parser reads: weekdays, times, then the special notes."""
    times = ""
    if start and end:
        times = f"{start}～{end}"
    elif start:
        times = f"{start}～"
    elif end:
        times = f"～{end}"
    return " ".join(part for part in (days, times, note) if part)


# --------------------------------------------------------------- checking, by column


@dataclass
class Checked:
    """The file's rows after checking, column by column (150,000 dicts would not fit the
    memory budget, and columns go straight into the bulk INSERT)."""

    rows: list[int]  # the user's row numbers
    values: dict[str, list[Any]]  # Resource column → one value per row
    categories: list[tuple[str, ...]]
    district_ids: list[tuple[int, ...]]
    schedules: list[tuple[dict[str, Any], ...]]  # Schedule rows (ScheduleParse.as_rows)
    organization: list[str | None]

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class _Context:
    path: str
    header: list[str]
    header_index: dict[str, int]
    extra_columns: list[tuple[int, str]]
    districts_by_code: dict[str, int]
    districts_by_name: dict[str, list[int]]
    municipalities: list[tuple[int, str]]  # (id, code)
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    id_from_number: bool = False  # no ID column: NO / #property is the id (§3a)
    id_prefix: str = ""  # --id-prefix: prepended to every id of the file
    import_day: dt.date | None = None  # anchors 隔週 with no date written (see _row_schedule)


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


def _district_lookup(
    session: Session,
) -> tuple[dict[str, int], dict[str, list[int]], list[tuple[int, str]]]:
    by_code: dict[str, int] = {}
    by_name: dict[str, list[int]] = defaultdict(list)
    municipalities: list[tuple[int, str]] = []
    for d in session.execute(select(District.id, District.code, District.name, District.level)):
        by_code[normalize(d.code)] = d.id
        by_name[normalize(d.name)].append(d.id)
        if d.level == "municipality":
            municipalities.append((d.id, d.code))
    return by_code, dict(by_name), municipalities


_JAPAN = ZoneInfo("Asia/Tokyo")


def _import_day() -> dt.date:
    """Today in Japan: the day a file is imported, whatever the server's clock zone."""
    return dt.datetime.now(_JAPAN).date()


def _prefix(id_prefix: str | None) -> str:
    """``--id-prefix P``: ids become ``P-<id>`` (no second separator when P ends in one)."""
    if not id_prefix:
        return ""
    return id_prefix if id_prefix[-1] in "-_:/." else f"{id_prefix}-"


def parse_rows(
    table: Table,
    session: Session,
    path: str,
    progress: Progress | None = None,
    *,
    id_prefix: str | None = None,
    today: dt.date | None = None,
) -> tuple[Checked, _Context]:
    """Check every cell of every row; collect all errors and warnings (nothing written).

    ``today`` is the import day (default: today in Japan): 隔週 with no date in the text
    counts its weeks from its first occurrence on or after it.

    Works column by column: each distinct value of a column is parsed once (values
    repeat heavily at national scale), and errors are sorted back into row order, each
    row's in the order its columns are checked. Consumes ``table.rows``.
    """
    index, extras, errors, warnings = _map_header(table.header, table.header_row)
    if table.header_row > 1:
        warnings.insert(0, Problem("header_row", {"row": table.header_row}, row=table.header_row))
    if table.sheet is not None:
        warnings.insert(0, Problem("sheet_used", {"sheet": table.sheet}))
    id_from_number = False
    if "external_id" not in index:
        number = next(
            (i for i, h in enumerate(table.header) if normalize(h) in _ROW_NUMBER_KEYS), None
        )
        if number is not None:  # NO / #property is the id (§3a)
            index["external_id"] = number
            id_from_number = True
            errors = [e for e in errors if e.column != BY_KEY["external_id"].header]
            warnings = [
                w
                for w in warnings
                if not (w.code == "unknown_column" and w.column == table.header[number])
            ]
    by_code, by_name, municipalities = _district_lookup(session)
    ctx = _Context(
        path,
        table.header,
        index,
        extras,
        by_code,
        by_name,
        municipalities,
        errors,
        warnings,
        id_from_number,
        _prefix(id_prefix),
        today or _import_day(),
    )
    if errors:
        return Checked([], {}, [], [], [], []), ctx
    check = _Check(ctx, table, progress)
    checked = check.run()
    ctx.errors.sort(key=lambda p: p.row or 0)  # stable: within a row, in check order
    return checked, ctx


_CHECK_STEPS = 8  # progress steps of _Check.run


class _Check:
    """One file's columns and the errors found in them (see :func:`parse_rows`)."""

    def __init__(self, ctx: _Context, table: Table, progress: Progress | None) -> None:
        self.ctx = ctx
        self.progress = progress
        self.rows = [number for number, _ in table.rows]
        self.n = len(self.rows)
        # Transposed once. Rows are at least as wide as the header (tables._table), so
        # zip only drops cells beyond it, which no column names.
        rows = (cells for _, cells in table.rows)
        columns = list(zip(*rows, strict=False)) if table.rows else []
        width = min(len(table.header), len(columns))
        table.rows = []  # the raw cells are not needed any more
        self.cells: dict[str, list[str | None]] = {
            key: _clean(columns[i]) for key, i in ctx.header_index.items() if i < width
        }
        self.extras: list[tuple[str, list[str | None]]] = [
            (header, _clean(columns[i])) for i, header in ctx.extra_columns if i < width
        ]
        del columns
        # 市区町村コード columns, for 全域 (see _whole_area)
        extras = [(normalize(header), column) for header, column in self.extras]
        self.codes = [column for key, column in extras if key in _CODE_KEYS]
        parts = [column for key, column in extras if key in _ADDRESS_KEYS]
        if parts and "address" not in self.cells:  # 所在地_都道府県 + … + 所在地_番地以下
            self.cells["address"] = [
                "".join(p for p in row if p) or None for row in zip(*parts, strict=True)
            ]
        self.none: list[str | None] = [None] * self.n
        self.errored: set[int] = set()  # row indexes with an error so far

    def column(self, key: str) -> list[str | None]:
        return self.cells.get(key, self.none)

    def error(self, n: int, key: str, code: str, **params: Any) -> None:
        self.errored.add(n)
        self.ctx.errors.append(
            Problem(code, params, row=self.rows[n], column=_header_of(self.ctx, key))
        )

    def parsed(self, key: str, fn: Callable[..., Any], *args: Any) -> list[Any]:
        """``fn(cell, *args)`` for every cell of the column (once per distinct cell);
        a :class:`CellError` is reported on every row that has that cell, as None."""
        column = self.cells.get(key)
        if column is None:
            return [None] * self.n  # a fresh list: callers complete it in place
        memo: dict[str | None, Any] = {}
        failed = False
        for cell in set(column):
            if cell is None:
                continue
            try:
                memo[cell] = fn(cell, *args)
            except CellError as exc:
                memo[cell], failed = exc, True
        out = list(map(memo.get, column))  # None cells: None
        if failed:
            for n, value in enumerate(out):
                if isinstance(value, CellError):
                    self.error(n, key, value.code, **value.params)
                    out[n] = None
        return out

    def step(self, k: int) -> None:
        if self.progress:
            self.progress("check", k * self.n // _CHECK_STEPS, self.n)

    def run(self) -> Checked:
        n = self.n
        values: dict[str, list[Any]] = {}
        self.step(0)
        self._nul_characters()
        self._identity(values)
        categories = self._categories()
        for key in (
            "kana",
            "description",
            "address",
            "building",
            "phone",
            "url",
            "notes",
            "fee",
            "eligibility",
        ):
            values[key] = self.column(key)
        from directory.tables import unsafe_url  # javascript: / data: links are refused

        for index, url in enumerate(values["url"]):  # (n is the row count here)
            if url and unsafe_url(url):
                self.error(index, "url", "unsafe_url", value=url)
        values["name_key"] = [normalize(name) if name else "" for name in values["name"]]
        self.step(2)
        self._coordinates(values)
        values["capacity"] = self.parsed("capacity", parse_int)
        vacancy = self.parsed("vacancy", parse_vacancy)
        values["accepts_new"] = [v[0] if v else None for v in vacancy]
        values["seats_left"] = [v[1] if v else None for v in vacancy]
        values["fee_yen"] = self.parsed("fee", parse_fee)
        eligibility = self.parsed("eligibility", _eligibility)
        values["min_age"] = [e[0] if e else None for e in eligibility]
        values["eligibility_attributes"] = [e[1] if e else _NO_ATTRIBUTES for e in eligibility]
        values["transport"] = self.parsed("transport", parse_choice, "yesno")
        status = self.parsed("status", parse_choice, "status")
        public = self.parsed("public", parse_choice, "public")
        values["public"] = [True if p is None else p for p in public]
        values["last_verified_on"] = self.parsed("verified", parse_verified)
        self.step(4)
        schedules = self._schedules(values, status)
        self.step(6)
        district_ids = self._districts()
        values["extra"] = self._extra()
        self.step(_CHECK_STEPS)
        return Checked(
            self.rows,
            values,
            categories,
            district_ids,
            schedules,
            self.column("organization")[:] if n else [],
        )

    def _nul_characters(self) -> None:
        """Refuse NUL (\\x00) in any cell, on its row and column: PostgreSQL cannot store it
        and SQLite would, so it is a file problem on both engines. Later checks see the cell
        without it. One join per column keeps the scan cheap at national scale."""
        columns = [(key, c, True) for key, c in self.cells.items()]
        columns += [(header, c, False) for header, c in self.extras]
        for name, column, known in columns:
            if NUL not in "".join(filter(None, column)):
                continue
            for n, cell in enumerate(column):
                if cell and NUL in cell:
                    if known:
                        self.error(n, name, "nul_character")
                    else:  # a kept standard-set column: named by its header
                        self.errored.add(n)
                        self.ctx.errors.append(
                            Problem("nul_character", row=self.rows[n], column=name)
                        )
                    column[n] = cell.replace(NUL, "") or None

    def _identity(self, values: dict[str, list[Any]]) -> None:
        for key in ("external_id", "name"):
            column = self.column(key)
            for n in [n for n, v in enumerate(column) if v is None]:
                self.error(n, key, "required")
            values[key] = column
        ids = values["external_id"]
        if self.ctx.id_from_number:  # <municipality code>-<NO> when the row names its code
            codes = [next((c[n] for c in self.codes if c[n]), None) for n in range(self.n)]
            ids = [
                None if v is None else (f"{_municipality(code)}-{v}" if code else v)
                for v, code in zip(ids, codes, strict=True)
            ]
        if self.ctx.id_prefix:
            ids = [None if v is None else self.ctx.id_prefix + v for v in ids]
        values["external_id"] = ids
        seen: dict[str, int] = {}
        for n, external_id in enumerate(values["external_id"]):
            if external_id is None:
                continue
            first = seen.setdefault(external_id, n)
            if first != n:
                self.error(
                    n, "external_id", "duplicate_id", value=external_id, other=self.rows[first]
                )

    def _categories(self) -> list[tuple[str, ...]]:
        column = self.cells.get("categories", self.none)
        errored_before = set(self.errored)
        names = self.column("name")
        filled: dict[int, tuple[str, ...]] = {}
        for n in [n for n, v in enumerate(column) if v is None]:
            code = category_from_name(names[n]) if names[n] else None
            if code is None:
                self.error(n, "categories", "required")
                continue
            filled[n] = (code,)  # an empty 種別 the name states (§3a): a warning
            self.ctx.warnings.append(
                Problem(
                    "category_from_name",
                    {"category": load_taxonomy()[code].label_ja},
                    row=self.rows[n],
                    column=_header_of(self.ctx, "categories"),
                )
            )
        memo: dict[str, tuple[str, ...] | UnknownCategoryError] = {}
        out: list[tuple[str, ...]] = []
        for n, cell in enumerate(column):
            if cell is None:
                out.append(filled.get(n, ()))
                continue
            found = memo.get(cell)
            if found is None:
                try:
                    found = _categories(cell)
                except UnknownCategoryError as exc:
                    found = exc
                memo[cell] = found
            if isinstance(found, UnknownCategoryError):
                code = "unknown_category_suggest" if found.suggestions else "unknown_category"
                self.error(
                    n,
                    "categories",
                    code,
                    value=found.text,
                    suggestions="、".join(found.suggestions),
                )
                out.append(())
                continue
            if not found and n not in errored_before:
                self.error(n, "categories", "required")
            out.append(found)
        return out

    def _coordinates(self, values: dict[str, list[Any]]) -> None:
        lat = self.parsed("lat", parse_coordinate, "lat")
        lon = self.parsed("lon", parse_coordinate, "lon")
        has_lat, has_lon = self.column("lat"), self.column("lon")
        for n in range(self.n):
            if (has_lat[n] is None) != (has_lon[n] is None):
                self.error(n, "lon" if has_lat[n] is not None else "lat", "coordinate_pair")
            if lat[n] is None or lon[n] is None:
                lat[n] = lon[n] = None
        values["lat"], values["lon"] = lat, lon

    def _schedules(
        self, values: dict[str, list[Any]], status: list[str | None]
    ) -> list[tuple[dict[str, Any], ...]]:
        """The time cells must be times (an error); the rest is read by the schedule
        parser, and what it cannot understand is a warning, never a guess."""
        days, start, end, note = (self.column(k) for k in ("days", "start", "end", "note"))
        if "closed" in self.cells:  # 定休日: read as 「…休み」 after the notes (§3a)
            note = [
                " ".join(p for p in (cell, _closed_phrase(closed)) if p) or None
                for cell, closed in zip(note, self.cells["closed"], strict=True)
            ]
        memo: dict[tuple[str | None, ...], _RowSchedule] = {}
        schedules: list[tuple[dict[str, Any], ...]] = []
        understood: list[bool] = []
        for n, key in enumerate(zip(days, start, end, note, strict=True)):
            found = memo.get(key)
            if found is None:
                found = memo[key] = _row_schedule(*key, anchor_from=self.ctx.import_day)
            for column, code, params in found.errors:
                self.error(n, column, code, **params)
            if found.not_understood is not None:
                column = "note" if self.column("note")[n] else "days"
                if column == "days" and not key[0]:
                    column = next(
                        (k for k in ("closed", "start", "end") if self.column(k)[n]), "days"
                    )
                self.ctx.warnings.append(
                    Problem(
                        "schedule_not_understood",
                        {"value": found.not_understood},
                        row=self.rows[n],
                        column=_header_of(self.ctx, column),
                    )
                )
            schedules.append(found.rows)
            understood.append(found.understood)
            if status[n] is None:
                status[n] = "paused" if found.paused else "active"
        values["schedule_days"], values["schedule_start"] = days, start
        values["schedule_end"], values["schedule_note"] = end, note
        values["schedule_understood"] = understood
        values["status"] = status
        return schedules

    def _districts(self) -> list[tuple[int, ...]]:
        column = self.cells.get("districts", self.none)
        memo: dict[str, tuple[tuple[int, ...], list[tuple[str, dict[str, str]]]] | None] = {}
        out: list[tuple[int, ...]] = []
        for n, cell in enumerate(column):
            if cell is None:
                out.append(())
                continue
            if cell in memo:
                found = memo[cell]
            else:
                found = memo[cell] = _district_cell(self.ctx, cell)
            if found is None:  # 全域 among several municipalities: the row's own code decides
                code = next((c[n] for c in self.codes if c[n] is not None), None)
                found = _district_cell(self.ctx, cell, code)
                assert found is not None
            ids, problems = found
            for code, params in problems:
                self.error(n, "districts", code, **params)
            out.append(ids)
        return out

    def _extra(self) -> list[dict[str, Any]]:
        if not self.extras:
            return [_NO_EXTRA] * self.n
        headers = [h for h, _ in self.extras]
        return [
            {h: v for h, v in zip(headers, cells, strict=True) if v is not None} or _NO_EXTRA
            for cells in zip(*(c for _, c in self.extras), strict=True)
        ]


_NO_ATTRIBUTES: list[str] = []  # shared, never mutated: one JSON value for the bulk INSERT
_NO_EXTRA: dict[str, Any] = {}


def _clean(cells: Sequence[str | None]) -> list[str | None]:
    """Cells stripped, empty ones None, a leading ' our export wrote before a formula
    character removed (see :func:`_safe_cell`). One comprehension: measured faster than
    memoising distinct cells or checking the joined column with a regex first."""
    return [
        (s if s[0] != "'" or s[1:2] not in _FORMULA_START else s[1:])
        if cell and (s := cell.strip())
        else None
        for cell in cells
    ]


@lru_cache(maxsize=16384)
def _municipality(code: str) -> str:
    """A municipality code as stored in ids: the 5 digits of a 6-digit code (the last is a
    check digit, which some lists write and others leave out), else as written."""
    text = normalize(code)
    return text[:5] if re.fullmatch(r"\d{6}", text) else text


def _eligibility(cell: str) -> tuple[int | None, list[str]]:
    min_age, attributes = parse_eligibility(cell)
    return min_age, list(attributes)


@dataclass(frozen=True)
class _RowSchedule:
    """What one combination of the four schedule cells gives (the same for every row)."""

    errors: list[tuple[str, str, dict[str, Any]]]  # (column key, code, params)
    rows: tuple[dict[str, Any], ...]
    understood: bool
    paused: bool
    not_understood: str | None  # the warning's text, when some of it is not understood


def _row_schedule(
    days: str | None,
    start: str | None,
    end: str | None,
    note: str | None,
    *,
    anchor_from: dt.date | None = None,
) -> _RowSchedule:
    errors: list[tuple[str, str, dict[str, Any]]] = []

    def time_cell(key: str, cell: str | None) -> tuple[dt.time, dt.time | None] | None:
        if cell is None:
            return None
        try:
            return _time_cell(cell)
        except CellError as exc:
            errors.append((key, exc.code, exc.params))
            return None

    words: list[str] = []  # schedule words written in a time column (§3a)
    if start is not None and _schedule_words(start):
        words.append(start)
        start = None
    if end is not None and _schedule_words(end):
        words.append(end)
        end = None
    start_cell, end_cell = time_cell("start", start), time_cell("end", end)
    start_time = start_cell[0] if start_cell else None
    end_time = start_cell[1] if start_cell and start_cell[1] else None
    if end_cell is not None:
        if end_cell[1] is not None:
            errors.append(("end", "not_a_time", {"value": end}))
        elif end_time is None:
            end_time = end_cell[0]
    if start_time is not None and end_time is not None and end_time <= start_time:
        errors.append(("end", "end_before_start", {"start": start, "end": end or start}))
    source = schedule_text(
        days,
        _fmt_time(start_time) if start_time else None,
        _fmt_time(end_time) if end_time else None,
        " ".join(p for p in (*words, note) if p) or None,
    )
    if not source:
        return _RowSchedule(errors, (), True, False, None)
    parsed = sched.parse_schedule(source, anchor_from=anchor_from)
    not_understood = None
    if not parsed.understood:
        not_understood = "、".join(parsed.not_understood) or source
    return _RowSchedule(
        errors, tuple(parsed.as_rows()), parsed.understood, parsed.paused, not_understood
    )


_TIME_LIKE = re.compile(r"[\d:.時分半頃ごろ~〜～\-ー－‐午前後am pm]+")
_NO_CLOSED_DAYS = frozenset(
    normalize(w)
    for w in (
        "なし",
        "無し",
        "無休",
        "年中無休",
        "-",
        "ー",
        "―",
        "特になし",
        "定休日なし",
        "休館日なし",
    )
)
_CLOSED_SEPARATORS = re.compile(r"[、,，､/／]\s*|\s+")
_CLOSED_TAIL = re.compile(r"(?:休み|休館日?|休業日?|定休日?|休所日?|休日|閉館)$")


@lru_cache(maxsize=4096)
def _schedule_words(cell: str) -> bool:
    """Whether a time cell holds schedule words (「休止中」, 「毎月第4水曜日」) rather than a
    time: not a time, and not digits and time marks that merely fail to be one (25:99,
    10時～ 9時 stay errors in their column)."""
    try:
        _time_cell(cell)
        return False
    except CellError:
        pass
    return not _TIME_LIKE.fullmatch(normalize(cell))


@lru_cache(maxsize=4096)
def _closed_phrase(cell: str | None) -> str | None:
    """A closed-days cell as the schedule parser reads closures: 「土日祝」 → 「土日祝休み」,
    「土曜日、日曜日、祝日」 → 「土曜日・日曜日・祝日休み」; None when it says there are none."""
    if not cell:
        return None
    text = cell.strip()
    if normalize(text) in _NO_CLOSED_DAYS:
        return None
    text = _CLOSED_TAIL.sub("", text).strip()
    text = "・".join(p for p in _CLOSED_SEPARATORS.split(text) if p)
    return f"{text}休み" if text else None


def _header_of(ctx: _Context, key: str) -> str:
    """The column as the user's file names it (開始時刻), else its §3 name."""
    i = ctx.header_index.get(key)
    return ctx.header[i] if i is not None else BY_KEY[key].header


_WHOLE_AREA_KEYS = frozenset(normalize(w) for w in WHOLE_AREA)
_CODE_KEYS = frozenset(
    normalize(h)
    for h in ("都道府県コード又は市区町村コード", "地方公共団体コード", "localGovernmentCode")
)
_ROW_NUMBER_KEYS = frozenset(normalize(h) for h in _ROW_NUMBER_HEADERS)
_ADDRESS_KEYS = frozenset(normalize(h) for h in _ADDRESS_PARTS)


_ROW_CODE = object()  # _district_cell: "the row's code is not known yet"


def _district_cell(
    ctx: _Context, cell: str, code: str | object | None = _ROW_CODE
) -> tuple[tuple[int, ...], list[tuple[str, dict[str, str]]]] | None:
    """The districts one 対象地区 cell names and the problems with it; None when it says
    全域 in a database of several municipalities and no ``code`` (the row's 市区町村コード)
    was given, as then each row's own code decides."""
    found: list[int] = []
    problems: list[tuple[str, dict[str, str]]] = []
    for part in split_categories(cell):  # same separators: ; 、 , (never ・)
        key = normalize(part)
        if key in _WHOLE_AREA_KEYS:
            if len(ctx.municipalities) != 1 and code is _ROW_CODE:
                return None
            municipality = _whole_area(ctx, code if isinstance(code, str) else None)
            if municipality is None:
                problems.append(("whole_area_ambiguous", {"value": part}))
            else:
                found.append(municipality)
            continue
        if key in ctx.districts_by_code:
            found.append(ctx.districts_by_code[key])
            continue
        ids = ctx.districts_by_name.get(key, [])
        if len(ids) == 1:
            found.append(ids[0])
        elif len(ids) > 1:
            problems.append(("ambiguous_district", {"value": part}))
        elif (listed := _dot_list(ctx, key)) is not None:
            found.extend(listed)  # 本町一区・本町二区: a list written with ・
        else:
            problems.append(("unknown_district", {"value": part}))
    return tuple(dict.fromkeys(found)), problems


def _dot_list(ctx: _Context, key: str) -> list[int] | None:
    """The districts of a name list joined with ・, when every part is one known district
    (・ can be part of a name, so this is tried only when the whole is unknown)."""
    if "・" not in key:
        return None
    found: list[int] = []
    for part in key.split("・"):
        district = ctx.districts_by_code.get(part)
        ids = [district] if district is not None else ctx.districts_by_name.get(part, [])
        if len(ids) != 1:
            return None
        found.append(ids[0])
    return found


def _whole_area(ctx: _Context, code_cell: str | None) -> int | None:
    """全域: the one municipality in the database, or the one the row's own code names."""
    if len(ctx.municipalities) == 1:
        return ctx.municipalities[0][0]
    if code_cell:
        code = normalize(code_cell)[:5]
        for municipality_id, municipality_code in ctx.municipalities:
            if normalize(municipality_code)[:5] == code:
                return municipality_id
    return None


# --------------------------------------------------------------------------- import


@dataclass
class ResourceImportResult(ImportResult):
    """An import's result, with the rows ``skip_invalid`` left out: their problems
    (``FILE:ROW:COLUMN: reason``) and, when asked for, their original cells (--rejects)."""

    errors: list[Problem] = field(default_factory=list)
    rejected: int = 0
    header: list[str] = field(default_factory=list)  # the file's own column names
    rejected_rows: list[tuple[int, list[str]]] = field(default_factory=list)

    def as_json(self, lang: str = "ja") -> dict[str, Any]:
        out = super().as_json(lang)
        out["errors"] = [p.as_json(lang) for p in self.errors]
        out["rejected"] = self.rejected
        return out

    def rejects_csv(self, lang: str = "ja") -> bytes:
        """The rejected rows as they were written, plus an ``エラー内容`` column saying what
        to fix: UTF-8 with BOM like our exports, so it opens in Excel and imports again."""
        reasons: dict[int, list[str]] = defaultdict(list)
        for problem in self.errors:
            key = problem.row if problem.row is not None else _feature_row(problem.feature)
            if key is not None:
                where = f"{problem.column}: " if problem.column else ""
                reasons[key].append(where + problem.reason(lang))
        width = len(self.header)
        rows = [
            [*(cells + [""] * width)[:width], " / ".join(reasons.get(number, []))]
            for number, cells in self.rejected_rows
        ]
        return write_csv([*self.header, REJECTS_COLUMN], rows)


#: The column a rejects file adds: what is wrong with the row (removed again on import).
REJECTS_COLUMN = "エラー内容"
#: A stored resource of another name is the same one renamed only when it is this close
#: (the same hall), run by the same organisation or at the same address (see _replacements).
REPLACE_DISTANCE_M = 100.0


def _feature_row(feature: str | None) -> int | None:
    m = re.match(r"#(\d+)", feature or "")
    return int(m[1]) + 1 if m else None


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


def import_resources(
    session: Session,
    path: Path,
    progress: Progress | None = None,
    *,
    columns: Mapping[str, str] | None = None,
    skip_invalid: bool = False,
    keep_rejects: bool = False,
    id_prefix: str | None = None,
    replace: bool = False,
    today: dt.date | None = None,
) -> ResourceImportResult:
    """Create or update resources by ``ID`` from a CSV/XLSX/GeoJSON file, all rows or none.

    Raises :class:`InvalidInputError` listing every problem; the caller commits (or
    rolls back for a dry run). Re-importing the same ``ID`` updates the row and bumps its
    ``version``; a row that changes nothing is counted unchanged and keeps its version.

    ``columns`` renames the file's own columns to §3 ones (``--columns``).
    ``skip_invalid`` writes the valid rows and returns the rejected ones' problems (a
    problem with the file as a whole still refuses it); ``keep_rejects`` also keeps their
    cells for :meth:`ResourceImportResult.rejects_csv`. ``id_prefix`` prefixes every id;
    a row that would replace a stored resource of another name at another place is an
    error unless ``replace`` (DATA_FORMATS §3a; see :func:`_replacements`).

    ``today`` is the import day (default: today in Japan; tests pass a fixed one): 隔週
    with no date in its text is anchored on its first occurrence on or after it, once — a
    re-import of the same schedule text keeps the stored anchor (see :func:`_write`).
    """
    import_lock(session, "resources")
    with gc_paused():
        mapping = {normalize(k): v for k, v in (columns or {}).items()}

        def is_header(cells: list[str]) -> bool:
            return _looks_like_header([mapping.get(normalize(c), c) for c in cells])

        table = read_table(path, is_header=is_header)
        own_header = list(table.header)
        map_warnings: list[Problem] = []
        if mapping:
            found = {normalize(h) for h in table.header}
            map_warnings = [
                Problem("column_map_unused", {"header": k}, column=k)
                for k in (columns or {})
                if normalize(k) not in found
            ]
            table.header = [mapping.get(normalize(h), h) for h in table.header]
        own = {m: h for m, h in zip(table.header, own_header, strict=True) if m != h}
        if normalize(table.header[-1] if table.header else "") == normalize(REJECTS_COLUMN):
            table.header[-1] = ""  # a rejects file, fixed: its エラー内容 is not data
        raw_rows = table.rows if keep_rejects else []
        features = table.features
        if features is not None:  # named by the column that is the name (#3 (中央サロン))
            at = next(
                (i for i, h in enumerate(table.header) if _HEADER_KEYS.get(normalize(h)) == "name"),
                None,
            )
            for number, cells in table.rows:
                name = cells[at].strip() if at is not None else ""
                if name:
                    features[number] = f"#{number - 1} ({name})"
        checked, ctx = parse_rows(
            table, session, str(path), progress, id_prefix=id_prefix, today=today
        )
        ctx.warnings[:0] = map_warnings
        if len(checked) and not replace:
            _replacements(session, checked, ctx)
            ctx.errors.sort(key=lambda p: p.row or 0)
        result = ResourceImportResult(warnings=ctx.warnings, header=own_header)
        if ctx.errors:
            rows = set(checked.rows)
            rejected = {p.row for p in ctx.errors if p.row in rows}
            if not skip_invalid or any(p.row not in rows for p in ctx.errors):
                raise InvalidInputError(
                    str(path),
                    _as_features(ctx.errors, features, own),
                    _as_features(ctx.warnings, features, own),
                )
            result.errors = ctx.errors
            result.rejected = len(rejected)
            result.rejected_rows = [(n, cells) for n, cells in raw_rows if n in rejected]
            checked = _subset(checked, [i for i, n in enumerate(checked.rows) if n not in rejected])
        if len(checked):
            with large_cache(session):
                _write(session, checked, result, progress)
        if result.created or result.updated:
            bump(session)
        result.warnings = _as_features(result.warnings, features, own)
        result.errors = _as_features(result.errors, features, own)
        return result


def _as_features(
    problems: list[Problem], features: dict[int, str] | None, own: Mapping[str, str]
) -> list[Problem]:
    """Problems as the user's file says it: a column renamed by ``--columns`` under the
    file's own name, and in a GeoJSON file the feature (``#N (name)``), not a row (§7)."""
    if features is None and not own:
        return problems
    out = []
    for p in problems:
        if p.column is not None and p.column in own:
            p = replace_problem(p, column=own[p.column])
        if features is not None and p.row is not None:
            p = replace_problem(p, row=None, feature=features.get(p.row))
        out.append(p)
    return out


def _subset(checked: Checked, keep: list[int]) -> Checked:
    """The rows ``keep`` (indexes) of ``checked``, column by column."""

    def pick(items: list[Any]) -> list[Any]:
        return [items[i] for i in keep]

    return Checked(
        pick(checked.rows),
        {k: pick(v) for k, v in checked.values.items()},
        pick(checked.categories),
        pick(checked.district_ids),
        pick(checked.schedules),
        pick(checked.organization),
    )


def _replacements(session: Session, checked: Checked, ctx: _Context) -> None:
    """Refuse rows that would replace another resource (§3a) unless ``--replace``.

    A stored resource has the row's id and another name (neither normalised name contains
    the other), and nothing shows it is the same one renamed: it is not within
    :data:`REPLACE_DISTANCE_M` (a rename keeps its hall; real lists put a town's facilities
    a few hundred metres apart, so 1 km would let them overwrite each other), not run by
    the same organisation, not at the same address. Two lists that number their rows
    from 1 then never overwrite each other silently."""
    values = checked.values
    ids = [v for v in values["external_id"] if v is not None]
    if not ids:
        return
    table = _table(Resource)
    org = _table(Organization)
    stmt = select(
        table.c.external_id,
        table.c.name,
        table.c.name_key,
        table.c.lat,
        table.c.lon,
        table.c.address,
        org.c.name_key.label("org_key"),
        org.c.name.label("org_name"),
    ).select_from(table.outerjoin(org, org.c.id == table.c.organization_id))
    stored = {row.external_id: row for row in _where_in(session, stmt, table.c.external_id, ids)}
    if not stored:
        return
    for n, external_id in enumerate(values["external_id"]):
        old = stored.get(external_id)
        if old is None:
            continue
        new_key = values["name_key"][n]
        if not new_key or new_key in old.name_key or old.name_key in new_key:
            continue
        lat, lon = values["lat"][n], values["lon"][n]
        organization = checked.organization[n]
        address = values["address"][n]
        params: dict[str, Any] = {"value": external_id, "other": old.name}
        metres = None
        if lat is not None and old.lat is not None:
            metres = float(haversine_m(lat, lon, old.lat, old.lon))
        if (
            (metres is not None and metres <= REPLACE_DISTANCE_M)
            or (organization and old.org_key and normalize(organization) == old.org_key)
            or (address and old.address and normalize(address) == normalize(old.address))
        ):
            continue
        if metres is not None:
            code = "replaces_far"
            params["km"] = f"{metres / 1000:.1f}"
        elif organization and old.org_key:
            code = "replaces_other_organization"
            params["organization"] = old.org_name
        else:
            code = "replaces_other_place"
        ctx.errors.append(
            Problem(code, params, row=checked.rows[n], column=_header_of(ctx, "external_id"))
        )


def _write(
    session: Session, checked: Checked, result: ImportResult, progress: Progress | None
) -> None:
    total = len(checked)
    if progress:
        progress("write", 0, total)
    values = checked.values
    org_ids = _organizations(session, checked.organization)
    values["organization_id"] = [org_ids[o] if o else None for o in checked.organization]
    values["venue_id"] = _venues(session, checked)
    existing = _existing(session, values["external_id"])
    existing_links = _existing_links(session, [e.id for e in existing.values()])
    new: list[int] = []  # row indexes
    changed: list[tuple[_Existing, int]] = []
    digests = _digests(values) if existing else []
    for n, external_id in enumerate(values["external_id"]):
        old = existing.get(external_id)
        if old is None:
            new.append(n)
        elif old.digest == digests[n] and existing_links.get(old.id) == hash(_links_of(checked, n)):
            result.unchanged += 1
        else:
            changed.append((old, n))
    now = utcnow()
    new_ids: list[int] = []
    if new:
        columns = (
            dict(values)
            if len(new) == total
            else {k: [v[n] for n in new] for k, v in values.items()}
        )
        columns |= {
            "version": [1] * len(new),
            "created_at": [now] * len(new),
            "updated_at": [now] * len(new),
        }
        new_ids = insert_returning_ids(session, _table(Resource), columns, "external_id")
        result.created += len(new_ids)
        if progress:
            progress("write", total // 2, total)
    if changed:
        _keep_anchors(session, checked, changed)  # before their schedule rows are deleted
        _update_resources(
            session,
            [
                {k: v[n] for k, v in values.items()}
                | {"id": old.id, "version": old.version + 1, "updated_at": now}
                for old, n in changed
            ],
        )
        changed_ids = [old.id for old, _ in changed]
        for chunk in _chunks(changed_ids, 5000):
            session.execute(
                delete(resource_category).where(resource_category.c.resource_id.in_(chunk))
            )
            session.execute(
                delete(resource_district).where(resource_district.c.resource_id.in_(chunk))
            )
            session.execute(delete(Schedule).where(Schedule.resource_id.in_(chunk)))
        result.updated += len(changed)
    targets = list(zip(new_ids, new, strict=True)) + [(old.id, n) for old, n in changed]
    _insert_links(session, checked, targets)
    session.flush()
    if progress:
        progress("write", total, total)


def _existing(session: Session, external_ids: list[str]) -> dict[str, _Existing]:
    """The rows of these ids already in the database: only what the comparison needs, as
    fingerprints (150,000 full rows would not fit the memory budget). Locked FOR UPDATE
    (SQLite: inside BEGIN IMMEDIATE)."""
    table = Resource.__table__
    # JSON columns as their stored text: compared with the file's values serialised the
    # same way (see _digests), so 300,000 JSON documents need not be parsed.
    compared = [
        cast(table.c[k], Text) if i in _JSON_POSITIONS else table.c[k]
        for i, k in enumerate(_COMPARED)
    ]
    stmt = select(table.c.id, table.c.version, table.c.external_id, *compared).with_for_update()
    existing: dict[str, _Existing] = {}
    for row in _where_in(session, stmt, table.c.external_id, external_ids):
        existing[row[2]] = _Existing(row[0], row[1], hash(row[3:]))
    return existing


def _where_in(session: Session, stmt: Any, column: Any, keys: Sequence[Any]) -> Iterator[Any]:
    """The rows of ``stmt`` whose ``column`` is one of ``keys`` (``column`` must be selected),
    streamed a partition at a time (a re-import reads 150,000 rows and keeps only their
    fingerprints).

    In chunks of ``IN (…)``; but when the keys are a large share of the table (a
    re-import), one scan filtered here, as compiling 150,000 IN parameters costs more
    than reading the rows.
    """
    if not keys:
        return
    total = session.scalar(select(func.count()).select_from(column.table)) or 0
    if len(keys) * 4 < total:
        for chunk in _chunks(keys, 5000):
            yield from session.execute(stmt.where(column.in_(chunk))).all()
        return
    wanted = set(keys)
    position = next(i for i, c in enumerate(stmt.selected_columns) if c is column)
    result = session.execute(stmt, execution_options={"yield_per": 10_000})
    for partition in result.partitions():
        yield from (row for row in partition if row[position] in wanted)


def _insert_links(session: Session, checked: Checked, targets: list[tuple[int, int]]) -> None:
    """Categories, served districts and schedules of the (resource id, row index) pairs."""
    categories, district_ids, schedules = (
        checked.categories,
        checked.district_ids,
        checked.schedules,
    )
    pairs: list[tuple[int, Any]] = [(rid, c) for rid, n in targets for c in categories[n]]
    bulk_insert_columns(
        session,
        resource_category,
        {"resource_id": [rid for rid, _ in pairs], "category_code": [c for _, c in pairs]},
    )
    pairs = [(rid, d) for rid, n in targets for d in district_ids[n]]
    bulk_insert_columns(
        session,
        resource_district,
        {"resource_id": [rid for rid, _ in pairs], "district_id": [d for _, d in pairs]},
    )
    pairs = [(rid, row) for rid, n in targets for row in schedules[n]]
    names = tuple(pairs[0][1]) if pairs else ()
    fields = {f: [row[f] for _, row in pairs] for f in names}
    rids = [rid for rid, _ in pairs]
    bulk_insert_columns(session, _table(Schedule), {"resource_id": rids, **fields})


def _update_resources(session: Session, rows: list[dict[str, Any]]) -> None:
    """Bulk UPDATE by id *and* the version read above, bumping the version.

    version_id_col guards ORM flushes only, so the check is written out here. The rows
    were read FOR UPDATE (SQLite: inside the BEGIN IMMEDIATE write lock), so a mismatch
    means the database changed under us: refuse rather than overwrite.
    """
    table = _table(Resource)
    columns = [k for k in rows[0] if k not in ("id", "version")]
    stmt = (
        update(table)
        .where(table.c.id == bindparam("_id"), table.c.version == bindparam("_old_version"))
        .values({c: bindparam(c) for c in columns} | {"version": bindparam("_new_version")})
    )
    params = [
        {c: row[c] for c in columns}
        | {"_id": row["id"], "_old_version": row["version"] - 1, "_new_version": row["version"]}
        for row in rows
    ]
    # An executemany UPDATE's result is a CursorResult; Session.execute is typed Result.
    matched = typing.cast(CursorResult[Any], session.execute(stmt, params)).rowcount
    if matched != len(rows):
        msg = f"{len(rows) - matched} resource(s) changed during the import; nothing was written"
        raise ConcurrentEditError(msg)


_SCHEDULE_FIELDS = (
    "rrule",
    "start_time",
    "end_time",
    "season_start_month",
    "season_end_month",
    "holiday_rule",
    "year_end_closed",
    "source_text",
    "understood",
)


def _keep_anchors(session: Session, checked: Checked, changed: list[tuple[_Existing, int]]) -> None:
    """A changed resource keeps the stored ``anchor_date`` of every schedule row whose text
    and rule are the same as before, so that editing, say, its phone number does not move
    its 隔週 weeks to the re-import day (nor a one-off date's year). Rows with the same
    fields (a list of one-off dates) are paired in date order."""
    schedule = Schedule.__table__
    old: dict[tuple[int, tuple[Any, ...]], list[dt.date]] = defaultdict(list)
    stmt = select(
        schedule.c.resource_id, schedule.c.anchor_date, *(schedule.c[f] for f in _SCHEDULE_FIELDS)
    ).where(schedule.c.anchor_date.is_not(None))
    for row in _where_in(session, stmt, schedule.c.resource_id, [e.id for e, _ in changed]):
        old[row[0], tuple(row[2:])].append(row[1])
    if not old:
        return
    for existing, n in changed:
        rows = checked.schedules[n]
        new: dict[tuple[Any, ...], list[int]] = defaultdict(list)
        for i, row in enumerate(rows):
            if row["anchor_date"] is not None:
                new[tuple(row[f] for f in _SCHEDULE_FIELDS)].append(i)
        kept = list(rows)  # the rows are shared between resources: replaced, not changed
        for key, indexes in new.items():
            anchors = sorted(old.get((existing.id, key), ()))
            if len(anchors) == len(indexes):
                indexes.sort(key=lambda i: rows[i]["anchor_date"])
                for i, anchor in zip(indexes, anchors, strict=True):
                    kept[i] = rows[i] | {"anchor_date": anchor}
        checked.schedules[n] = tuple(kept)


def _links_of(checked: Checked, n: int) -> tuple[tuple[Any, ...], tuple[Any, ...], tuple[Any, ...]]:
    schedules = [
        (*(row[f] for f in _SCHEDULE_FIELDS), row["anchor_date"] is not None)
        for row in checked.schedules[n]
    ]
    return (
        _sorted(checked.categories[n]),
        _sorted(checked.district_ids[n]),
        _sorted(schedules, key=repr),
    )


def _sorted(items: Sequence[Any], key: Callable[[Any], Any] | None = None) -> tuple[Any, ...]:
    """``tuple(sorted(items))``, without the sort (and its key) for the usual one item."""
    return tuple(items) if len(items) < 2 else tuple(sorted(items, key=key))


def _existing_links(session: Session, ids: list[int]) -> dict[int, int]:
    """For each resource id, the fingerprint of its categories, districts and schedules
    (compared with :func:`_links_of` of the file's row)."""
    cats: dict[int, list[str]] = defaultdict(list)
    dists: dict[int, list[int]] = defaultdict(list)
    scheds: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    rc, rd, schedule = resource_category, resource_district, Schedule.__table__
    for rid, code in _where_in(
        session, select(rc.c.resource_id, rc.c.category_code), rc.c.resource_id, ids
    ):
        cats[rid].append(code)
    for rid, did in _where_in(
        session, select(rd.c.resource_id, rd.c.district_id), rd.c.resource_id, ids
    ):
        dists[rid].append(did)
    fields = [schedule.c[f] for f in _SCHEDULE_FIELDS]
    for row in _where_in(
        session,
        select(schedule.c.resource_id, *fields, schedule.c.anchor_date),
        schedule.c.resource_id,
        ids,
    ):
        # whether an anchor is stored, not which: a re-import keeps it (_keep_anchors), and
        # a row stored before anchors existed gets one
        scheds[row[0]].append((*row[1:-1], row[-1] is not None))
    return {
        rid: hash(
            (
                _sorted(cats.get(rid, ())),
                _sorted(dists.get(rid, ())),
                _sorted(scheds.get(rid, ()), key=repr),
            )
        )
        for rid in ids
    }


_COMPARED = (
    "name",
    "kana",
    "description",
    "organization_id",
    "venue_id",
    "address",
    "building",
    "lat",
    "lon",
    "capacity",
    "seats_left",
    "accepts_new",
    "fee",
    "fee_yen",
    "eligibility",
    "min_age",
    "eligibility_attributes",
    "transport",
    "phone",
    "url",
    "status",
    "public",
    "last_verified_on",
    "notes",
    "extra",
    "schedule_days",
    "schedule_start",
    "schedule_end",
    "schedule_note",
    "schedule_understood",
)
_JSON_POSITIONS = frozenset(  # eligibility_attributes, extra: lists and dicts
    i for i, key in enumerate(_COMPARED) if isinstance(Resource.__table__.c[key].type, JSON)
)


@dataclass(frozen=True, slots=True)
class _Existing:
    id: int
    version: int
    digest: int  # of the _COMPARED columns, in order (see _digest)


def _digests(values: dict[str, list[Any]]) -> list[int]:
    """The fingerprint of every row of the file's _COMPARED values, as :func:`_existing`
    reads them from the database, computed column-wise (C-speed hashing)."""
    columns: list[Sequence[Any]] = []
    for i, key in enumerate(_COMPARED):
        column = values[key]
        if i in _JSON_POSITIONS:  # the stored text; values are shared: serialise each once
            distinct = {id(v): v for v in column}
            texts = {i: json.dumps(v) for i, v in distinct.items()}
            column = [texts[id(v)] for v in column]
        columns.append(column)
    return list(map(hash, zip(*columns, strict=True)))


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _organizations(session: Session, names: Iterable[str | None]) -> dict[str, int]:
    """Reuse organisations by normalised name; create the missing ones.

    Returns the id for every spelling given (㈱つなぐ and (株)つなぐ are one organisation).
    """
    all_names = {name for name in names if name}
    wanted: dict[str, str] = {}
    for name in all_names:
        wanted.setdefault(normalize(name), name)
    if not wanted:
        return {}
    ids: dict[str, int] = {}
    for chunk in _chunks(list(wanted), 5000):
        for org_id, key in session.execute(
            select(Organization.id, Organization.name_key).where(Organization.name_key.in_(chunk))
        ):
            ids[key] = org_id
    missing = [k for k in wanted if k not in ids]
    created = insert_returning_ids(
        session,
        _table(Organization),
        {"name": [wanted[k] for k in missing], "name_key": missing},
        "name_key",
    )
    ids.update(zip(missing, created, strict=True))
    return {name: ids[normalize(name)] for name in all_names}


def _venues(session: Session, checked: Checked) -> list[int | None]:
    """Link each row with coordinates to the nearest venue within 50 m, creating venues
    for places no known venue is near.

    New venues are placed first (a row far from every known venue and from every new
    venue before it founds one, so new venues are over 50 m apart), then every row links
    to the nearest of the known and new venues. Two resources in one new hall share one
    venue, and importing the same file again links every row to the same venue.
    """
    values = checked.values
    located = [n for n, lat in enumerate(values["lat"]) if lat is not None]
    result: list[int | None] = [None] * len(checked)
    if not located:
        return result
    lon = np.array([values["lon"][n] for n in located])
    lat = np.array([values["lat"][n] for n in located])
    known = session.execute(select(Venue.id, Venue.lon, Venue.lat)).tuples().all()
    known_lon = np.array([k[1] for k in known], dtype=float)
    known_lat = np.array([k[2] for k in known], dtype=float)
    near_known = np.zeros(len(located), dtype=bool)
    near_known[pairs_within(lon, lat, known_lon, known_lat, VENUE_LINK_M)[0]] = True
    pending = np.flatnonzero(~near_known)
    neighbours: dict[int, list[int]] = defaultdict(list)
    a_idx, b_idx, _ = pairs_within(
        lon[pending], lat[pending], lon[pending], lat[pending], VENUE_LINK_M
    )
    for a, b in zip(a_idx.tolist(), b_idx.tolist(), strict=True):
        if b < a:
            neighbours[a].append(b)
    is_leader: list[bool] = []
    for a in range(len(pending)):
        is_leader.append(not any(is_leader[b] for b in neighbours.get(a, ())))
    leaders = pending[np.array(is_leader, dtype=bool)] if len(pending) else pending
    new_ids = _create_venues(session, checked, [located[k] for k in leaders.tolist()])
    # Every row: the nearest of all venues, known and new (a new venue's own row: itself).
    ids = [k[0] for k in known] + new_ids
    src, dst = nearest_within(
        lon,
        lat,
        np.concatenate([known_lon, lon[leaders]]),
        np.concatenate([known_lat, lat[leaders]]),
        VENUE_LINK_M,
    )
    for s, d in zip(src.tolist(), dst.tolist(), strict=True):
        result[located[s]] = ids[d]
    return result


def _create_venues(session: Session, checked: Checked, rows: list[int]) -> list[int]:
    """A venue at each of these rows' coordinates, named after its building or resource."""
    if not rows:
        return []
    values = checked.values
    lat_col, lon_col = values["lat"], values["lon"]
    placed = locate_points(
        districts_frame(session), [lon_col[n] for n in rows], [lat_col[n] for n in rows]
    )
    tree_map = ancestor_map(session)
    municipality_codes = dict(
        session.execute(select(District.id, District.code).where(District.level == "municipality"))
        .tuples()
        .all()
    )
    prefixes: dict[int | None, str] = {None: ""}
    for district_id in set(placed):
        municipality = ancestor_at(tree_map, district_id, "municipality") if district_id else None
        prefixes[district_id] = municipality_codes.get(municipality, "") if municipality else ""
    building, name, name_key = values["building"], values["name"], values["name_key"]
    now = utcnow()
    return insert_returning_ids(
        session,
        _table(Venue),
        {
            # Keyed by place: a venue first seen at these coordinates (any other point
            # within 50 m would have been linked to an existing venue instead).
            "code": [
                f"{prefixes[d]}:{lat_col[n]:.6f},{lon_col[n]:.6f}"
                for n, d in zip(rows, placed, strict=True)
            ],
            "name": [building[n] or name[n] for n in rows],
            "name_key": [normalize(building[n]) if building[n] else name_key[n] for n in rows],
            "address": [values["address"][n] for n in rows],
            "lat": [lat_col[n] for n in rows],
            "lon": [lon_col[n] for n in rows],
            "district_id": list(placed),
            "properties": [{"created_from": values["external_id"][n]} for n in rows],
            "updated_at": [now] * len(rows),
        },
        "code",
    )


# --------------------------------------------------------------------------- export


def export_rows(
    session: Session, *, include_private: bool = False
) -> tuple[list[str], list[list[str]]]:
    """The directory as §3 rows (header + rows), public resources only unless asked.

    Exactly what :func:`import_resources` reads back to the same state: the schedule
    cells as the coordinator wrote them, served districts by name where the name is
    unique (else by code), ``全域`` for the whole municipality.
    """
    stmt = select(Resource).order_by(Resource.external_id)
    if not include_private:
        # 終了 resources stay out of the public file, as in every open format (§6).
        stmt = stmt.where(Resource.public.is_(True), Resource.status != "ended")
    resources = list(session.scalars(stmt))
    districts = session.execute(
        select(District.id, District.code, District.name, District.level)
    ).all()
    name_count: dict[str, int] = defaultdict(int)
    for d in districts:
        name_count[normalize(d.name)] += 1
    codes = {normalize(d.code) for d in districts}
    single_municipality = sum(1 for d in districts if d.level == "municipality") == 1

    def district_text(d: Any) -> str:
        if d.level == "municipality" and single_municipality:
            return "全域"
        key = normalize(d.name)
        return d.name if name_count[key] == 1 and key not in codes else d.code

    texts = {d.id: district_text(d) for d in districts}
    orgs = dict(session.execute(select(Organization.id, Organization.name)).tuples().all())
    extra_headers: list[str] = []
    for r in resources:
        for key in r.extra:
            if key not in extra_headers:
                extra_headers.append(key)
    header = [c.header for c in COLUMNS] + extra_headers
    cats = _grouped(session, resource_category.c.resource_id, resource_category.c.category_code)
    dists = _grouped(session, resource_district.c.resource_id, resource_district.c.district_id)
    out: list[list[str]] = []
    for r in resources:
        row = {
            "external_id": r.external_id,
            "name": r.name,
            "categories": ";".join(sorted(cats.get(r.id, []))),
            "kana": r.kana,
            "description": r.description,
            "organization": orgs.get(r.organization_id) if r.organization_id else None,
            "address": r.address,
            "building": r.building,
            "lat": repr(r.lat) if r.lat is not None else None,
            "lon": repr(r.lon) if r.lon is not None else None,
            "districts": ";".join(texts[d] for d in sorted(dists.get(r.id, []))),
            "days": r.schedule_days,
            "start": r.schedule_start,
            "end": r.schedule_end,
            "note": r.schedule_note,
            "capacity": str(r.capacity) if r.capacity is not None else None,
            "vacancy": (
                str(r.seats_left)
                if r.seats_left is not None
                else None
                if r.accepts_new is None
                else "あり"
                if r.accepts_new
                else "なし"
            ),
            "fee": r.fee,
            "eligibility": r.eligibility,
            "transport": None if r.transport is None else "あり" if r.transport else "なし",
            "phone": r.phone,
            "url": r.url,
            "status": _STATUS_LABEL[r.status],
            "public": "可" if r.public else "否",
            "verified": r.last_verified_on.isoformat() if r.last_verified_on else None,
            "notes": r.notes,
        }
        out.append(
            [
                *(row[c.key] or "" for c in COLUMNS),
                *(str(r.extra.get(h, "")) for h in extra_headers),
            ]
        )
    return header, out


def _grouped(session: Session, key_col: Any, value_col: Any) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = defaultdict(list)
    for k, v in session.execute(select(key_col, value_col)):
        grouped[k].append(v)
    return grouped


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _safe_cell(value: str) -> str:
    """Spreadsheet formula injection: a cell that starts like a formula gets a quote.

    Numbers (-1.5 as a longitude would never be in Japan, but a negative count might)
    are left alone so they stay numbers.
    """
    if value.startswith(_FORMULA_START) and not re.fullmatch(r"[-+]?\d+(\.\d+)?", value):
        return "'" + value
    return value


def write_csv(header: list[str], rows: list[list[str]], *, bom: bool = True) -> bytes:
    """UTF-8 with BOM by default, so Excel opens the Japanese text correctly."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[_safe_cell(c) for c in row] for row in rows])
    return (b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode("utf-8")


def write_xlsx(header: list[str], rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("地域資源")
    sheet.append(header)
    for row in rows:
        # Every cell is written as text so IDs like 001 and phone numbers keep their zeros.
        sheet.append([_safe_cell(c) if c else None for c in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()

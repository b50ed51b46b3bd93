"""One cell's value as people write it: counts (定員), coordinates, dates (令和, 2024/4/1),
the word tables of 状態・送迎・空き・公開, fees, eligibility, categories (and the one a
name states), municipality codes. Each parser is memoised (values repeat heavily at
national scale) and raises :class:`CellError` naming the value, never guesses.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

from directory.attributes import attributes_in
from directory.errors import UnknownCategoryError
from directory.taxonomy import load_taxonomy, split_categories
from directory.text import normalize

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
STATUS_LABEL = {"active": "活動中", "paused": "休止中", "ended": "終了"}
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
_LAT, _LON = (20.0, 46.0), (122.0, 154.0)


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


def _clean(cells: Sequence[str | None]) -> list[str | None]:
    """Cells stripped, empty ones None, a leading ' our export wrote before a formula
    character removed (see :func:`_safe_cell`). One comprehension: measured faster than
    memoising distinct cells or checking the joined column with a regex first."""
    return [
        (s if s[0] != "'" or s[1:2] not in FORMULA_START else s[1:])
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


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

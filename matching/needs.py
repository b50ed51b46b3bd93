"""Import needs recorded at intake from JSON (DATA_FORMATS §4), all or nothing.

Same rules as the resource importer: every need is checked before anything is written, a
file with any error writes nothing, and every problem is reported as ``FILE:ROW:COLUMN:
reason`` — where ROW is the need's position in the list (1 = the first need; a JSON file
has no lines worth counting) and COLUMN the field name (``district``, ``days`` …).

Needs are 要配慮個人情報 (SECURITY_NOTES.md), which shapes the importer:

* ``text`` (the intake note) is never quoted in a message, a warning, a log line or an
  exception — problems with it name the field only.
* ``resident`` must be a pseudonymous reference (ASCII letters/digits with at least one
  digit: ``R-3f9a``); anything else, a name above all, is refused *without* echoing it.
  An ``id`` that looks like a person's name (only kanji/kana, or ending in さん/様) is
  refused the same way. ``consent_by`` takes a relationship (本人, 家族 …), never a name.
* Fields that identify a person (``name``, ``氏名``, ``address``, ``phone`` …) are dropped
  with a warning that names the field, never the value; other unknown fields likewise.
* Attributes outside the vocabulary the matcher understands (要支援, 要介護, 事業対象者,
  独居, 高齢者のみ世帯) are a warning and are not stored: what cannot be matched on is
  not kept (minimum data), and a typo does not block a whole intake file.
* A need without ``consent_on`` or ``basis`` gets a warning: APPI wants the basis recorded,
  but §4 makes it optional, so refusing would break files the contract accepts.

Categories: ``categories`` (labels, synonyms or codes) win when given; otherwise they are
inferred from ``text`` (:mod:`matching.inference`), stored with ``inferred=True`` and
reported as a warning so the coordinator checks them. Re-importing an ``id`` updates that
need (its ``version`` goes up) or counts it unchanged; it never touches its ``status``,
which belongs to the coordinators' workflow. ``id`` is unique in the database, so files
from several offices that share a database should prefix their ids (``A1-N-0001``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import shapely
from shapely.geometry import Point
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory import schedules as sched
from directory.attributes import ATTRIBUTES, canonical_attribute
from directory.db import import_lock
from directory.errors import InvalidInputError, Problem, UnknownCategoryError, has_nul, without_nul
from directory.fiscal import today_in_japan
from directory.geography import JAPAN_LAT, JAPAN_LON, ImportResult
from directory.models import District, utcnow
from directory.resources import CellError, parse_date
from directory.tables import load_json, read_input
from directory.taxonomy import load_taxonomy, split_categories
from directory.text import normalize
from directory.weekdays import WEEKDAY_CODES, WeekdayError, parse_weekdays
from matching.inference import infer
from matching.models import Need, NeedCategory

__all__ = [
    "CONSENT_BY",
    "FIELDS",
    "NEAR_DISTRICT_M",
    "ParsedNeed",
    "import_needs",
    "parse_needs",
    "read_needs_file",
    "save_needs",
]

FIELDS = (
    "id",
    "resident",
    "district",
    "lat",
    "lon",
    "categories",
    "text",
    "days",
    "time",
    "months",
    "max_walk_m",
    "transport",
    "age",
    "attributes",
    "recorded_on",
    "urgency",
    "source",
    "consent_on",
    "consent_by",
    "basis",
)
# A recorded point may sit a little outside its district (district polygons are often
# approximate, and so is the point); further than this it is a typo in one or the other.
NEAR_DISTRICT_M = 2000.0
MAX_TEXT = 4000
MAX_WALK_M = 50_000

_PERSONAL_FIELDS = frozenset(
    normalize(f)
    for f in (
        "name",
        "full_name",
        "氏名",
        "名前",
        "姓名",
        "フリガナ",
        "ふりがな",
        "kana",
        "address",
        "住所",
        "phone",
        "tel",
        "telephone",
        "電話",
        "電話番号",
        "携帯",
        "email",
        "mail",
        "メール",
        "birthday",
        "birth_date",
        "birthdate",
        "生年月日",
        "被保険者番号",
        "insurance_number",
        "マイナンバー",
        "my_number",
    )
)
_URGENCY = {
    normalize(k): v
    for k, v in {
        "low": "low",
        "低": "low",
        "低い": "low",
        "normal": "normal",
        "中": "normal",
        "普通": "normal",
        "通常": "normal",
        "high": "high",
        "高": "high",
        "高い": "high",
        "緊急": "high",
        "至急": "high",
        "急ぎ": "high",
    }.items()
}
_CONSENT_BY = {
    normalize(k): k
    for k in (
        "本人",
        "家族",
        "配偶者",
        "子",
        "親族",
        "成年後見人",
        "任意後見人",
        "保佐人",
        "補助人",
        "代理人",
    )
}
#: Who may give consent (a relationship, never a name), as forms offer them.
CONSENT_BY = tuple(_CONSENT_BY.values())
_YES_NO = {
    normalize(k): v
    for k, v in {
        "true": True,
        "yes": True,
        "あり": True,
        "有": True,
        "有り": True,
        "はい": True,
        "可": True,
        "false": False,
        "no": False,
        "なし": False,
        "無": False,
        "無し": False,
        "いいえ": False,
        "不可": False,
    }.items()
}
_PSEUDONYM = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}")
_NAME_LIKE = re.compile(r"[\u3041-\u309f\u30a0-\u30ff\u3400-\u9fff々\s・]{2,20}")
_LIST_SEPARATORS = re.compile(r"[;；、､,，・/／\s]+")


# The shared rules whose messages quote the value (useful for a public resource file) are
# reported for a need with a twin message naming the field and the rule only: any value
# of a need may be personal data. Parameters that could carry a value are dropped.
_PRIVATE_CODES = {
    code: f"need_{code}"
    for code in (
        "not_number",
        "not_integer",
        "out_of_range",
        "coordinate_outside_japan",
        "not_a_date",
        "bad_era_date",
        "date_in_future",
        "bad_weekday",
        "not_a_time_range",
        "end_before_start",
        "bad_month",
        "not_boolean",
        "bad_choice",
        "unknown_attribute",
        "unknown_district",
        "ambiguous_district",
        "unknown_category",
        "unknown_category_suggest",
        "district_not_leaf",
    )
}
_VALUE_PARAMS = frozenset({"value", "start", "end", "lat", "lon", "district", "name"})


def _without_values(code: str, params: dict[str, Any], column: str) -> tuple[str, dict[str, Any]]:
    """The message code and parameters to report for a need's field: never its value."""
    code = _PRIVATE_CODES.get(code, code)
    kept = {k: v for k, v in params.items() if k not in _VALUE_PARAMS}
    if code.startswith("need_"):
        kept["field"] = column
    return code, kept


class _FieldError(ValueError):
    """A field that cannot be used: ``code``/``params`` select the message."""

    def __init__(self, code: str, **params: Any):
        super().__init__(code)
        self.code = code
        self.params = params


# ------------------------------------------------------------------------- field parsers


def _text(value: Any, max_len: int = 200) -> str | None:
    """A short text; the value is never quoted in the error (it may be the intake note)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _FieldError("not_text")
    text = str(value).strip()
    if len(text) > max_len:
        raise _FieldError("too_long", max=max_len)
    return text or None


def _number(value: Any) -> float:
    if isinstance(value, bool):
        raise _FieldError("not_number", value=value)
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(normalize(value))
        except ValueError:
            raise _FieldError("not_number", value=value) from None
    else:
        raise _FieldError("not_number", value=value)
    if not math.isfinite(number):
        raise _FieldError("not_number", value=value)
    return number


def _coordinate(value: Any, axis: str) -> float:
    number = _number(value)
    low, high = JAPAN_LAT if axis == "lat" else JAPAN_LON
    if not low <= number <= high:
        raise _FieldError(
            "coordinate_outside_japan",
            value=value,
            low=low,
            high=high,
            axis="緯度" if axis == "lat" else "経度",
        )
    return number


def _integer(value: Any, low: int, high: int, suffixes: Sequence[str] = ()) -> int:
    raw = value
    if isinstance(value, str):
        value = normalize(value)
        for suffix in suffixes:
            value = value.removesuffix(suffix)
    try:
        number = _number(value)
    except _FieldError:
        raise _FieldError("not_integer", value=raw, low=low, high=high) from None
    if number != int(number):
        raise _FieldError("not_integer", value=raw, low=low, high=high)
    if not low <= number <= high:
        raise _FieldError("out_of_range", value=raw, low=low, high=high)
    return int(number)


def _walk(value: Any) -> int:
    if isinstance(value, str):
        key = normalize(value)
        for suffix, factor in (
            ("km", 1000),
            ("キロメートル", 1000),
            ("キロ", 1000),
            ("m", 1),
            ("メートル", 1),
        ):
            if key.endswith(normalize(suffix)):
                metres = _number(key.removesuffix(normalize(suffix))) * factor
                break
        else:
            metres = _number(key)
    else:
        metres = _number(value)
    if not 0 < metres <= MAX_WALK_M:
        raise _FieldError("out_of_range", value=value, low=1, high=MAX_WALK_M)
    return round(metres)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and normalize(value) in _YES_NO:
        return _YES_NO[normalize(value)]
    raise _FieldError("not_boolean", value=value)


def _items(value: Any) -> list[Any]:
    """A list as given, or a string split on ; 、 , ・ / and spaces."""
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        return [part for part in _LIST_SEPARATORS.split(value.strip()) if part]
    raise _FieldError("not_a_list_field")


def _days(value: Any) -> list[str] | None:
    try:
        found = parse_weekdays(_items(value))
    except WeekdayError as exc:
        raise _FieldError("bad_weekday", value=exc.token) from None
    return [WEEKDAY_CODES[i] for i in found] or None


_RANGE_SPLIT = re.compile(r"\s*(?:~|-|ー|から)\s*")
_HALF_DAYS = {
    "午前": sched.MORNING,
    "午前中": sched.MORNING,
    "am": sched.MORNING,
    "午後": sched.AFTERNOON,
    "pm": sched.AFTERNOON,
}


def _time_range(value: Any) -> tuple[dt.time, dt.time]:
    if not isinstance(value, str) or not value.strip():
        raise _FieldError("not_a_time_range", value=value)
    key = normalize(value)
    if key in _HALF_DAYS:
        return _HALF_DAYS[key]
    try:
        return sched.parse_time_range(value)
    except ValueError:
        parts = _RANGE_SPLIT.split(normalize(value, keep_spaces=True).strip())
        if len(parts) == 2:
            try:
                start, end = sched.parse_time(parts[0]), sched.parse_time(parts[1])
            except ValueError:
                pass
            else:
                if end <= start:
                    raise _FieldError("end_before_start", start=parts[0], end=parts[1]) from None
        raise _FieldError("not_a_time_range", value=value) from None


def _month(token: Any) -> list[int]:
    if isinstance(token, bool):
        raise _FieldError("bad_month", value=token)
    if isinstance(token, int):
        if 1 <= token <= 12:
            return [token]
        raise _FieldError("bad_month", value=token)
    if not isinstance(token, str):
        raise _FieldError("bad_month", value=token)
    key = normalize(token).replace("月", "")
    if key in ("冬", "冬期", "冬季", "冬期間", "冬場"):
        start, end = sched.WINTER
    elif m := re.fullmatch(r"(\d{1,2})(?:~|-|ー|から)(\d{1,2})", key):
        start, end = int(m[1]), int(m[2])
    elif re.fullmatch(r"\d{1,2}", key):
        start = end = int(key)
    else:
        raise _FieldError("bad_month", value=token)
    if not (1 <= start <= 12 and 1 <= end <= 12):
        raise _FieldError("bad_month", value=token)
    span = end - start if end >= start else end + 12 - start  # 12月～3月 wraps the year end
    return [(start - 1 + k) % 12 + 1 for k in range(span + 1)]


def _months(value: Any) -> list[int] | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = [value]
    found: set[int] = set()
    for token in _items(value):
        found.update(_month(token))
    return sorted(found) or None


def _date(value: Any, today: dt.date) -> dt.date:
    if not isinstance(value, str):
        raise _FieldError("not_a_date", value=value)
    try:
        day = parse_date(value)
    except CellError as exc:
        raise _FieldError(exc.code, **exc.params) from None
    if day > today + dt.timedelta(days=1):  # a day's grace for time zones
        raise _FieldError("date_in_future", value=value)
    return day


def _urgency(value: Any) -> str:
    if isinstance(value, str) and normalize(value) in _URGENCY:
        return _URGENCY[normalize(value)]
    raise _FieldError("bad_choice", value=value, allowed="low・normal・high")


def _attributes(value: Any, warn: Callable[[str, dict[str, Any]], None]) -> list[str]:
    found: set[str] = set()
    for token in _items(value):
        if not isinstance(token, str):
            raise _FieldError("not_text")
        canonical = canonical_attribute(token)  # 要介護3 → 要介護, 単身 → 独居
        if canonical is not None:
            found.add(canonical)
        else:
            warn("unknown_attribute", {"value": token, "allowed": "・".join(ATTRIBUTES)})
    return [a for a in ATTRIBUTES if a in found]


def _resident(value: Any) -> str:
    if isinstance(value, str | int) and not isinstance(value, bool):
        ref = unicodedata.normalize("NFKC", str(value)).strip()
        if _PSEUDONYM.fullmatch(ref) and any(ch.isdigit() for ch in ref):
            return ref
    raise _FieldError("resident_not_pseudonym")  # never echo: it may be a name


def _looks_like_a_name(text: str) -> bool:
    """An id of kanji/kana only (山田花子, やまだ) or ending in さん/様/氏 is probably a name."""
    key = text.strip()
    return bool(_NAME_LIKE.fullmatch(key)) or key.endswith(("さん", "様", "さま", "氏"))


def _consent_by(value: Any) -> str:
    if isinstance(value, str) and normalize(value) in _CONSENT_BY:
        return _CONSENT_BY[normalize(value)]
    raise _FieldError("consent_by_unknown", allowed="・".join(_CONSENT_BY.values()))


# ------------------------------------------------------------------------------- reading


def read_needs_file(path: Path) -> list[Any]:
    """The file's list of needs (UTF-8, with or without BOM), or the reason it is unusable."""
    name = str(path)
    raw = read_input(path)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InvalidInputError(name, [Problem("json_not_utf8", {"line": line})]) from None
    # Messages name positions only, never content; NaN / Infinity and deep nesting refused.
    doc = load_json(text, name)
    if not isinstance(doc, list):
        raise InvalidInputError(name, [Problem("not_a_list")])
    return doc


# ------------------------------------------------------------------------------- parsing


@dataclass
class ParsedNeed:
    """One valid need: its item number, the Need column values, and its categories."""

    item: int
    values: dict[str, Any]
    categories: list[tuple[str, bool]]  # (code, inferred)


@dataclass
class _Districts:
    by_code: dict[str, Any]
    by_name: dict[str, list[Any]]
    geometry: dict[int, Any] = field(default_factory=dict)


def _districts(session: Session) -> _Districts:
    by_code: dict[str, Any] = {}
    by_name: dict[str, list[Any]] = defaultdict(list)
    for d in session.execute(select(District.id, District.code, District.name, District.level)):
        by_code[normalize(d.code)] = d
        by_name[normalize(d.name)].append(d)
    return _Districts(by_code, dict(by_name))


_LEVEL_LABELS = {"municipality": "市町村（municipality）", "area": "日常生活圏域（area）"}


def _district(value: Any, districts: _Districts) -> Any:
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise _FieldError("not_text")
    key = normalize(str(value))
    found = districts.by_code.get(key)
    if found is None:
        named = districts.by_name.get(key, [])
        if len(named) > 1:
            raise _FieldError("ambiguous_district", value=value)
        if not named:
            raise _FieldError("unknown_district", value=value)
        found = named[0]
    if found.level != "district":
        raise _FieldError(
            "district_not_leaf", value=value, level=_LEVEL_LABELS.get(found.level, found.level)
        )
    return found


def _metres_outside(
    session: Session, districts: _Districts, district_id: int, lat: float, lon: float
) -> float:
    """How far (m) the point lies outside the district polygon; 0 inside."""
    geom = districts.geometry.get(district_id)
    if geom is None:
        geom = session.get(District, district_id).geometry  # type: ignore[union-attr]
        districts.geometry[district_id] = geom
    scale = math.pi / 180 * 6_371_008.8

    def to_metres(coords: Any) -> Any:
        out = coords.copy()
        out[:, 0] = (coords[:, 0] - lon) * scale * math.cos(math.radians(lat))
        out[:, 1] = (coords[:, 1] - lat) * scale
        return out

    return float(shapely.transform(geom, to_metres).distance(Point(0, 0)))


def parse_needs(
    session: Session, items: Sequence[Any], *, today: dt.date | None = None
) -> tuple[list[ParsedNeed], list[Problem], list[Problem]]:
    """Check every need; return the valid ones with every error and warning (writes nothing)."""
    today = today or today_in_japan()
    taxonomy = load_taxonomy()
    districts = _districts(session)
    parsed: list[ParsedNeed] = []
    errors: list[Problem] = []
    warnings: list[Problem] = []
    seen: dict[str, int] = {}
    for item_number, item in enumerate(items, start=1):
        need = _parse_one(
            session, item_number, item, districts, taxonomy, seen, errors, warnings, today
        )
        if need is not None:
            parsed.append(need)
    return parsed, errors, warnings


def _parse_one(
    session: Session,
    row: int,
    item: Any,
    districts: _Districts,
    taxonomy: Any,
    seen: dict[str, int],
    errors: list[Problem],
    warnings: list[Problem],
    today: dt.date,
) -> ParsedNeed | None:
    if not isinstance(item, dict):
        errors.append(Problem("not_an_object", row=row))
        return None
    errors_before = len(errors)

    def error(column: str, code: str, **params: Any) -> None:
        errors.append(Problem(*_without_values(code, params, column), row=row, column=column))

    def warn(column: str) -> Callable[[str, dict[str, Any]], None]:
        return lambda code, params: warnings.append(
            Problem(*_without_values(code, params, column), row=row, column=column)
        )

    if has_nul(item):  # refused on both engines alike (PostgreSQL cannot store it)
        for name, value in item.items():
            if has_nul(name) or has_nul(value):
                error(str(without_nul(name)), "nul_character")
        item = without_nul(item)

    def parse(name: str, fn: Callable[..., Any], *args: Any) -> Any:
        value = item.get(name)
        if value is None or (isinstance(value, str | list) and not value):
            return None
        try:
            return fn(value, *args)
        except _FieldError as exc:
            error(name, exc.code, **exc.params)
            return None

    for name in item:
        if name in FIELDS:
            continue
        code = (
            "personal_field_ignored"
            if normalize(str(name)) in _PERSONAL_FIELDS
            else "unknown_field"
        )
        warnings.append(Problem(code, {"field": name}, row=row, column=str(name)))

    values: dict[str, Any] = {}
    external_id = parse("id", _text, 100)
    if item.get("id") in (None, ""):
        error("id", "required")
    elif external_id is not None:
        if _looks_like_a_name(external_id):
            error("id", "id_looks_like_name")
        elif external_id in seen:
            error("id", "duplicate_need_id", other=seen[external_id])
        else:
            seen[external_id] = row
    values["external_id"] = external_id
    values["resident_ref"] = parse("resident", _resident)

    district = None
    if item.get("district") in (None, ""):
        error("district", "required")
    else:
        district = parse("district", _district, districts)
    values["district_id"] = district.id if district is not None else None

    lat = parse("lat", _coordinate, "lat")
    lon = parse("lon", _coordinate, "lon")
    has_lat, has_lon = item.get("lat") is not None, item.get("lon") is not None
    if has_lat != has_lon:
        error("lon" if has_lat else "lat", "coordinate_pair")
    if lat is not None and lon is not None and district is not None:
        outside = _metres_outside(session, districts, district.id, lat, lon)
        if outside > NEAR_DISTRICT_M:
            error("lat,lon", "location_outside_district", km=f"{outside / 1000:.1f}")
    values["lat"], values["lon"] = (
        (lat, lon) if lat is not None and lon is not None else (None, None)
    )

    text_errors = len(errors)
    text = parse("text", _text, MAX_TEXT)
    text_ok = len(errors) == text_errors
    values["text"] = text
    categories: list[tuple[str, bool]] = []
    raw_categories = item.get("categories")
    if raw_categories not in (None, "", []):
        categories = _stated_categories(raw_categories, taxonomy, error)
    elif text is not None:
        inferred = infer(text, taxonomy=taxonomy)
        if inferred:
            categories = [(i.code, True) for i in inferred]
            labels = "、".join(f"{taxonomy[i.code].label_ja}（{i.code}）" for i in inferred)
            warnings.append(
                Problem("categories_inferred", {"categories": labels}, row=row, column="categories")
            )
        else:
            error("categories", "categories_not_inferred")
    elif text_ok:
        error("categories", "categories_or_text_required")

    values["days"] = parse("days", _days)
    time_range = parse("time", _time_range)
    values["time_start"], values["time_end"] = time_range if time_range else (None, None)
    values["months"] = parse("months", _months)
    values["max_walk_m"] = parse("max_walk_m", _walk)
    values["transport"] = parse("transport", _boolean)
    values["age"] = parse("age", _integer, 0, 120, ("歳", "才"))
    values["attributes"] = parse("attributes", _attributes, warn("attributes")) or []
    values["recorded_on"] = parse("recorded_on", _date, today)
    values["urgency"] = parse("urgency", _urgency) or "normal"
    values["source"] = parse("source", _text, 200)
    values["consent_on"] = parse("consent_on", _date, today)
    values["consent_by"] = parse("consent_by", _consent_by)
    values["basis"] = parse("basis", _text, 200)
    if values["consent_on"] is None and values["basis"] is None and len(errors) == errors_before:
        warnings.append(Problem("basis_missing", row=row, column="basis"))

    if len(errors) > errors_before:
        return None
    return ParsedNeed(row, values, categories)


def _stated_categories(
    value: Any, taxonomy: Any, error: Callable[..., None]
) -> list[tuple[str, bool]]:
    if isinstance(value, str):
        texts: list[Any] = split_categories(value)
    elif isinstance(value, list):
        texts = value
    else:
        error("categories", "not_a_list_field")
        return []
    codes: list[str] = []
    for text in texts:
        if not isinstance(text, str) or not text.strip():
            error("categories", "not_text")
            continue
        try:
            code = taxonomy.resolve(text.strip()).code
        except UnknownCategoryError as exc:
            if exc.suggestions:
                error(
                    "categories",
                    "unknown_category_suggest",
                    value=exc.text,
                    suggestions="、".join(exc.suggestions),
                )
            else:
                error("categories", "unknown_category", value=exc.text)
            continue
        if code not in codes:
            codes.append(code)
    return [(code, False) for code in codes]


# --------------------------------------------------------------------------------- import


_COMPARED = (
    "resident_ref",
    "district_id",
    "lat",
    "lon",
    "text",
    "days",
    "time_start",
    "time_end",
    "months",
    "max_walk_m",
    "transport",
    "age",
    "attributes",
    "recorded_on",
    "urgency",
    "source",
    "consent_on",
    "consent_by",
    "basis",
)


def import_needs(
    session: Session, path: Path, *, district_allowed: Callable[[int], bool] | None = None
) -> ImportResult:
    """Create or update needs by ``id`` from a §4 JSON file, all of them or none.

    ``district_allowed`` is the caller's access rule (a coordinator records needs of their
    own areas only): a need in a district it refuses is an error on its ``district``.
    Raises :class:`InvalidInputError` listing every problem (nothing written); the caller
    commits, or rolls back for a dry run. ``result.records`` lists each need's id and
    what happened to it, for the audit log.
    """
    import_lock(session, "needs")
    items = read_needs_file(path)
    parsed, errors, warnings = parse_needs(session, items)
    if district_allowed is not None:
        for p in parsed:
            if not district_allowed(p.values["district_id"]):
                errors.append(Problem("need_outside_your_areas", row=p.item, column="district"))
        errors.sort(key=lambda e: e.row or 0)
    if errors:
        raise InvalidInputError(str(path), errors, warnings)
    result = ImportResult(warnings=warnings)
    _write(session, parsed, result)
    return result


def save_needs(session: Session, parsed: list[ParsedNeed]) -> ImportResult:
    """Create or update needs checked by :func:`parse_needs` (the intake form and the API
    check one need the way an import checks a file, then save it here); the caller
    commits. No import lock: two coordinators saving at once must both succeed."""
    result = ImportResult()
    _write(session, parsed, result)
    return result


def _chunks(items: Sequence[Any], size: int = 1000) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _write(session: Session, parsed: list[ParsedNeed], result: ImportResult) -> None:
    existing: dict[str, Need] = {}
    for chunk in _chunks([p.values["external_id"] for p in parsed]):
        # FOR UPDATE on PostgreSQL; on SQLite the write transaction (BEGIN IMMEDIATE)
        # already holds the lock. Either way a concurrent edit cannot slip in between.
        for stored in session.scalars(
            select(Need).where(Need.external_id.in_(chunk)).with_for_update()
        ):
            existing[stored.external_id] = stored
    now = utcnow()
    for p in parsed:
        need = existing.get(p.values["external_id"])
        if need is None:
            session.add(
                Need(
                    **p.values,
                    category_links=[
                        NeedCategory(category_code=c, inferred=i) for c, i in p.categories
                    ],
                    created_at=now,
                    updated_at=now,
                )
            )
            result.created += 1
            result.records.append((p.values["external_id"], "create"))
            continue
        links = {link.category_code: link.inferred for link in need.category_links}
        if all(getattr(need, k) == p.values[k] for k in _COMPARED) and links == dict(p.categories):
            result.unchanged += 1
            result.records.append((p.values["external_id"], "unchanged"))
            continue
        for key in _COMPARED:
            setattr(need, key, p.values[key])
        wanted = dict(p.categories)
        for link in list(need.category_links):
            if link.category_code not in wanted:
                need.category_links.remove(link)
            else:
                link.inferred = wanted[link.category_code]
        for code, inferred in p.categories:
            if code not in links:
                need.category_links.append(NeedCategory(category_code=code, inferred=inferred))
        need.updated_at = now  # always an UPDATE of the row, so the version goes up
        result.updated += 1
        result.records.append((p.values["external_id"], "update"))
    session.flush()

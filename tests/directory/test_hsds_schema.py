"""The HSDS export against Open Referral's published HSDS 3.0 schemas (issue 11, point 5).

The export claims the shape the HSDS API returns for ``GET /services?full=true``: a Page
(openapi.json) whose ``contents`` are nested service objects (schema/compiled/service.json).
The published files are copied in tests/data/hsds (see its README: source commit, licence,
how they were trimmed) and read here by jsonschema (Draft 2020-12) with format checks on:
uuid, uri, email and date-time by jsonschema, and the Frictionless ``datapackage_type``
the schema uses for its dates and times (date → YYYY-MM-DD, time → HH:MM[:SS] with an
optional UTC offset, as the schedule fields' own descriptions ask).

Each service is checked twice: against the schema as published (objects open), and with
every object closed to the fields the schema names, the way the specification checks its
own examples (validate_examples_json_schema.sh: additionalProperties false everywhere).

Validated: the streamed document of the demo town (public, and everything including
private, paused and ended services), the fictional town and the real-file shapes of
tests/data/real, and a document built here in which services carry every optional part
the export can write (and schedule wordings from real lists).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, ValidationError
from jsonschema.validators import extend
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012
from sqlalchemy import Engine

from directory import exports
from directory.db import make_sessionmaker, transaction
from directory.geography import import_districts, import_venues
from directory.resources import import_resources

DATA = Path(__file__).resolve().parents[1] / "data"
SCHEMAS = DATA / "hsds"
TOWN = DATA / "other_town"
START = dt.date(2026, 11, 1)

PUBLISHED = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/"
SERVICE_LIST_URI = PUBLISHED + "compiled/service_list.json"
OPENAPI_URI = PUBLISHED + "openapi.json"


def _load(name: str) -> Any:
    return json.loads((SCHEMAS / name).read_text("utf-8"))


SERVICE = _load("service_with_definitions.json")
SERVICE_LIST = _load("service_list.json")
OPENAPI = _load("openapi_services.json")

# ----------------------------------------------------------------------- the validator

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d+)?)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)?")


def _datapackage_type(validator: Any, kind: str, instance: Any, schema: Any) -> Iterator[Any]:
    """The schema types its dates and times with Frictionless ``datapackage_type`` (not
    JSON Schema ``format``): check them too, or a wrong date would pass unseen."""
    if not isinstance(instance, str):
        return
    if kind == "date":
        try:
            ok = bool(_DATE.fullmatch(instance)) and dt.date.fromisoformat(instance) is not None
        except ValueError:
            ok = False
    elif kind == "time":
        ok = bool(_TIME.fullmatch(instance))
    elif kind == "datetime":
        ok = validator.format_checker.conforms(instance, "date-time")
    else:
        ok = True
    if not ok:
        yield ValidationError(f"{instance!r} is not a valid HSDS {kind}")


_Validator = extend(Draft202012Validator, {"datapackage_type": _datapackage_type})
FORMATS = Draft202012Validator.FORMAT_CHECKER
REGISTRY: Registry[Any] = Registry().with_resources(
    [
        (SERVICE_LIST_URI, Resource(contents=SERVICE_LIST, specification=DRAFT202012)),
        (OPENAPI_URI, Resource(contents=OPENAPI, specification=DRAFT202012)),
    ]
)
_PAGE_POINTER = "#/paths/~1services/get/responses/200/content/application~1json/schema"


def _closed(node: Any) -> Any:
    """The schema with every object closed to the fields it names (stricter than HSDS,
    which leaves objects open): a field the export invents is one no consumer reads."""
    if isinstance(node, list):
        return [_closed(x) for x in node]
    if not isinstance(node, dict):
        return node
    out = {
        k: ({n: _closed(f) for n, f in v.items()} if k == "properties" else _closed(v))
        for k, v in node.items()
    }
    if node.get("type") == "object" and "properties" in node:
        out["additionalProperties"] = False
    return out


SERVICE_VALIDATOR = _Validator(SERVICE, format_checker=FORMATS, registry=REGISTRY)
CLOSED_VALIDATOR = _Validator(_closed(SERVICE), format_checker=FORMATS, registry=REGISTRY)
PAGE_VALIDATOR = _Validator(
    {"$ref": OPENAPI_URI + _PAGE_POINTER}, format_checker=FORMATS, registry=REGISTRY
)


def _errors(validator: Any, instance: Any) -> list[str]:
    out = []
    for e in validator.iter_errors(instance):
        path = "/".join(str(p) for p in e.absolute_path)
        out.append(f"{path}: {e.message}" if path else e.message)
    return out


def _check_document(document: dict[str, Any]) -> None:
    """The Page against openapi.json's GET /services response (items: service_list.json)
    and every service against service.json, open and closed."""
    assert _errors(PAGE_VALIDATOR, document) == []
    problems = {}
    for service in document["contents"]:
        found = _errors(SERVICE_VALIDATOR, service) + _errors(CLOSED_VALIDATOR, service)
        if found:
            problems[service["name"]] = found[:5]
    assert problems == {}


def _streamed(engine: Engine, **kwargs: Any) -> dict[str, Any]:
    """The document as ``tsunagu export hsds`` writes it: the streamed chunks, joined."""
    with make_sessionmaker(engine)() as s:
        data = b"".join(exports.iter_resources_hsds(s, start=START, batch_size=7, **kwargs))
    document: dict[str, Any] = json.loads(data)
    return document


# ------------------------------------------------------------------ the checker itself


def test_the_specifications_own_example_passes() -> None:
    """The checks accept valid HSDS: the specification's example of a full service (its
    times are HH:MM:SS without an offset, its objects hold every field)."""
    example = _load("example_service_full.json")
    assert _errors(SERVICE_VALIDATOR, example) == []
    assert _errors(CLOSED_VALIDATOR, example) == []
    assert _errors(PAGE_VALIDATOR, {"total_items": 1, "contents": [example]}) == []


def test_the_checks_are_on() -> None:
    """Each check this file relies on rejects a wrong value (format checks in jsonschema
    are silently off without their optional packages)."""
    good = {"id": "ac148810-d857-441c-9679-408f346de14b", "name": "x", "status": "active"}
    assert _errors(SERVICE_VALIDATOR, good) == []
    wrong = {
        "id": "K-001",
        "url": "not a uri",
        "email": "nobody",
        "status": "open",
        "last_modified": "2026-13-01",
        "assured_date": "2026/11/01",
        "schedules": [
            {
                "id": "ac148810-d857-441c-9679-408f346de14b",
                "freq": "DAILY",
                "wkst": "Mon",
                "opens_at": "9時",
            }
        ],
        "phones": [{"id": "ac148810-d857-441c-9679-408f346de14b"}],
    }
    errors = _errors(SERVICE_VALIDATOR, wrong)
    for expected in (
        "'name' is a required property",
        "id: 'K-001' is not a 'uuid'",
        "url: 'not a uri' is not a 'uri'",
        "email: 'nobody' is not a 'email'",
        "status: 'open' is not one of",
        "last_modified: '2026-13-01' is not a 'date-time'",
        "assured_date: '2026/11/01' is not a valid HSDS date",
        "schedules/0/freq: 'DAILY' is not one of",
        "schedules/0/wkst: 'Mon' is not one of",
        "schedules/0/opens_at: '9時' is not a valid HSDS time",
        "phones/0: 'number' is a required property",
    ):
        assert any(e.startswith(expected) for e in errors), (expected, errors)
    assert _errors(CLOSED_VALIDATOR, {**good, "colour": "red"})
    bad_page = {"total_items": "3", "contents": [{"id": "x"}]}
    page_errors = _errors(PAGE_VALIDATOR, bad_page)
    assert any("'3' is not of type 'integer'" in e for e in page_errors)
    assert any("'name' is a required property" in e for e in page_errors)


# ---------------------------------------------------------------------------- the demo


@pytest.fixture
def demo(demo_town: Engine) -> Engine:
    return demo_town


@pytest.mark.parametrize("include_private", [False, True])
def test_demo_town_validates(demo: Engine, include_private: bool) -> None:
    document = _streamed(demo, include_private=include_private)
    assert len(document["contents"]) == document["total_items"] > 100
    _check_document(document)
    # every 状態 reaches the status enum (終了 only in the export that includes it)
    statuses = {s["status"] for s in document["contents"]}
    assert statuses == {"active", "temporarily closed"} | (
        {"defunct"} if include_private else set()
    )


@pytest.fixture
def real_lists(engine: Engine) -> Engine:
    """The fictional town's CP932 list and the real-file shapes of tests/data/real (the
    open-data template in English keys, a GeoJSON care map with a column map)."""
    columns = json.loads((DATA / "real" / "care_map_columns.json").read_text("utf-8"))
    with transaction(engine) as s:
        import_districts(s, TOWN / "districts.geojson")
        import_venues(s, TOWN / "venues.geojson")
        import_resources(s, TOWN / "resources_cp932.csv", today=START)
        import_resources(s, DATA / "real" / "kourei_shisetsu_en.csv", skip_invalid=True)
        import_resources(
            s,
            DATA / "real" / "care_map.geojson",
            columns=columns,
            skip_invalid=True,
            id_prefix="map-",
        )
    return engine


def test_other_town_and_real_list_shapes_validate(real_lists: Engine) -> None:
    document = _streamed(real_lists, include_private=True)
    assert len(document["contents"]) > 20
    _check_document(document)


# ------------------------------------------------------- every optional part, validated

_HEADER = [
    "ID",
    "名称",
    "ふりがな",
    "種別",
    "団体名",
    "利用可能日時特記事項",
    "対象地区",
    "住所",
    "方書",
    "郵便番号",
    "電話番号",
    "FAX番号",
    "バリアフリー情報",
    "利用料金",
    "URL",
    "対象者",
    "説明",
    "状態",
    "最終確認日",
]
_ROWS = [
    [
        "FULL-1",
        "ぜんぶ体操教室",
        "ぜんぶたいそうきょうしつ",
        "体操教室",
        "架空市社会福祉協議会",
        "毎週火曜 10:00～11:30、毎月第2木曜 13:30～15:00、祝日は休み、年末年始休み",
        "本町一区",
        "架空県架空市本町1-2-3",
        "本町会館2階",
        "999-0001",
        "0120-000-001",
        "0120-000-002",
        "段差なし、車いす用トイレあり",
        "1回100円",
        "https://example.jp/taiso",
        "65歳以上",
        "椅子に座ってできる体操",
        "",
        "2026-10-01",
    ],
    [
        "FULL-2",
        "冬の隔週サロン",
        "",
        "サロン",
        "",
        "12月～3月 隔週水曜 14:00～16:00",
        "本町一区",
        "架空県架空市本町1-2-3",
        "",
        "",
        "0120-000-003",
        "",
        "",
        "無料",
        "https://www.town.example.lg.jp/福祉/冬のサロン.html?曜日=水|木",
        "",
        "",
        "休止中",
        "",
    ],
]
# Schedule wordings from real lists: each its own service, each validated.
_PHRASES = [
    "24時間",
    "毎日 9:00～17:00",
    "6月3日(火)・7月1日(火)の14時～",
    "隔週水曜 13:30～",
    "毎月15日 10時～12時",
    "最終金曜 19:00～21:00",
    "月～金 8:30～17:15 土曜日は午前のみ 祝日は利用できません",
    "9時～17時",
    "雨の日はお休み",
]
_ROWS += [
    [f"PH-{n}", f"時間の書き方{n}", "", "サロン", "", text, "本町一区"] + [""] * 12
    for n, text in enumerate(_PHRASES, 1)
]


def _csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


@pytest.fixture
def full(engine: Engine, tmp_path: Path) -> Engine:
    path = tmp_path / "full.csv"
    path.write_bytes(_csv([_HEADER, *_ROWS]))
    with transaction(engine) as s:
        import_districts(s, TOWN / "districts.geojson")
        import_venues(s, TOWN / "venues.geojson")
        import_resources(s, path, today=START)
    return engine


def _full_document(engine: Engine) -> dict[str, dict[str, Any]]:
    """The built document, validated, as service name → service."""
    document = _streamed(engine, include_private=True)
    _check_document(document)
    by_name = {s["name"]: s for s in document["contents"]}
    assert len(by_name) == len(_ROWS)
    return by_name


def test_schedule_wordings_from_real_lists_validate(full: Engine) -> None:
    by_name = _full_document(full)
    said = {text: by_name[f"時間の書き方{n}"]["schedules"] for n, text in enumerate(_PHRASES, 1)}
    assert {x.get("freq") for rows in said.values() for x in rows} == {"WEEKLY", "MONTHLY", None}
    assert said["最終金曜 19:00～21:00"][0]["byday"] == "-1FR"
    assert said["毎月15日 10時～12時"][0]["bymonthday"] == "15"
    dates = said["6月3日(火)・7月1日(火)の14時～"]
    assert [(x["count"], x["dtstart"] == x["valid_from"] == x["valid_to"]) for x in dates] == [
        (1, True),
        (1, True),
    ]
    assert {
        x["byday"] for x in said["月～金 8:30～17:15 土曜日は午前のみ 祝日は利用できません"]
    } == {
        "MO,TU,WE,TH,FR",
        "SA",
    }
    # text no rule can say is kept as words, never a schedule with invented fields
    assert [set(x) for x in said["雨の日はお休み"]] == [
        {"id", "service_id", "description", "notes"}
    ]


def test_every_optional_part_validates(full: Engine) -> None:
    by_name = _full_document(full)
    one = by_name["ぜんぶ体操教室"]
    assert {p["type"] for p in one["phones"]} == {"voice", "fax"}
    assert one["organization"]["name"] == "架空市社会福祉協議会"
    location = one["service_at_locations"][0]["location"]
    (address,) = location["addresses"]
    assert address["address_type"] == "physical"
    assert address["postal_code"] == "999-0001"
    assert address["address_2"] == "本町会館2階"
    assert location["accessibility"][0]["description"] == "段差なし、車いす用トイレあり"
    assert one["languages"][0]["code"] == "ja"
    assert one["cost_options"][0]["amount"] == 100
    assert one["cost_options"][0]["currency"] == "JPY"
    (area,) = one["service_areas"]
    assert json.loads(area["extent"])["type"] in {"Polygon", "MultiPolygon"}
    rules = {(s["freq"], s.get("byday")) for s in one["schedules"]}
    assert rules == {("WEEKLY", "TU"), ("MONTHLY", "2TH")}
    assert all(s["opens_at"].endswith("+09:00") for s in one["schedules"])
    assert any("祝日" in s.get("notes", "") for s in one["schedules"])
    assert one["attributes"][0]["taxonomy_term"]["code"]

    winter = by_name["冬の隔週サロン"]
    # a link written as an IRI (Japanese path, | in the query) is sent as a browser sends it
    assert winter["url"] == (
        "https://www.town.example.lg.jp/%E7%A6%8F%E7%A5%89/"
        "%E5%86%AC%E3%81%AE%E3%82%B5%E3%83%AD%E3%83%B3.html"
        "?%E6%9B%9C%E6%97%A5=%E6%B0%B4%7C%E6%9C%A8"
    )
    assert one["url"] == "https://example.jp/taiso"
    assert winter["status"] == "temporarily closed"
    seasons = winter["schedules"]
    assert seasons and all(s["interval"] == 2 and s["wkst"] and s["dtstart"] for s in seasons)
    assert all(s["valid_from"][5:] == "12-01" and s["valid_to"][5:] == "03-31" for s in seasons)


def test_every_export_sends_a_link_as_the_same_uri(full: Engine) -> None:
    """iCalendar's URL is a URI (RFC 5545 §3.8.4.6): the IRI link is sent the way HSDS
    sends it, and GeoJSON gives the same."""
    import icalendar

    sent = _full_document(full)["冬の隔週サロン"]["url"]
    assert sent.isascii() and "|" not in sent
    with make_sessionmaker(full)() as s:
        calendar = icalendar.Calendar.from_ical(exports.resources_ics(s, include_private=True))
        features = exports.resources_geojson(s, include_private=True)["features"]
    urls = {str(e["URL"]) for e in calendar.walk("VEVENT") if str(e["SUMMARY"]) == "冬の隔週サロン"}
    assert urls == {sent}
    (feature,) = [f for f in features if f["properties"]["name"] == "冬の隔週サロン"]
    assert feature["properties"]["url"] == sent

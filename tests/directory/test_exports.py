"""Open exports (DATA_FORMATS §6): GeoJSON, HSDS 3.0 JSON and iCalendar.

The acceptance of issue 6: every resource's and every district's calendar, expanded by an
independent RFC 5545 implementation (recurring-ical-events), gives exactly the occurrences
that ``tsunagu schedule expand`` gives for the resource's schedule text; HSDS objects carry
the HSDS 3.0 schema's required fields and their references resolve; published outputs hold
only allow-listed fields of public, not-ended resources, and never a need.

Two towns: the fictional 架空市 (a CP932 file, plus edge cases written here) and the demo
seeds, so nothing depends on one municipality.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import recurring_ical_events
import shapely
from icalendar import Calendar
from shapely.geometry import shape
from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session

from directory import exports
from directory.db import make_sessionmaker, transaction
from directory.geography import import_districts, import_venues
from directory.models import District, Resource
from directory.resources import import_resources
from directory.schedules import Occurrence, expand, parse_schedule

DATA = Path(__file__).resolve().parents[1] / "data"
TOWN = DATA / "other_town"
HSDS_SCHEMA = json.loads((DATA / "hsds" / "hsds_3.0_schema_subset.json").read_text("utf-8"))
TZ = exports.TIMEZONE
START = dt.date(2026, 11, 1)
END = dt.date(2027, 3, 31)

CANARY = "canary-9f2c-secret"
CANARY_JA = "カナリア秘匿九F二C"
NEED_CANARY_REF = "canary-need-ref-51ad"
NEED_CANARY_TEXT = "カナリア要配慮テキスト51AD 独居で夜間に不安"

# The published GeoJSON allow-list, written out: adding a property is a reviewed change.
GEOJSON_KEYS = {
    "id",
    "name",
    "kana",
    "categories",
    "category_labels",
    "organization",
    "description",
    "schedule",
    "address",
    "building",
    "phone",
    "url",
    "fee",
    "eligibility",
    "transport",
    "status",
    "status_label",
    "last_verified_on",
    "service_area",
    "location",
}

# Edge cases of the schedule language and of publishing, added to the fictional town.
EXTRA_HEADER = [
    "ID",
    "名称",
    "種別",
    "利用可能曜日",
    "開始時間",
    "終了時間",
    "利用可能日時特記事項",
    "緯度",
    "経度",
    "対象地区",
    "状態",
    "公開",
    "備考",
    "電話番号",
    "説明",
    "対象者",
    "住所",
    "メールアドレス",
    "定員",
]
EXTRA_ROWS = [
    # overlapping rules: 第1月曜 is also a Monday; expand gives it once
    [
        "X-01",
        "重なり体操",
        "体操教室",
        "",
        "",
        "",
        "月 10:00～12:00 毎月第1月曜 10:00～12:00",
        "35.03",
        "136.01",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ],
    # an end time without a start time
    [
        "X-02",
        "朝のごみ出し",
        "ゴミ出し支援",
        "月",
        "",
        "12:00",
        "年末年始休み",
        "",
        "",
        "本町二区",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ],
    # a start time without an end time, weekends, holidays closed
    [
        "X-03",
        "週末サロン",
        "サロン",
        "",
        "",
        "",
        "土日 9:00～ 祝日休み",
        "35.005",
        "136.03",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ],
    # every other week within a season that wraps the year end
    [
        "X-04",
        "冬の隔週お茶会",
        "お茶会",
        "",
        "",
        "",
        "隔週火曜 12月～3月 10:00～11:00",
        "",
        "",
        "上ノ原",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ],
    # every day, closed on holidays and 12/29–1/3, all day
    [
        "X-05",
        "毎日見守り",
        "見守り",
        "",
        "",
        "",
        "毎日 祝日休み 年末年始休み",
        "",
        "",
        "全域",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ],
    [
        "X-06",
        "月末配食",
        "配食",
        "",
        "",
        "",
        "毎月末日 10:00～11:00",
        "35.03",
        "136.03",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ],
    [
        "X-07",
        "最終金曜の買い物",
        "買い物支援",
        "",
        "",
        "",
        "最終金曜",
        "",
        "",
        "99999-W",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ],
    # a time but no days: nothing a calendar can repeat
    [
        "X-08",
        "時間だけ",
        "サロン",
        "",
        "10:00",
        "12:00",
        "",
        "",
        "",
        "新田",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ],
    # not understood: never turned into a recurrence
    [
        "X-09",
        "不定期の集い",
        "サロン",
        "",
        "",
        "",
        "月に1回程度",
        "",
        "",
        "新田",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ],
    # ended: absent from published outputs
    [
        "X-10",
        "終わった教室",
        "体操教室",
        "水",
        "10:00",
        "11:00",
        "",
        "35.005",
        "136.005",
        "",
        "終了",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ],
    # private, with a canary in every text field
    [
        "X-11",
        f"非公開の見守り {CANARY}",
        "見守り",
        "火",
        "10:00",
        "11:00",
        "",
        "35.015",
        "136.035",
        "新田",
        "",
        "否",
        f"{CANARY} {CANARY_JA}",
        f"090-{CANARY}",
        f"説明 {CANARY_JA}",
        f"対象 {CANARY_JA}",
        f"住所 {CANARY}",
        f"{CANARY}@example.jp",
        "7",
    ],
    # public, with a canary only in fields that are never published
    [
        "X-12",
        "公開サロン",
        "サロン",
        "木",
        "13:00",
        "15:00",
        "",
        "",
        "",
        "本町一区",
        "",
        "",
        f"備考 {CANARY_JA}",
        "",
        "",
        "",
        "",
        f"{CANARY}@example.jp",
        "12",
    ],
    [
        "X-13",
        "冬の木曜サロン",
        "サロン",
        "",
        "",
        "",
        "第2・第4木曜 12月～3月 祝日休み 13:00～15:00",
        "",
        "",
        "新田;上ノ原",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ],
    # partly overlapping rules with closures: a Monday the 1st comes once, holidays never
    [
        "X-15",
        "月初と月曜の体操",
        "体操教室",
        "",
        "",
        "",
        "毎月1日 10:00～12:00 毎週月曜 10:00～12:00 祝日休み",
        "",
        "",
        "本町一区",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ],
    # neither a point nor districts
    [
        "X-14",
        "どこでも電話相談",
        "見守り",
        "水",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
        "",
    ],
]

# Which resources each district's calendar holds (located in it or in a district inside it;
# serving it, a district inside it, or one around it), published ones only.
TOWN_DISTRICTS_PUBLIC = {
    "99999-01": {"K-001", "K-006", "K-008", "X-05", "X-07", "X-12", "X-15"},
    "99999-02": {"K-006", "X-01", "X-02", "X-05", "X-07"},
    "99999-03": {"K-003", "K-005", "K-006", "X-03", "X-05", "X-08", "X-09", "X-13"},
    "99999-04": {"K-002", "K-003", "K-006", "X-04", "X-05", "X-06", "X-13"},
    "99999-W": {"K-001", "K-006", "K-008", "X-01", "X-02", "X-05", "X-07", "X-12", "X-15"},
    "99999-E": {
        "K-002",
        "K-003",
        "K-005",
        "K-006",
        "X-03",
        "X-04",
        "X-05",
        "X-06",
        "X-08",
        "X-09",
        "X-13",
    },
    "99999": {
        "K-001",
        "K-002",
        "K-003",
        "K-005",
        "K-006",
        "K-008",
        "X-01",
        "X-02",
        "X-03",
        "X-04",
        "X-05",
        "X-06",
        "X-07",
        "X-08",
        "X-09",
        "X-12",
        "X-13",
        "X-15",
    },
}
TOWN_DISTRICTS_PRIVATE = {  # what include_private adds
    "99999-01": {"K-004", "K-007", "X-10"},
    "99999-02": {"K-004", "K-007"},
    "99999-03": {"X-11"},
    "99999-04": set(),
    "99999-W": {"K-004", "K-007", "X-10"},
    "99999-E": {"X-11"},
    "99999": {"K-004", "K-007", "X-10", "X-11"},
}
PRIVATE_OR_ENDED = {"K-004", "K-007", "X-10", "X-11"}


def _csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8")


@pytest.fixture
def town(engine: Engine, tmp_path: Path) -> Engine:
    extra = tmp_path / "extra.csv"
    extra.write_bytes(_csv_bytes([EXTRA_HEADER, *EXTRA_ROWS]))
    with transaction(engine) as s:
        import_districts(s, TOWN / "districts.geojson")
        import_venues(s, TOWN / "venues.geojson")
        import_resources(s, TOWN / "resources_cp932.csv", today=START)
        import_resources(s, extra, today=START)  # X-04's 隔週 counts from 3 November 2026
    return engine


@pytest.fixture
def demo(demo_town: Engine) -> Engine:
    return demo_town


def _session(engine: Engine) -> Session:
    return make_sessionmaker(engine)()


def _sources(engine: Engine, *, include_private: bool = True) -> dict[str, str]:
    """external id → the schedule text, as ``tsunagu schedule expand`` would be given it."""
    with _session(engine) as s:
        out = {}
        for r in s.scalars(select(Resource).order_by(Resource.external_id)):
            if include_private or (r.public and r.status != "ended"):
                out[r.external_id] = next((x.source_text for x in r.schedules), "") or ""
        return out


def _expected(text: str, start: dt.date, end: dt.date) -> list[Occurrence]:
    """``tsunagu schedule expand TEXT --from --to --since START`` (the import day of the
    ``town`` fixture, which anchors 隔週): nothing when it is not understood."""
    parsed = parse_schedule(text, anchor_from=START)
    if not text or not parsed.understood:
        return []
    return expand(parsed, start, end)


def _ics_occurrences(data: bytes, start: dt.date, end: dt.date) -> dict[str, list[Occurrence]]:
    """Expand a calendar with recurring-ical-events, per resource, as Occurrences."""
    calendar = Calendar.from_ical(data)
    found: dict[str, list[Occurrence]] = defaultdict(list)
    query = recurring_ical_events.of(calendar)
    for event in query.between(start - dt.timedelta(days=1), end + dt.timedelta(days=2)):
        begin = event["DTSTART"].dt
        finish: dt.datetime | None
        if isinstance(begin, dt.datetime):
            assert begin.tzinfo is not None and begin.utcoffset() == dt.timedelta(hours=9)
            begin = begin.astimezone(TZ).replace(tzinfo=None)
            finish = event["DTEND"].dt.astimezone(TZ).replace(tzinfo=None)
            if finish == begin:  # no DTEND: RFC 5545 gives a zero-length event
                finish = None
            day = begin.date()
        else:
            day = begin
            end_time = event.get("X-TSUNAGU-END-TIME")
            finish = (
                dt.datetime.combine(begin, dt.time.fromisoformat(str(end_time)))
                if end_time
                else None
            )
        if start <= day <= end:
            found[str(event["X-TSUNAGU-RESOURCE"])].append(Occurrence(begin, finish))
    return {k: sorted(v, key=Occurrence.sort_key) for k, v in found.items()}


def _mismatches(
    engine: Engine, start: dt.date, end: dt.date, *, horizon_end: dt.date | None = None
) -> tuple[dict[str, Any], int]:
    sources = _sources(engine)
    bad: dict[str, Any] = {}
    with_occurrences = 0
    with _session(engine) as s:
        for external_id, text in sources.items():
            data = exports.resource_ics(
                s, external_id, include_private=True, start=start, end=horizon_end
            )
            got = _ics_occurrences(data, start, end)
            assert set(got) <= {external_id}
            want = _expected(text, start, end)
            with_occurrences += bool(want)
            if got.get(external_id, []) != want:
                bad[external_id] = (text, got.get(external_id, [])[:4], want[:4])
    return bad, with_occurrences


# ------------------------------------------------------------------------- iCalendar


def test_resource_calendars_expand_to_schedule_expand_fictional_town(town: Engine) -> None:
    bad, counted = _mismatches(town, START, END)
    assert bad == {}
    assert counted >= 15  # not vacuous: most resources have occurrences


@pytest.mark.parametrize(
    "start", [dt.date(2026, 12, 29), dt.date(2027, 1, 1), dt.date(2027, 2, 11), dt.date(2027, 3, 2)]
)
def test_calendar_starting_on_a_closed_day_or_mid_fortnight(town: Engine, start: dt.date) -> None:
    """The first day of the window may be a holiday, 年末年始 or between two fortnights."""
    bad, _ = _mismatches(town, start, start + dt.timedelta(days=120))
    assert bad == {}


def test_whole_horizon_equals_expand(town: Engine) -> None:
    """Holidays and 年末年始 are written out over the whole (documented) horizon."""
    start, end = exports.default_window(START)
    assert end == dt.date(2028, 10, 31)
    bad, _ = _mismatches(town, start, end)
    assert bad == {}
    # and nothing is generated past the horizon (the RRULE ends there)
    with _session(town) as s:
        data = exports.resources_ics(s, include_private=True, start=start)
    late = _ics_occurrences(data, end + dt.timedelta(days=1), end + dt.timedelta(days=400))
    assert late == {}


def test_resource_calendars_expand_to_schedule_expand_demo(demo: Engine) -> None:
    bad, counted = _mismatches(demo, START, END)
    assert bad == {}
    assert counted >= 80


def test_district_calendars_hold_the_right_resources(town: Engine) -> None:
    sources = _sources(town)
    with _session(town) as s:
        for include_private in (False, True):
            for code, public in TOWN_DISTRICTS_PUBLIC.items():
                want = public | (TOWN_DISTRICTS_PRIVATE[code] if include_private else set())
                chosen = exports.district_resources(s, code, include_private=include_private)
                assert {r.external_id for r in chosen} == want, code
                data = exports.district_ics(s, code, include_private=include_private, start=START)
                got = _ics_occurrences(data, START, END)
                expected = {x: _expected(sources[x], START, END) for x in want}
                assert got == {x: occ for x, occ in expected.items() if occ}, code
                unscheduled = _unscheduled(data)
                assert unscheduled <= want
                if "X-09" in want:
                    assert "X-09" in unscheduled  # not understood: named, not guessed


def test_district_calendars_demo(demo: Engine) -> None:
    sources = _sources(demo, include_private=False)
    with _session(demo) as s:
        codes = s.scalars(
            select(District.code)
            .where(District.level.in_(("municipality", "area")))
            .order_by(District.code)
        ).all()
        some_districts = s.scalars(
            select(District.code)
            .where(District.level == "district")
            .order_by(District.code)
            .limit(5)
        ).all()
        assert len(codes) >= 4
        union: set[str] = set()
        for code in [*codes, *some_districts]:
            data = exports.district_ics(s, code, start=START)
            got = _ics_occurrences(data, START, END)
            for external_id, occurrences in got.items():
                assert occurrences == _expected(sources[external_id], START, END)
            union |= set(got)
        # every published resource with occurrences and a place appears in some area
        with_place = {
            r.external_id
            for r in exports.published_resources(s)
            if r.venue is not None or r.districts
        }
        assert {x for x in with_place if _expected(sources[x], START, END)} <= union


def _unscheduled(data: bytes) -> set[str]:
    calendar = Calendar.from_ical(data)
    values = calendar.get("X-TSUNAGU-UNSCHEDULED", [])
    values = values if isinstance(values, list) else [values]
    return {str(v).split(" ", 1)[0] for v in values}


def test_calendar_structure(town: Engine) -> None:
    with _session(town) as s:
        data = exports.resources_ics(s, start=START)
        again = exports.resources_ics(s, start=START)
        single = exports.resource_ics(s, "K-001", start=START)
    assert data == again  # deterministic: re-exports diff cleanly
    text = data.decode("utf-8")
    assert text.startswith("BEGIN:VCALENDAR\r\n") and "VERSION:2.0" in text
    assert "BEGIN:VTIMEZONE\r\nTZID:Asia/Tokyo" in text
    calendar = Calendar.from_ical(data)
    events = calendar.walk("VEVENT")
    uids = [str(e["UID"]) for e in events]
    assert len(uids) == len(set(uids))
    for event in events:
        for name in ("DTSTAMP", "DTSTART", "SUMMARY", "RRULE", "DESCRIPTION"):
            assert name in event, name
        start = event["DTSTART"].dt
        if isinstance(start, dt.datetime):
            assert event["DTSTART"].params["TZID"] == "Asia/Tokyo"
    by_resource = {str(e["X-TSUNAGU-RESOURCE"]): e for e in events}
    salon = by_resource["K-001"]
    assert str(salon["SUMMARY"]) == "本町いきいきサロン"
    assert "第２・第４木曜" in str(salon["DESCRIPTION"])  # the text as written
    rule = salon["RRULE"]
    assert rule["FREQ"] == ["MONTHLY"] and rule["BYDAY"] == ["2TH", "4TH"]
    exdates = [d.dt for x in _as_list(salon.get("EXDATE")) for d in x.dts]
    assert dt.datetime(2027, 2, 11, 10, tzinfo=TZ) in exdates  # 建国記念の日 is a Thursday
    assert "本町公民館" in str(salon["LOCATION"])
    # seasons are BYMONTH; all-day events are DATEs
    snow = by_resource["K-003"]
    assert sorted(snow["RRULE"]["BYMONTH"]) == [1, 2, 3, 12]
    assert isinstance(snow["DTSTART"].dt, dt.date)
    assert not isinstance(snow["DTSTART"].dt, dt.datetime)
    # 休止中 keeps its pattern but no session takes place
    assert str(by_resource["K-005"]["STATUS"]) == "CANCELLED"
    assert str(salon["STATUS"]) == "CONFIRMED"
    assert "X-12" in by_resource and "X-08" not in by_resource
    assert {"X-08", "X-09"} <= _unscheduled(data)
    assert b"BEGIN:VEVENT" in single and single.count(b"BEGIN:VEVENT") == 1


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def test_calendar_of_private_or_unknown_resource_is_refused(town: Engine) -> None:
    with _session(town) as s:
        for external_id in ("K-004", "X-10", "X-11", "nope"):
            with pytest.raises(exports.ExportNotFoundError):
                exports.resource_ics(s, external_id, start=START)
        assert b"BEGIN:VEVENT" in exports.resource_ics(s, "X-11", include_private=True, start=START)
        with pytest.raises(exports.ExportNotFoundError):
            exports.district_ics(s, "00000", start=START)


def test_calendar_without_events_is_still_valid(town: Engine) -> None:
    with _session(town) as s:
        data = exports.resource_ics(s, "X-09", start=START)
    calendar = Calendar.from_ical(data)
    assert calendar.walk("VEVENT") == []
    assert len(calendar.walk("VTIMEZONE")) == 1  # RFC 5545: at least one component
    assert _unscheduled(data) == {"X-09"}
    assert "月に1回程度" in data.decode("utf-8").replace("\r\n ", "")


# ------------------------------------------------------------------------------ HSDS


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# Objects the export nests that the copied subset (tests/data/hsds) does not hold, from
# the same HSDS 3.0 schema files (schema/address.json, language.json, accessibility.json,
# cost_option.json): required fields and scalar properties.
_MORE_TABLES: dict[str, dict[str, Any]] = {
    "addresses": {
        "required": [
            "id",
            "address_1",
            "city",
            "state_province",
            "postal_code",
            "country",
            "address_type",
        ],
        "tabular_required": [],
        "properties": {
            name: {"type": "string", **({"format": "uuid"} if name.endswith("id") else {})}
            for name in (
                "id",
                "location_id",
                "attention",
                "address_1",
                "address_2",
                "city",
                "region",
                "state_province",
                "postal_code",
                "country",
                "address_type",
            )
        },
    },
    "languages": {
        "required": ["id"],
        "tabular_required": [],
        "properties": {
            name: {"type": "string", **({"format": "uuid"} if name.endswith("id") else {})}
            for name in ("id", "service_id", "location_id", "phone_id", "name", "code", "note")
        },
    },
    "accessibility": {
        "required": ["id"],
        "tabular_required": [],
        "properties": {
            name: {"type": "string", **({"format": "uuid"} if name.endswith("id") else {})}
            for name in ("id", "location_id", "description", "details", "url")
        },
    },
    "cost_options": {
        "required": ["id"],
        "tabular_required": [],
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "service_id": {"type": "string", "format": "uuid"},
            "valid_from": {"type": "string", "datapackage_type": "date"},
            "valid_to": {"type": "string", "datapackage_type": "date"},
            "option": {"type": "string"},
            "currency": {"type": "string"},
            "amount": {"type": "number"},
            "amount_description": {"type": "string"},
        },
    },
}
_TABLES = {**HSDS_SCHEMA["tables"], **_MORE_TABLES}
# The nested objects each object may carry (HSDS 3.0 nested/API form).
_NESTED = {
    "services": {
        "organization": "organizations",
        "phones": "phones",
        "schedules": "schedules",
        "service_areas": "service_areas",
        "service_at_locations": "service_at_locations",
        "languages": "languages",
        "cost_options": "cost_options",
        "attributes": "attributes",
    },
    "service_at_locations": {"location": "locations"},
    "locations": {"addresses": "addresses", "accessibility": "accessibility"},
    "attributes": {"taxonomy_term": "taxonomy_terms"},
    "taxonomy_terms": {"taxonomy_detail": "taxonomies"},
}
# Objects the same id may name from many services (a shared venue, a district, an
# organization, a category): one object, repeated by reference.
_SHARED = {
    "organizations",
    "locations",
    "addresses",
    "service_areas",
    "taxonomy_terms",
    "taxonomies",
}
_REFERENCES = {  # (table, field) → table it points to
    ("services", "organization_id"): "organizations",
    ("phones", "service_id"): "services",
    ("service_at_locations", "service_id"): "services",
    ("service_at_locations", "location_id"): "locations",
    ("schedules", "service_id"): "services",
    ("taxonomy_terms", "taxonomy_id"): "taxonomies",
    ("attributes", "link_id"): "services",
    ("attributes", "taxonomy_term_id"): "taxonomy_terms",
    ("addresses", "location_id"): "locations",
    ("accessibility", "location_id"): "locations",
    ("languages", "service_id"): "services",
    ("cost_options", "service_id"): "services",
}
_PAGE_KEYS = {
    "total_items",
    "total_pages",
    "page_number",
    "size",
    "first_page",
    "last_page",
    "empty",
    "contents",
}


def _flatten(page: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """The nested service objects as HSDS tables (each object once, its nested objects
    replaced by nothing), checking that an id repeated by reference names one object."""
    tables: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    parents: dict[tuple[str, str], str] = {}

    def walk(table: str, item: dict[str, Any], parent: str | None) -> None:
        assert isinstance(item, dict), table
        flat = {k: v for k, v in item.items() if k not in _NESTED.get(table, {})}
        seen = tables[table].get(flat["id"])
        if seen is None:
            tables[table][flat["id"]] = flat
        else:
            assert table in _SHARED, (table, "id repeated", flat["id"])
            if table == "service_areas":  # the extent is written on the first one only
                assert "extent" not in flat, flat
                flat = {**flat, "extent": seen.get("extent")}
            assert {k: v for k, v in flat.items() if v is not None} == seen, (table, flat)
        for key, child_table in _NESTED.get(table, {}).items():
            if key not in item:
                continue
            children = item[key] if isinstance(item[key], list) else [item[key]]
            for child in children:
                walk(child_table, child, flat["id"])
                if child_table not in _SHARED:
                    parents[(child_table, child["id"])] = flat["id"]

    assert set(page) == _PAGE_KEYS
    assert page["total_items"] == page["size"] == len(page["contents"])
    assert page["empty"] is (not page["contents"])
    for service in page["contents"]:
        walk("services", service, None)
    return {table: list(rows.values()) for table, rows in tables.items()}


def _check_hsds(page: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Every object against the HSDS 3.0 schema (tests/data/hsds and _MORE_TABLES):
    required fields, field names, types, formats, enums; ids unique per object (a shared
    object is one object); references resolve. Returns the objects as tables."""
    json.dumps(page)  # serialisable
    document = _flatten(page)
    ids: dict[str, set[str]] = {}
    all_ids: list[str] = []
    for table, rows in document.items():
        spec = _TABLES[table]
        ids[table] = {row["id"] for row in rows}
        all_ids.extend(row["id"] for row in rows)
        for row in rows:
            for name in spec["required"]:
                assert isinstance(row.get(name), str | int | float), (table, name, row)
                if not (table == "addresses" and name in ("postal_code", "state_province")):
                    assert row[name] != "", (table, name, row)  # "" when 住所 does not say
            for name, value in row.items():
                assert name in spec["properties"], (table, name)
                prop = spec["properties"][name]
                if prop["type"] == "number":
                    assert isinstance(value, int | float) and not isinstance(value, bool)
                else:
                    assert isinstance(value, str), (table, name, value)
                if prop.get("format") == "uuid":
                    assert _UUID.fullmatch(value), (table, name, value)
                    assert uuid.UUID(value).version == 5
                if "enum" in prop:
                    assert value in prop["enum"], (table, name, value)
                if prop.get("datapackage_type") == "date":
                    dt.date.fromisoformat(value)
    assert len(all_ids) == len(set(all_ids))
    for (table, field), target in _REFERENCES.items():
        for row in document.get(table, []):
            if field in row:
                assert row[field] in ids[target], (table, field)
    for row in document.get("taxonomy_terms", []):
        if "parent_id" in row:  # a parent term is named by its stable id
            assert row["parent_id"] != row["id"]
    for row in document.get("schedules", []):
        for day in row.get("byday", "").split(",") if row.get("byday") else []:
            assert re.fullmatch(r"(-?[1-5])?(MO|TU|WE|TH|FR|SA|SU)", day), day
            if row["freq"] == "WEEKLY":
                assert len(day) == 2
        for key in ("opens_at", "closes_at"):
            if key in row:
                assert re.fullmatch(r"\d{2}:\d{2}\+09:00", row[key])
        assert row["description"]  # the words as written, always
    for row in document.get("service_areas", []):
        assert row["extent_type"] in ("geojson", "topojson", "kml", "text")
        geometry = shape(json.loads(row["extent"]))  # every district's extent, once
        assert geometry.is_valid and not geometry.is_empty
    for row in document.get("locations", []):
        if "latitude" in row:
            assert 20 <= row["latitude"] <= 46 and 122 <= row["longitude"] <= 154
    for row in document.get("phones", []):
        assert row["type"] in ("voice", "fax")
    return document


def _service(page: dict[str, Any], external_id: str) -> dict[str, Any]:
    wanted = exports.stable_id("service", external_id)
    found = [s for s in page["contents"] if s["id"] == wanted]
    assert len(found) == 1, external_id
    return found[0]


def test_hsds_fictional_town(town: Engine) -> None:
    with _session(town) as s:
        document = exports.resources_hsds(s, start=START)
        again = exports.resources_hsds(s, start=START)
        everything = exports.resources_hsds(s, include_private=True, start=START)
    tables = _check_hsds(document)
    _check_hsds(everything)
    assert document == again
    services = {row["name"]: row for row in document["contents"]}
    assert len(services) == len(document["contents"])
    assert services["本町いきいきサロン"]["status"] == "active"
    assert services["新田お茶のみ会"]["status"] == "temporarily closed"  # 休止中
    ended = [row for row in everything["contents"] if row["name"] == "終わった教室"]
    assert ended and ended[0]["status"] == "defunct"
    # seasons: one schedule per season in the window; 隔週 keeps the weeks of its anchor
    # (imported on 1 November 2026: Tuesday 3 November, so 1 December is in step)
    winter = _service(document, "X-04")["schedules"]
    assert [(w["valid_from"], w["valid_to"]) for w in winter] == [
        ("2026-12-01", "2027-03-31"),
        ("2027-12-01", "2028-03-31"),
    ]
    assert all(
        w["interval"] == 2 and w["dtstart"] == "2026-12-01" and w["byday"] == "TU" for w in winter
    )
    daily = _service(document, "X-05")["schedules"]
    assert daily[0]["freq"] == "WEEKLY" and daily[0]["byday"] == "MO,TU,WE,TH,FR,SA,SU"
    assert "祝日" in daily[0]["notes"] and "年末年始" in daily[0]["notes"]
    vague = _service(document, "X-09")["schedules"]
    assert len(vague) == 1 and "freq" not in vague[0] and "月に1回程度" in vague[0]["notes"]
    # served districts become service areas with GeoJSON extents
    areas = _service(document, "K-003")["service_areas"]
    assert sorted(a["name"] for a in areas) == ["上ノ原", "新田"]
    # a service without 団体名 still has an organization (tabular_required)
    orphan = services["毎日見守り"]
    assert orphan["organization"]["name"] == "（運営団体の登録なし）"
    assert orphan["organization_id"] == orphan["organization"]["id"]
    # phones carry their type; every service says its language
    salon = _service(document, "K-001")
    assert salon["phones"] and all(p["type"] == "voice" for p in salon["phones"])
    assert all(s["languages"][0]["code"] == "ja" for s in document["contents"])
    assert len(tables["services"]) == len(document["contents"])


def test_hsds_ids_are_stable_across_reimport(town: Engine) -> None:
    with _session(town) as s:
        before = exports.resources_hsds(s, start=START)
    with transaction(town) as s:
        import_resources(s, TOWN / "resources_cp932.csv")
    with _session(town) as s:
        after = exports.resources_hsds(s, start=START)
    assert before == after
    assert before["contents"][0]["id"] == exports.stable_id("service", "K-001")


def test_hsds_demo(demo: Engine) -> None:
    with _session(demo) as s:
        document = exports.resources_hsds(s, start=START)
        published = exports.published_resources(s)
    tables = _check_hsds(document)
    assert len(document["contents"]) == len(published) >= 90
    assert tables["locations"] and tables["service_areas"] and tables["schedules"]
    assert tables["addresses"] and tables["cost_options"] and tables["phones"]
    assert {t["code"] for t in tables["taxonomy_terms"]} >= {"salon", "gathering", "support"}
    # an address read off 住所 「宮城県加美町…」
    assert {(a["state_province"], a["city"], a["country"]) for a in tables["addresses"]} >= {
        ("宮城県", "加美町", "JP")
    }
    # a district's polygon is written once, however many services serve it
    extents = [
        area["extent"]
        for service in document["contents"]
        for area in service.get("service_areas", [])
        if "extent" in area
    ]
    references = sum(len(service.get("service_areas", [])) for service in document["contents"])
    assert len(extents) == len(set(extents)) == len(tables["service_areas"]) < references


# --------------------------------------------------------------------------- GeoJSON


def _check_geojson(collection: dict[str, Any]) -> None:
    json.dumps(collection)
    assert collection["type"] == "FeatureCollection"
    assert set(collection) == {"type", "features"}
    for feature in collection["features"]:
        assert feature["type"] == "Feature"
        assert set(feature["properties"]) == GEOJSON_KEYS
        assert feature["id"] == feature["properties"]["id"]
        geometry = feature["geometry"]
        assert geometry["type"] in ("Point", "Polygon", "MultiPolygon")
        geom = shape(geometry)
        assert geom.is_valid and not geom.is_empty
        lon_min, lat_min, lon_max, lat_max = geom.bounds
        assert 122 <= lon_min <= lon_max <= 154 and 20 <= lat_min <= lat_max <= 46
        if geometry["type"] == "Point":
            assert feature["properties"]["location"] == "point"
        else:
            assert feature["properties"]["location"] == "service_area"
            polygons = getattr(geom, "geoms", [geom])
            assert all(p.exterior.is_ccw for p in polygons)  # RFC 7946 right-hand rule


def test_geojson_fictional_town(town: Engine) -> None:
    with _session(town) as s:
        collection = exports.resources_geojson(s)
        everything = exports.resources_geojson(s, include_private=True)
    _check_geojson(collection)
    _check_geojson(everything)
    by_id = {f["id"]: f for f in collection["features"]}
    salon = by_id["K-001"]
    assert salon["geometry"] == {"type": "Point", "coordinates": [136.01, 35.01]}
    props = salon["properties"]
    assert props["categories"] == ["salon"] and props["category_labels"] == ["サロン"]
    assert props["schedule"] == "毎月 第2・第4木曜 10:00～12:00（祝日休み）"
    assert props["status"] == "active" and props["last_verified_on"] == "2024-04-01"
    # no point: the union of the served districts (新田 + 上ノ原 = 東部)
    snow = by_id["K-003"]
    assert snow["properties"]["location"] == "service_area"
    east = shapely.box(136.02, 35.0, 136.04, 35.04)
    assert shape(snow["geometry"]).symmetric_difference(east).area < 1e-10
    assert sorted(snow["properties"]["service_area"]) == ["上ノ原", "新田"]
    assert "X-14" not in by_id  # neither a point nor districts: nothing to draw
    assert by_id["K-005"]["properties"]["status_label"] == "休止中"


def test_geojson_demo(demo: Engine) -> None:
    with _session(demo) as s:
        collection = exports.resources_geojson(s)
        published = exports.published_resources(s)
    _check_geojson(collection)
    assert len(collection["features"]) >= 0.9 * len(published)
    assert any(f["properties"]["location"] == "service_area" for f in collection["features"])


# ------------------------------------------------------------------- publishing rules


def _ids_in_outputs(session: Session, include_private: bool) -> dict[str, set[str]]:
    geo = exports.resources_geojson(session, include_private=include_private)
    hsds = exports.resources_hsds(session, include_private=include_private, start=START)
    ics = exports.resources_ics(session, include_private=include_private, start=START)
    service_ids = {row["id"] for row in hsds["contents"]}
    calendar = Calendar.from_ical(ics)
    return {
        "geojson": {f["id"] for f in geo["features"]},
        "hsds": {
            x for x in _sources_ids(session) if exports.stable_id("service", x) in service_ids
        },
        "ics": {str(e["X-TSUNAGU-RESOURCE"]) for e in calendar.walk("VEVENT")} | _unscheduled(ics),
    }


def _sources_ids(session: Session) -> list[str]:
    return list(session.scalars(select(Resource.external_id)))


def test_published_outputs_hold_public_not_ended_resources_only(town: Engine) -> None:
    with _session(town) as s:
        public = _ids_in_outputs(s, include_private=False)
        everything = _ids_in_outputs(s, include_private=True)
    for name, found in public.items():
        assert not found & PRIVATE_OR_ENDED, name
    for name, found in everything.items():
        assert found >= PRIVATE_OR_ENDED, name
    assert "X-14" in public["hsds"] and "K-005" in public["ics"]  # paused stays listed


def _plant_need(engine: Engine) -> bool:
    """Insert a need carrying the canary when the needs model exists; False otherwise."""
    try:
        from matching.models import Need
    except ImportError:  # pragma: no cover - the needs model arrives with another change
        return False
    if not inspect(engine).has_table("need"):  # pragma: no cover
        return False
    with transaction(engine) as s:
        district = s.scalar(select(District).where(District.code == "99999-03"))
        assert district is not None
        s.add(
            Need(
                external_id="N-CANARY",
                resident_ref=NEED_CANARY_REF,
                district_id=district.id,
                text=NEED_CANARY_TEXT,
                lat=35.011,
                lon=136.031,
                recorded_on=START,
            )
        )
    return True


def test_privacy_canary_never_reaches_a_published_output(town: Engine) -> None:
    planted_need = _plant_need(town)
    outputs: dict[str, str] = {}
    with _session(town) as s:
        outputs["geojson"] = json.dumps(exports.resources_geojson(s), ensure_ascii=False)
        outputs["hsds"] = json.dumps(exports.resources_hsds(s, start=START), ensure_ascii=False)
        outputs["ics"] = exports.resources_ics(s, start=START).decode("utf-8")
        for code in TOWN_DISTRICTS_PUBLIC:
            outputs[f"ics {code}"] = exports.district_ics(s, code, start=START).decode("utf-8")
        for r in exports.published_resources(s):
            outputs[f"ics {r.external_id}"] = exports.resource_ics(
                s, r.external_id, start=START
            ).decode("utf-8")
        # --all may show private resources, but never a need
        private = {
            "geojson --all": json.dumps(
                exports.resources_geojson(s, include_private=True), ensure_ascii=False
            ),
            "hsds --all": json.dumps(
                exports.resources_hsds(s, include_private=True, start=START), ensure_ascii=False
            ),
            "ics --all": exports.resources_ics(s, include_private=True, start=START).decode(
                "utf-8"
            ),
        }
    unfolded = {k: v.replace("\r\n ", "") for k, v in {**outputs, **private}.items()}
    need_canaries = (NEED_CANARY_REF, "カナリア要配慮テキスト51AD", "N-CANARY")
    for name, text in unfolded.items():
        for canary in need_canaries:
            assert canary not in text, (name, canary)
        if name in outputs:
            for canary in (CANARY, CANARY_JA, "カナリア"):
                assert canary not in text, (name, canary)
    # the canary is detectable where it is allowed (--all), so the check above can fail
    assert CANARY in unfolded["geojson --all"] and CANARY in unfolded["ics --all"]
    # the never-published fields of a public resource (備考, extra columns) stay out even then
    assert "備考 カナリア" not in unfolded["hsds --all"]
    try:
        import matching.models  # noqa: F401
    except ImportError:  # pragma: no cover - the resource canaries still guard the allow-list
        return
    assert planted_need

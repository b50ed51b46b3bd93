"""Schedules in ordinary Japanese → RRULEs → occurrences.

Every expected occurrence below was written by hand from a printed calendar (November 2026
starts on a Sunday; holidays per the Cabinet Office list: 2026-05-03/04/05 + 振替休日 05-06,
2026-09-21/22/23, 2026-10-12, 2026-11-03, 2026-11-23, 2027-01-01, 2027-01-11,
2027-02-11, 2027-02-23, 2027-03-21 + 振替休日 03-22, 2027-04-29). Nothing here is computed
with the code under test.
"""

from __future__ import annotations

import datetime as dt
import time

import jpholiday
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from directory import models
from directory.schedules import (
    Occurrence,
    ParsedSchedule,
    ScheduleParse,
    describe,
    expand,
    parse_schedule,
    parse_time,
    parse_time_range,
    to_rrule_set,
)

# --- the table ---------------------------------------------------------------------------
#
# (text, period, {time: days}). period is a month "2026-11" or "FROM/TO". time is
# "HH:MM-HH:MM", "HH:MM-" (no end), "-HH:MM" (no start) or "" (no time). days are day
# numbers of the period's month ("4-8" = 4 to 8) or "m/d" (year from the period).

NOV = "2026-11"  # Sun 1; holidays Tue 3 (文化の日), Mon 23 (勤労感謝の日)
DEC = "2026-12"  # Tue 1; no holidays
JAN = "2027-01"  # Fri 1 (元日), Mon 11 (成人の日)

CASES: list[tuple[str, str, dict[str, str]]] = [
    # weekdays, every spelling
    ("月水金 10:00～12:00", NOV, {"10:00-12:00": "2 4 6 9 11 13 16 18 20 23 25 27 30"}),
    ("月水金 10:00～12:00 祝日休み", NOV, {"10:00-12:00": "2 4 6 9 11 13 16 18 20 25 27 30"}),
    (
        "月・水・金 １０：００～１２：００ 祝日は休み",
        NOV,
        {"10:00-12:00": "2 4 6 9 11 13 16 18 20 25 27 30"},
    ),
    ("月,水,金 10時～12時 祝祭日休み", NOV, {"10:00-12:00": "2 4 6 9 11 13 16 18 20 25 27 30"}),
    ("月、水、金　10時〜12時　祝日休み", NOV, {"10:00-12:00": "2 4 6 9 11 13 16 18 20 25 27 30"}),
    ("月曜日・水曜日 13:30-15:00", NOV, {"13:30-15:00": "2 4 9 11 16 18 23 25 30"}),
    ("月曜・木曜 祝日を除く", NOV, {"": "2 5 9 12 16 19 26 30"}),
    ("(月)(木) 10:00～", NOV, {"10:00-": "2 5 9 12 16 19 23 26 30"}),
    ("（月）（木）", NOV, {"": "2 5 9 12 16 19 23 26 30"}),
    ("平日 9:00～17:00 祝日休み", NOV, {"9:00-17:00": "2 4-6 9-13 16-20 24-27 30"}),
    ("土日", NOV, {"": "1 7 8 14 15 21 22 28 29"}),
    ("土・日 10:00～15:00", NOV, {"10:00-15:00": "1 7 8 14 15 21 22 28 29"}),
    ("週末", NOV, {"": "1 7 8 14 15 21 22 28 29"}),
    ("毎日 10:00～11:00", DEC, {"10:00-11:00": "1-31"}),
    ("毎週火曜 10:00～11:30", NOV, {"10:00-11:30": "3 10 17 24"}),
    ("毎週火曜日 10:00～11:30 祝日休み", NOV, {"10:00-11:30": "10 17 24"}),
    ("火曜日", DEC, {"": "1 8 15 22 29"}),
    ("火曜と金曜", DEC, {"": "1 4 8 11 15 18 22 25 29"}),
    ("月～金 8:30～17:15", JAN, {"8:30-17:15": "1 4-8 11-15 18-22 25-29"}),
    ("月曜～金曜 8:30～17:15 祝日休み 年末年始休み", JAN, {"8:30-17:15": "4-8 12-15 18-22 25-29"}),
    ("月曜日から金曜日まで", JAN, {"": "1 4-8 11-15 18-22 25-29"}),
    # closures only: the other days
    ("日曜休み", NOV, {"": "2-7 9-14 16-21 23-28 30"}),
    ("土日祝休み 9:00～17:00", NOV, {"9:00-17:00": "2 4-6 9-13 16-20 24-27 30"}),
    ("土・日・祝日は休み", NOV, {"": "2 4-6 9-13 16-20 24-27 30"}),
    ("日曜・祝日を除く毎日", NOV, {"": "2 4-7 9-14 16-21 24-28 30"}),
    ("定休日：日曜・祝日", NOV, {"": "2 4-7 9-14 16-21 24-28 30"}),
    ("毎日 10:00～16:00 日曜休み", DEC, {"10:00-16:00": "1-5 7-12 14-19 21-26 28-31"}),
    # nth weekday of the month
    ("木 10:00～12:00 第2・第4木曜", NOV, {"10:00-12:00": "12 26"}),
    ("第2、第4木曜日 10時～12時", DEC, {"10:00-12:00": "10 24"}),
    ("毎月第1月曜 13時30分～15時", NOV, {"13:30-15:00": "2"}),
    ("第３水曜", NOV, {"": "18"}),
    ("第1・第3火曜 祝日休み", NOV, {"": "17"}),
    ("最終金曜 10:00-11:00", "2026-10", {"10:00-11:00": "30"}),
    ("月末の金曜", JAN, {"": "29"}),
    ("毎月最後の水曜", DEC, {"": "30"}),
    ("第2土曜", JAN, {"": "9"}),
    ("第5木曜", "2026-10", {"": "29"}),  # October 2026 has five Thursdays
    ("第5木曜", NOV, {}),  # November 2026 has four
    ("第1・3・5木曜 10:00～", "2026-10", {"10:00-": "1 15 29"}),
    ("第一・第三木曜", "2026-10", {"": "1 15"}),
    ("木 第2・第4", "2026-10", {"": "8 22"}),
    ("木 10:00～12:00 第2・4木曜日（祝日の場合は休み）", "2027-02", {"10:00-12:00": "25"}),
    ("第1月曜と第3水曜 10時～", NOV, {"10:00-": "2 18"}),
    ("毎月第2・第4土曜日 午後1時半～3時半", NOV, {"13:30-15:30": "14 28"}),
    # day of the month
    ("毎月15日 10:00～", NOV, {"10:00-": "15"}),
    ("毎月1日・15日", "2026-11-01/2027-01-31", {"": "11/1 11/15 12/1 12/15 1/1 1/15"}),
    ("毎月 1・15日 年末年始休み", "2026-11-01/2027-01-31", {"": "11/1 11/15 12/1 12/15 1/15"}),
    ("毎月10日と20日", "2026-09-01/2026-10-31", {"": "9/10 9/20 10/10 10/20"}),
    ("毎月3日 祝日休み", "2026-11-01/2026-12-31", {"": "12/3"}),
    ("毎月末", "2027-01-01/2027-03-31", {"": "1/31 2/28 3/31"}),
    # every other week: anchored on the first matching day from the start of the range
    ("隔週火曜 10:00～12:00", "2026-11-05/2026-12-31", {"10:00-12:00": "11/10 11/24 12/8 12/22"}),
    ("隔週 火・金", NOV, {"": "3 6 17 20"}),
    ("火 10:00～12:00 隔週", DEC, {"10:00-12:00": "1 15 29"}),
    ("火 10:00～12:00 隔週火曜", DEC, {"10:00-12:00": "1 15 29"}),
    ("2週間に1回 水曜 祝日休み", "2026-09-09/2026-09-30", {"": "9/9"}),
    # times
    ("火 10時半～12時", DEC, {"10:30-12:00": "1 8 15 22 29"}),
    ("水 午前10時～午後3時", DEC, {"10:00-15:00": "2 9 16 23 30"}),
    ("木 午後1時～3時", DEC, {"13:00-15:00": "3 10 17 24 31"}),
    ("金 １３：３０－１５：００", DEC, {"13:30-15:00": "4 11 18 25"}),
    ("土 9:00~", DEC, {"9:00-": "5 12 19 26"}),
    ("日 10:00から12:00まで", DEC, {"10:00-12:00": "6 13 20 27"}),
    ("月 午前中", DEC, {"9:00-12:00": "7 14 21 28"}),
    ("火 午後", DEC, {"13:00-17:00": "1 8 15 22 29"}),
    ("水 午前１０時～正午", DEC, {"10:00-12:00": "2 9 16 23 30"}),
    ("木 ～12:00", DEC, {"-12:00": "3 10 17 24 31"}),
    ("金 10時頃～12時ごろ（要予約）", DEC, {"10:00-12:00": "4 11 18 25"}),
    ("午後１時半～３時 月", DEC, {"13:30-15:00": "7 14 21 28"}),
    ("10:00～12:00～ 第1・第3金曜", NOV, {"10:00-12:00": "6 20"}),  # a range in 開始時間
    ("夜7時～9時 水", DEC, {"19:00-21:00": "2 9 16 23 30"}),
    ("土曜 10：00〜11：30 雨天中止 予約制", DEC, {"10:00-11:30": "5 12 19 26"}),
    # seasons, across the year end
    ("第2・第4木曜 10:00～12:00 12月～3月", DEC, {"10:00-12:00": "10 24"}),
    ("第2・第4木曜 10:00～12:00 12月～3月", JAN, {"10:00-12:00": "14 28"}),
    ("第2・第4木曜 10:00～12:00 12月～3月", "2027-04", {}),
    ("第2・第4木曜 10:00～12:00 12月～3月 祝日休み", "2027-02", {"10:00-12:00": "25"}),
    (
        "毎月第1月曜 13時30分～15時 12月～3月",
        "2026-11-01/2027-04-30",
        {"13:30-15:00": "12/7 1/4 2/1 3/1"},
    ),
    ("冬期（12月～3月） 月水金 8:00～", "2027-03-29/2027-04-05", {"8:00-": "3/29 3/31"}),
    ("冬季のみ 土", "2026-11-20/2026-12-10", {"": "12/5"}),
    ("冬期間 火", "2026-11-20/2026-12-10", {"": "12/1 12/8"}),
    ("降雪時 毎日 7:00～9:00", "2026-11-29/2026-12-02", {"7:00-9:00": "12/1 12/2"}),
    ("降雪時 7:00～", "2027-03-30/2027-04-02", {"7:00-": "3/30 3/31"}),
    ("4月～11月 第1日曜", "2026-11-01/2027-04-30", {"": "11/1 4/4"}),
    ("冬期（11月～3月） 水", "2026-10-26/2026-11-10", {"": "11/4"}),
    ("8月休み 毎月1日", "2026-07-01/2026-09-30", {"": "7/1 9/1"}),
    ("12月から3月まで 毎日 年末年始休み", "2026-11-30/2027-01-05", {"": "12/1-12/28 1/4 1/5"}),
    # 年末年始 (12/29–1/3)
    ("月水金 年末年始は休み", "2026-12-21/2027-01-08", {"": "12/21 12/23 12/25 12/28 1/4 1/6 1/8"}),
    ("火木 年末年始除く", "2026-12-21/2027-01-08", {"": "12/22 12/24 1/5 1/7"}),
    ("毎日 年末年始休み", "2026-12-28/2027-01-04", {"": "12/28 1/4"}),
    ("年中無休(年末年始を除く)", "2026-12-25/2027-01-06", {"": "12/25-12/28 1/4 1/5 1/6"}),
    ("火木 年末年始も実施", "2026-12-28/2027-01-01", {"": "12/29 12/31"}),
    # holidays: Golden Week with 振替休日, 国民の休日, a 振替休日 in March
    ("平日 10:00～12:00 祝日休み", "2026-05", {"10:00-12:00": "1 7 8 11-15 18-22 25-29"}),
    ("水 祝日休み", "2026-05", {"": "13 20 27"}),
    ("水 祝日も実施", "2026-05", {"": "6 13 20 27"}),
    ("月火 祝日休み", "2026-09", {"": "1 7 8 14 15 28 29"}),
    ("日 祝日休み", "2027-03", {"": "7 14 28"}),
    ("月 祝日休み", "2027-03", {"": "1 8 15 29"}),
    # a comma after days marked as open days ends the closure list
    ("10時～11時30分 毎週火曜、祝日休み", NOV, {"10:00-11:30": "10 17 24"}),
    ("10時～14時 第1・第3月曜、祝日休み", NOV, {"10:00-14:00": "2 16"}),
    ("13時30分～15時 隔週火曜、祝日休み", NOV, {"13:30-15:00": "17"}),
    # several patterns in one text
    (
        "月・水 10時～12時、土 13時～15時",
        NOV,
        {"10:00-12:00": "2 4 9 11 16 18 23 25 30", "13:00-15:00": "7 14 21 28"},
    ),
    (
        "月水 10:00～12:00、13:00～15:00",
        DEC,
        {"10:00-12:00": "2 7 9 14 16 21 23 28 30", "13:00-15:00": "2 7 9 14 16 21 23 28 30"},
    ),
    (
        "第2木曜 10:00～12:00 毎週月曜 14:00～15:00",
        DEC,
        {"10:00-12:00": "10", "14:00-15:00": "7 14 21 28"},
    ),
    (
        "10:00～12:00 月水、13:00～15:00 金",
        NOV,
        {"10:00-12:00": "2 4 9 11 16 18 23 25 30", "13:00-15:00": "6 13 20 27"},
    ),
    # paused: still expanded (the resource's status decides)
    ("休止中 火 10:00～12:00", DEC, {"10:00-12:00": "1 8 15 22 29"}),
    # nothing to expand
    ("10:00～12:00", DEC, {}),
    ("不定期", DEC, {}),
    # months that are not one window: a list, 奇数月 / 偶数月, closed months
    (
        "10:00～11:30 5月・7月・9月・11月の第4金曜",
        "2026-05-01/2026-11-30",
        {"10:00-11:30": "5/22 7/24 9/25 11/27"},
    ),
    ("5月、7月、9月の第1月曜 祝日休み", "2026-05-01/2026-09-30", {"": "7/6 9/7"}),
    ("奇数月 第2土曜", "2026-09-01/2027-01-31", {"": "9/12 11/14 1/9"}),
    ("偶数月の第2土曜 10:00～12:00", "2026-09-01/2027-01-31", {"10:00-12:00": "10/10 12/12"}),
    ("隔月（奇数月） 第1日曜", "2026-10-01/2027-01-31", {"": "11/1 1/3"}),
    ("毎月第2土曜（8月は休み）", "2026-07-01/2026-09-30", {"": "7/11 9/12"}),
    ("毎月第3日曜日（1月・8月は休み）", "2026-12-01/2027-02-28", {"": "12/20 2/21"}),
    ("2月と8月を除く毎月第3土曜", "2027-01-01/2027-03-31", {"": "1/16 3/20"}),
    ("1月・8月休み 毎月1日", "2026-12-01/2027-02-28", {"": "12/1 2/1"}),
    ("4月～11月、8月休み 第1日曜", "2026-07-01/2026-12-31", {"": "7/5 9/6 10/4 11/1"}),
    (
        "第2・第4火曜日（8月・12月は休み） 祝日休み",
        "2026-08-01/2027-01-31",
        {"": "9/8 10/13 10/27 11/10 11/24 1/12 1/26"},  # 9/22 国民の休日
    ),
    (
        "毎週水曜 9時30分～11時30分（8月は休み）",
        "2026-07-27/2026-09-09",
        {"9:30-11:30": "7/29 9/2 9/9"},
    ),
    ("隔週 水曜（8月休み）", "2026-07-22/2026-09-10", {"": "7/22 9/2"}),
    # seasons written as 4から11月, 4～11月, whole-month date ranges, 冬期間のみ
    ("4月から11月 第1日曜", "2026-11-01/2027-04-30", {"": "11/1 4/4"}),
    ("4～11月 毎週水曜", "2026-11-20/2026-12-10", {"": "11/25"}),
    ("12月1日～3月31日 火", "2026-11-20/2026-12-10", {"": "12/1 12/8"}),
    ("12/1～3/31 毎日 7:00～9:00", "2027-03-30/2027-04-02", {"7:00-9:00": "3/30 3/31"}),
    (
        "12月1日から3月31日まで 毎日 年末年始休み",
        "2026-11-30/2027-01-05",
        {"": "12/1-12/28 1/4 1/5"},
    ),
    ("冬期間のみ 毎週木曜", "2026-11-20/2026-12-10", {"": "12/3 12/10"}),
    ("毎週火曜（12月～3月） 祝日休み", "2027-02", {"": "2 9 16"}),
    # a bracket that only names the activity is kept in the text, not read
    ("13:30～15:00 毎月10日（定例会）", NOV, {"13:30-15:00": "10"}),
    ("毎月第1水曜（定例会） 13時30分～15時", DEC, {"13:30-15:00": "2"}),
    ("第1・第3水曜（体操）", NOV, {"": "4 18"}),
    ("毎週火曜 (雨天中止)", NOV, {"": "3 10 17 24"}),
    ("毎週火曜（各地区の停留所を巡回）", DEC, {"": "1 8 15 22 29"}),
    ("毎週水曜、第2・第4土曜（資源ごみ）", DEC, {"": "2 9 12 16 23 26 30"}),
    ("月水金 (体操教室) 祝日休み", "2026-05", {"": "1 8 11 13 15 18 20 22 25 27 29"}),
    # a bracket that does say something about the days is applied
    ("第1・第3月曜（祝日除く）", "2026-09", {"": "7"}),  # 9/21 敬老の日
    # 月N回 / 週N回 with the days that make it up
    ("月2回（第1・第3火曜）", NOV, {"": "3 17"}),
    ("月2回（第1・第3火曜） 祝日休み", NOV, {"": "17"}),
    ("月2回(第1・第3水曜)", DEC, {"": "2 16"}),
    ("月2回（1日・15日）", DEC, {"": "1 15"}),
    ("週2回（月・木） 10時～", NOV, {"10:00-": "2 5 9 12 16 19 23 26 30"}),
    # 年N回: a monthly count over the months the season allows
    ("年6回（奇数月第3土曜）", "2026-09-01/2027-01-31", {"": "9/19 11/21 1/16"}),
    ("年10回 第2火曜（8月・1月は休み）", "2026-07-01/2026-09-30", {"": "7/14 9/8"}),
    ("年12回 毎月第2火曜", NOV, {"": "10"}),
    # other everyday phrasings
    ("毎週月曜と木曜", DEC, {"": "3 7 10 14 17 21 24 28 31"}),
    ("月・木 10時～", DEC, {"10:00-": "3 7 10 14 17 21 24 28 31"}),
    ("第2火曜日 午前中", NOV, {"9:00-12:00": "10"}),
    ("土日祝休み", "2026-09", {"": "1-4 7-11 14-18 24 25 28-30"}),
    ("火 祝日も営業", NOV, {"": "3 10 17 24"}),
    ("毎週火曜 年末年始（12/29～1/3）休み", "2026-12-21/2027-01-08", {"": "12/22 1/5"}),
    (
        "隔週水曜 10:00～11:30",
        "2026-11-04/2026-12-31",
        {"10:00-11:30": "11/4 11/18 12/2 12/16 12/30"},
    ),
    ("毎月5のつく日", NOV, {"": "5 15 25"}),
    ("毎月0のつく日", "2027-02", {"": "10 20"}),
]


def _period(period: str) -> tuple[dt.date, dt.date]:
    if "/" in period:
        a, b = period.split("/")
        return dt.date.fromisoformat(a), dt.date.fromisoformat(b)
    year, month = map(int, period.split("-"))
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return dt.date(year, month, 1), following - dt.timedelta(days=1)


def _date(item: str, start: dt.date) -> dt.date:
    if "/" in item:
        m, d = map(int, item.split("/"))
        year = start.year if (m, d) >= (start.month, start.day) else start.year + 1
        return dt.date(year, m, d)
    return dt.date(start.year, start.month, int(item))


def _days(spec: str, start: dt.date) -> list[dt.date]:
    out: list[dt.date] = []
    for item in spec.split():
        if "-" in item:
            a, b = (_date(x, start) for x in item.split("-"))
            out += [a + dt.timedelta(days=k) for k in range((b - a).days + 1)]
        else:
            out.append(_date(item, start))
    return out


def _hhmm(value: str) -> dt.time | None:
    return dt.time(*map(int, value.split(":"))) if value else None


def _expected(period: str, spec: dict[str, str]) -> list[Occurrence]:
    start, _ = _period(period)
    out: list[Occurrence] = []
    for times, days in spec.items():
        a, b = (_hhmm(x) for x in times.split("-")) if times else (None, None)
        for day in _days(days, start):
            begin = dt.datetime.combine(day, a) if a else day
            finish = dt.datetime.combine(day, b) if b else None
            if a and not b:  # a start only: one hour (README, schedules)
                finish = dt.datetime.combine(day, dt.time(a.hour + 1, a.minute))
            out.append(Occurrence(begin, finish))

    def key(o: Occurrence) -> tuple[dt.date, dt.time]:
        if isinstance(o.start, dt.datetime):
            return o.start.date(), o.start.time()
        return o.start, dt.time(0)

    return sorted(out, key=key)


def test_table_is_big_enough() -> None:
    assert len(CASES) >= 140
    assert len({(text, period) for text, period, _ in CASES}) == len(CASES)


@pytest.mark.parametrize(("text", "period", "spec"), CASES, ids=[f"{c[0]}@{c[1]}" for c in CASES])
def test_expand_table(text: str, period: str, spec: dict[str, str]) -> None:
    start, end = _period(period)
    # imported on the first day of the period: 隔週 is anchored on its first occurrence then
    assert expand(parse_schedule(text, anchor_from=start), start, end) == _expected(period, spec)


def test_table_helpers_read_the_notation() -> None:
    assert _days("1 4-6 12/31-1/2", dt.date(2026, 12, 1)) == [
        dt.date(2026, 12, 1),
        dt.date(2026, 12, 4),
        dt.date(2026, 12, 5),
        dt.date(2026, 12, 6),
        dt.date(2026, 12, 31),
        dt.date(2027, 1, 1),
        dt.date(2027, 1, 2),
    ]
    assert _period("2027-02") == (dt.date(2027, 2, 1), dt.date(2027, 2, 28))
    assert _period("2026-12") == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))


# --- what the parser makes of a text -------------------------------------------------------

S = ParsedSchedule
T = dt.time
IMPORTED = dt.date(2026, 12, 1)  # a Tuesday: the day the texts below are imported

PARSES: list[tuple[str, list[ParsedSchedule]]] = [
    ("月水金", [S("FREQ=WEEKLY;BYDAY=MO,WE,FR")]),
    ("第2・第4木曜", [S("FREQ=MONTHLY;BYDAY=2TH,4TH")]),
    ("毎月15日", [S("FREQ=MONTHLY;BYMONTHDAY=15")]),
    ("隔週火曜", [S("FREQ=WEEKLY;INTERVAL=2;BYDAY=TU", anchor_date=IMPORTED)]),
    ("毎日", [S("FREQ=DAILY")]),
    ("年中無休", [S("FREQ=DAILY")]),
    ("最終金曜", [S("FREQ=MONTHLY;BYDAY=-1FR")]),
    ("毎月末", [S("FREQ=MONTHLY;BYMONTHDAY=-1")]),
    ("平日", [S("FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR")]),
    ("木 10:00～12:00 第2・第4木曜", [S("FREQ=MONTHLY;BYDAY=2TH,4TH", T(10), T(12))]),
    (
        "月水金 10:00～12:00 祝日休み",
        [S("FREQ=WEEKLY;BYDAY=MO,WE,FR", T(10), T(12), holiday_rule="closed")],
    ),
    (
        "毎月第1月曜 13時30分～15時 12月～3月",
        [S("FREQ=MONTHLY;BYDAY=1MO", T(13, 30), T(15), 12, 3)],
    ),
    (
        "第2・第4木曜 10:00～12:00 12月～3月 祝日休み 年末年始休み",
        [S("FREQ=MONTHLY;BYDAY=2TH,4TH", T(10), T(12), 12, 3, "closed", True)],
    ),
    (
        "月・水 10時～12時、土 13時～15時",
        [S("FREQ=WEEKLY;BYDAY=MO,WE", T(10), T(12)), S("FREQ=WEEKLY;BYDAY=SA", T(13), T(15))],
    ),
    (
        "第2木曜・毎月15日 10:00～",
        # a start only: one hour (README)
        [S("FREQ=MONTHLY;BYDAY=2TH", T(10), T(11)), S("FREQ=MONTHLY;BYMONTHDAY=15", T(10), T(11))],
    ),
    ("冬期（12月～3月）", [S(None, season_start_month=12, season_end_month=3)]),
    ("冬期（11月～3月）", [S(None, season_start_month=11, season_end_month=3)]),
    ("冬季のみ", [S(None, season_start_month=12, season_end_month=3)]),
    ("降雪時", [S("FREQ=DAILY", season_start_month=12, season_end_month=3)]),
    ("積雪時のみ 8:00～", [S("FREQ=DAILY", T(8), T(9), season_start_month=12, season_end_month=3)]),
    ("火 23:30～", [S("FREQ=WEEKLY;BYDAY=TU", T(23, 30), T(23, 59))]),
    ("降雪時 土日", [S("FREQ=WEEKLY;BYDAY=SA,SU", season_start_month=12, season_end_month=3)]),
    ("冬期", [S(None, season_start_month=12, season_end_month=3)]),
    ("4月～11月", [S(None, season_start_month=4, season_end_month=11)]),
    ("冬期休止", [S(None, season_start_month=4, season_end_month=11)]),
    ("8月のみ", [S(None, season_start_month=8, season_end_month=8)]),
    ("1月～12月 火", [S("FREQ=WEEKLY;BYDAY=TU")]),
    ("祝日休み", [S(None, holiday_rule="closed")]),
    ("年末年始休み", [S(None, year_end_closed=True)]),
    ("祝日も実施 火", [S("FREQ=WEEKLY;BYDAY=TU")]),
    ("火 ～12:00", [S("FREQ=WEEKLY;BYDAY=TU", None, T(12))]),
    ("火 12時まで", [S("FREQ=WEEKLY;BYDAY=TU", None, T(12))]),
    # months that are not one window: one row per window, nothing new in the storage
    (
        "奇数月 第2土曜",
        [S("FREQ=MONTHLY;BYDAY=2SA", None, None, m, m) for m in (1, 3, 5, 7, 9, 11)],
    ),
    ("偶数月", [S(None, None, None, m, m) for m in (2, 4, 6, 8, 10, 12)]),
    ("5月・7月", [S(None, None, None, 5, 5), S(None, None, None, 7, 7)]),
    (
        "1月・8月は休み 毎月1日 10:00～",
        [
            S("FREQ=MONTHLY;BYMONTHDAY=1", T(10), T(11), 2, 7),
            S("FREQ=MONTHLY;BYMONTHDAY=1", T(10), T(11), 9, 12),
        ],
    ),
    ("8月休み 毎月1日", [S("FREQ=MONTHLY;BYMONTHDAY=1", None, None, 9, 7)]),
    (
        "12月～2月・7月 土",
        [S("FREQ=WEEKLY;BYDAY=SA", None, None, m, n) for m, n in ((7, 7), (12, 2))],
    ),
    ("12/1～2/28", [S(None, season_start_month=12, season_end_month=2)]),
    ("4月1日～11月30日 火", [S("FREQ=WEEKLY;BYDAY=TU", None, None, 4, 11)]),
    ("毎月第1水曜（定例会）", [S("FREQ=MONTHLY;BYDAY=1WE")]),
    ("月2回（第1・第3火曜）", [S("FREQ=MONTHLY;BYDAY=1TU,3TU")]),
    ("月1回 最終金曜", [S("FREQ=MONTHLY;BYDAY=-1FR")]),
    ("週3回 月水金", [S("FREQ=WEEKLY;BYDAY=MO,WE,FR")]),
    ("毎月5のつく日", [S("FREQ=MONTHLY;BYMONTHDAY=5,15,25")]),
    ("1のつく日", [S("FREQ=MONTHLY;BYMONTHDAY=1,11,21,31")]),
    ("休止中（体操教室）", []),
]


@pytest.mark.parametrize(("text", "expected"), PARSES)
def test_parse(text: str, expected: list[ParsedSchedule]) -> None:
    parse = parse_schedule(text, anchor_from=IMPORTED)
    assert parse.understood, parse.not_understood
    assert list(parse.schedules) == expected
    assert parse.source_text == text


@pytest.mark.parametrize("text", ["", None, "   ", "\u3000"])
def test_empty_text_is_understood_and_has_no_schedule(text: str | None) -> None:
    parse = parse_schedule(text)
    assert parse.understood and not parse.paused
    assert parse.schedules == () and parse.not_understood == ()


@pytest.mark.parametrize(
    "text", ["休止中", "活動休止中", "休止", "一時休止", "現在休止中", "活動休止"]
)
def test_paused(text: str) -> None:
    parse = parse_schedule(text)
    assert parse.paused and parse.understood and parse.schedules == ()


def test_paused_schedule_is_still_parsed() -> None:
    parse = parse_schedule("活動休止中 毎週火曜 10:00～12:00")
    assert parse.paused and parse.understood
    assert parse.schedules == (S("FREQ=WEEKLY;BYDAY=TU", T(10), T(12)),)


@pytest.mark.parametrize(
    "text",
    [
        "月水金",
        "月・水・金",
        "月,水,金",
        "月、水、金",
        "月/水/金",
        "月 水 金",
        "(月)(水)(金)",
        "月曜日・水曜日・金曜日",
        "月曜・水曜・金曜",
        "月・水・金曜日",
        "毎週月・水・金",
        "月曜と水曜と金曜",
        "月曜日、水曜日、金曜日",
    ],
)
def test_weekday_spellings(text: str) -> None:
    parse = parse_schedule(text)
    assert parse.understood, parse.not_understood
    assert [s.rrule for s in parse.schedules] == ["FREQ=WEEKLY;BYDAY=MO,WE,FR"]


@pytest.mark.parametrize(
    "text",
    [
        "第2・第4木曜",
        "第2、第4木曜日",
        "第２・第４木曜",
        "第2・4木曜",
        "第2木曜・第4木曜",
        "第2木・第4木",
        "毎月第2・第4木曜日",
        "第2,第4木曜",
        "第二・第四木曜",
        "第2と第4の木曜",
        "木 第2・第4木曜",
        "木曜 第2・第4",
        "第2週・第4週の木曜",
    ],
)
def test_nth_weekday_spellings(text: str) -> None:
    parse = parse_schedule(text)
    assert parse.understood, parse.not_understood
    assert [s.rrule for s in parse.schedules] == ["FREQ=MONTHLY;BYDAY=2TH,4TH"]


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("祝日休み", "closed"),
        ("祝日は休み", "closed"),
        ("祝日を除く", "closed"),
        ("祝日除く", "closed"),
        ("祝祭日休み", "closed"),
        ("祝日はお休み", "closed"),
        ("祝日休業", "closed"),
        ("祭日休み", "closed"),
        ("祝日以外", "closed"),
        ("祝日の場合は休み", "closed"),
        ("祝日の場合は中止", "closed"),
        ("祝日は休止", "closed"),
        ("祝日も実施", "open"),
        ("祝日も開催", "open"),
        ("", "open"),
    ],
)
def test_holiday_rule(text: str, rule: str) -> None:
    parse = parse_schedule(f"火 {text}")
    assert parse.understood, parse.not_understood
    assert [s.holiday_rule for s in parse.schedules] == [rule]


@pytest.mark.parametrize(
    "text",
    [
        "年末年始休み",
        "年末年始は休み",
        "年末年始除く",
        "年末年始を除く",
        "年末年始はお休み",
        "年末年始休業",
        "年末年始(12/29～1/3)は休み",
        "12月29日～1月3日は休み",
    ],
)
def test_year_end(text: str) -> None:
    parse = parse_schedule(f"火 {text}")
    assert parse.understood, parse.not_understood
    assert [s.year_end_closed for s in parse.schedules] == [True]


def test_fields_map_one_to_one_onto_the_model() -> None:
    columns = {c.name for c in models.Schedule.__table__.columns}
    fields = set(ParsedSchedule.__dataclass_fields__)
    assert fields == columns - {"id", "resource_id", "source_text", "understood"}
    rows = parse_schedule("月水金 10:00～12:00 祝日休み").as_rows()
    assert rows == [
        {
            "rrule": "FREQ=WEEKLY;BYDAY=MO,WE,FR",
            "start_time": T(10),
            "end_time": T(12),
            "season_start_month": None,
            "season_end_month": None,
            "holiday_rule": "closed",
            "year_end_closed": False,
            "anchor_date": None,
            "source_text": "月水金 10:00～12:00 祝日休み",
            "understood": True,
        }
    ]
    schedule = models.Schedule(**rows[0])
    assert schedule.rrule == "FREQ=WEEKLY;BYDAY=MO,WE,FR"
    # a text with no schedule still gives a row, so its source text is kept and flagged
    assert parse_schedule("不定期").as_rows() == [
        {
            "rrule": None,
            "start_time": None,
            "end_time": None,
            "season_start_month": None,
            "season_end_month": None,
            "holiday_rule": "open",
            "year_end_closed": False,
            "anchor_date": None,
            "source_text": "不定期",
            "understood": False,
        }
    ]
    assert parse_schedule("").as_rows() == []


# --- what must not be understood -------------------------------------------------------------

NOT_UNDERSTOOD: list[tuple[str, tuple[str, ...]]] = [
    ("年4回 第1日曜", ("年4回",)),  # 12 first Sundays a year, not 4
    ("年6回", ("年6回",)),  # which days?
    ("月10回", ("月10回",)),
    ("不定期", ("不定期",)),
    ("随時", ("随時",)),
    ("要相談", ("要相談",)),
    ("月に1回程度", ("月に1回程度",)),
    ("月に1回程度（日程は電話で確認）", ("月に1回程度", "日程は電話で確認")),
    ("気が向いたら", ("気が向いたら",)),
    ("あいうえお", ("あいうえお",)),
    ("ｘｙｚ！？", ("ｘｙｚ",)),
    ("qwerty 123", ("qwerty", "123")),
    ("コーヒーサロン", ("コーヒーサロン",)),
    ("火 10:00～12:00 不定期", ("不定期",)),
    ("随時受付", ("随時受付",)),
    ("不定期（要予約）", ("不定期",)),
    ("第2・第4", ("第2・第4",)),
    ("毎月", ("毎月",)),
    ("15日", ("15日",)),
    ("隔月", ("隔月",)),
    ("週1回", ("週1回",)),
    ("土日祝 9:00～17:00", ("祝",)),
    ("年末年始", ("年末年始",)),
    ("祝日の場合は翌日", ("祝日の場合は翌日",)),
    ("毎週火曜日 10:00～11:30(祝日の場合は翌日)", ("祝日の場合は翌日",)),
    ("火 10時～3時", ("10時～3時",)),
    ("火 12:00～10:00", ("12:00～10:00",)),
    ("火 25:00～26:00", ("25:00～26:00",)),
    ("月水金、祝日休み", ("月水金、祝日休み",)),
    ("第2木曜、日曜、祝日休み", ("日曜、祝日休み",)),
    ("土、日、祝日は休み", ("土、日、祝日は休み",)),
    ("お盆休み", ("お盆休み",)),
    ("正月休み", ("正月休み",)),
    ("雪の日は休み", ("雪の日は休み",)),
    ("8月13日～16日休み", ("8月13日", "16日休み")),
    ("4/1～", ("4/1",)),
    # hours with no days are never a silent empty schedule
    ("10:00～12:00", ("10:00～12:00",)),
    ("9時～17時", ("9時～17時",)),
    # 隔週 with no date and no import day: which weeks is not guessed
    ("隔週火曜", ("隔週",)),
    ("夏季", ("夏季",)),
    ("火 夕方", ("夕方",)),
    ("休日", ("休日",)),
    ("12月～3月 4月～11月", ("4月～11月",)),
    ("祝日休み 祝日も実施", ("祝日も実施",)),
    ("活動休止中（再開未定）", ("再開未定",)),
    ("第5週は休み", ("第5週は休み",)),
    ("12月", ("12月",)),
    ("11月中旬～3月", ("11月中旬～3月",)),
    ("毎週火曜または木曜", ("または",)),
    ("月水金 第2週休み", ("第2週休み",)),
    ("第3水曜は休み", ("第3水曜は休み",)),
    ("月水金 祝日は休み。第3水曜は休み", ("第3水曜は休み",)),
    ("不定期・随時", ("不定期・随時",)),
    ("不定期、随時", ("不定期", "随時")),
    ("火 夜1時", ("夜1時",)),
    ("10:00～12:00（受付9:30）", ("10:00～12:00", "受付9:30")),
    # the words in the reference documents: vague counts
    ("月1回 程度", ("月1回",)),
    ("年4回程度", ("年4回程度",)),
    (
        "農閑期に月2回程度（日程は回覧板でお知らせ）",
        ("農閑期に月2回程度", "日程は回覧板でお知らせ"),
    ),
    # a count is read only with days that give exactly that many every month / week
    ("月2回", ("月2回",)),
    ("月2回（第1火曜）", ("月2回",)),
    ("月2回 隔週火曜", ("月2回", "隔週")),  # 隔週 gives 2 or 3 a month
    ("月4回 毎週火曜", ("月4回",)),  # some months have five Tuesdays
    ("月2回（第1・第5火曜）", ("月2回",)),  # not every month has a fifth Tuesday
    ("週1回（月・木）", ("週1回",)),
    # 隔月 names no months of its own
    ("隔月 第1日曜", ("隔月",)),
    # seasons are whole months: a date range that starts or ends mid-month is not one
    ("11月15日～3月31日", ("11月15日～3月31日",)),
    ("毎週火曜 11/15～3/15", ("11/15～3/15",)),
    ("12月1日～3月15日 火", ("12月1日～3月15日",)),
    ("8月のみ 8月休み", ("8月のみ", "8月休み")),
    ("4月～11月・8月休み 火", ("4月～11月・8月休み",)),  # all closed, or April–November open?
    ("毎週火曜 お盆休み", ("お盆休み",)),
    ("夏季（7月～9月）", ("夏季",)),
    # brackets that may change the days are reported, never dropped as labels
    ("毎週火曜（不定期）", ("不定期",)),
    ("毎週火曜（要相談）", ("要相談",)),
    ("第2土曜（随時）", ("随時",)),
    ("毎週火曜（日程は回覧板でお知らせ）", ("日程は回覧板でお知らせ",)),
    ("毎週火曜（再開未定）", ("再開未定",)),
    ("毎週火曜（雨天時は翌週）", ("雨天時は翌週",)),
    ("毎週水曜（第5水曜を除く）", ("第5水曜を除く",)),
    ("12月～3月（降雪の翌朝）", ("降雪の翌朝",)),
    ("毎週火曜 (closed on holidays)", ("closed", "on", "holidays")),
    ("毎週火曜（体操", ("体操",)),  # no closing bracket
    ("毎週火曜 体操", ("体操",)),  # only brackets make a label
    ("(コーヒーサロン)", ("コーヒーサロン",)),  # nothing else understood
]


@pytest.mark.parametrize(("text", "fragments"), NOT_UNDERSTOOD)
def test_not_understood(text: str, fragments: tuple[str, ...]) -> None:
    parse = parse_schedule(text)
    assert not parse.understood
    assert parse.not_understood == fragments


@pytest.mark.parametrize("text", ["不定期", "随時", "要相談", "月に1回程度", "気が向いたら"])
def test_vague_texts_never_give_a_recurrence(text: str) -> None:
    parse = parse_schedule(text)
    assert all(s.rrule is None for s in parse.schedules)
    assert expand(parse, dt.date(2026, 1, 1), dt.date(2026, 12, 31)) == []


def test_a_closure_that_cannot_be_placed_leaves_no_schedule() -> None:
    """「第3水曜は休み」 cannot be applied; what remains would read as "open every
    Wednesday", the opposite of what was written: nothing is expanded."""
    parse = parse_schedule("月水金 祝日は休み。第3水曜は休み")
    assert not parse.understood
    assert parse.schedules == ()


def test_a_weekday_column_with_a_different_nth_note_gives_two_schedules() -> None:
    parse = parse_schedule("月 10:00～12:00 第3土曜")
    assert parse.understood
    assert parse.schedules == (
        S("FREQ=WEEKLY;BYDAY=MO", T(10), T(12)),
        S("FREQ=MONTHLY;BYDAY=3SA"),
    )


def test_an_ambiguous_closure_list_keeps_no_schedule() -> None:
    """「月水金、祝日休み」: open on those days, or closed? Nothing is kept that could be
    read either way."""
    parse = parse_schedule("月水金、祝日休み")
    assert not parse.understood
    assert parse.schedules == ()


@pytest.mark.parametrize(
    "text",
    [
        "毎週火曜 10時頃～12時ごろ",
        "火 10:00～12:00 程度",
        "火 予定",
        "火（要予約）",
        "火 要予約",
        "火 予約制",
        "火 雨天中止",
        "火 ※雨天中止",
        "毎週火曜日に開催",
        "火曜日のみ",
        "通年 火",
        "曜日：火 時間：10:00～12:00",
        "火 終日",
    ],
)
def test_filler_is_ignored(text: str) -> None:
    parse = parse_schedule(text)
    assert parse.understood, parse.not_understood
    assert [s.rrule for s in parse.schedules] == ["FREQ=WEEKLY;BYDAY=TU"]


def test_fragments_keep_the_original_spelling() -> None:
    assert parse_schedule("火 ｽﾞｲｼﾞ").not_understood == ("ｽﾞｲｼﾞ",)
    assert parse_schedule("火　フテイキ　").not_understood == ("フテイキ",)


# --- times -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("10:00", T(10)),
        ("１０：００", T(10)),
        ("10時", T(10)),
        ("10時30分", T(10, 30)),
        ("10時半", T(10, 30)),
        ("午後1時", T(13)),
        ("午後1時半", T(13, 30)),
        ("13:30", T(13, 30)),
        ("9:05", T(9, 5)),
        ("0:00", T(0)),
        ("23:59", T(23, 59)),
        ("午前9時", T(9)),
        ("午前12時", T(12)),
        ("午後0時", T(12)),
        ("正午", T(12)),
        (" 10:00 ", T(10)),
        ("午後 ３時", T(15)),
        ("PM2時", T(14)),
        ("朝8時", T(8)),
        ("夕方5時", T(17)),
        ("夜7時半", T(19, 30)),
    ],
)
def test_parse_time(cell: str, expected: dt.time) -> None:
    assert parse_time(cell) == expected


@pytest.mark.parametrize(
    "cell",
    [
        "25:00",
        "10:75",
        "24:00",
        "あした",
        "",
        "午後12時",
        "午後13時",
        "午前13時",
        "10",
        "1000",
        "10:0",
        "10:00～12:00",
        "午後正午",
        "夜1時",
        "朝13時",
    ],
)
def test_parse_time_errors(cell: str) -> None:
    with pytest.raises(ValueError, match="「") as info:
        parse_time(cell)
    assert f"「{cell}」" in str(info.value)


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("10:00～12:00", (T(10), T(12))),
        ("10時～12時", (T(10), T(12))),
        ("午前10時～正午", (T(10), T(12))),
        ("9:00-11:30", (T(9), T(11, 30))),
        ("10:00から12:00まで", (T(10), T(12))),
        ("午後1時～3時", (T(13), T(15))),
        ("午後1時半～3時半", (T(13, 30), T(15, 30))),
        ("午前10時～午後3時", (T(10), T(15))),
        ("１０：００〜１２：００", (T(10), T(12))),
        ("10時半~12時", (T(10, 30), T(12))),
        ("13時30分～15時", (T(13, 30), T(15))),
        ("9:00 ～ 11:00", (T(9), T(11))),
        ("夜7時～9時", (T(19), T(21))),
    ],
)
def test_parse_time_range(cell: str, expected: tuple[dt.time, dt.time]) -> None:
    assert parse_time_range(cell) == expected


@pytest.mark.parametrize(
    "cell",
    [
        "12:00～10:00",
        "10:00～10:00",
        "10:00",
        "あした",
        "10:00～25:00",
        "午前11時～1時",
        "10時～3時",
        "～12:00",
        "10:00～",
    ],
)
def test_parse_time_range_errors(cell: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_time_range(cell)
    assert f"「{cell}」" in str(info.value)


# --- describe ------------------------------------------------------------------------------

DESCRIPTIONS: list[tuple[str, str, str]] = [
    (
        "第2・第4木曜 10:00～12:00 12月～3月 祝日休み",
        "毎月 第2・第4木曜 10:00～12:00（12月～3月、祝日休み）",
        "Monthly 2nd and 4th Thu 10:00–12:00 (Dec–Mar, closed on public holidays)",
    ),
    ("月水金 9:00～11:00", "毎週 月・水・金 9:00～11:00", "Weekly Mon, Wed, Fri 9:00–11:00"),
    ("休止中", "休止中", "Paused"),
    (
        "活動休止中 火 10:00～12:00",
        "休止中：毎週 火 10:00～12:00",
        "Paused: Weekly Tue 10:00–12:00",
    ),
    ("不定期", "（解釈できない記述: 不定期）", "(not understood: 不定期)"),
    (
        "火 10:00～12:00 要相談",
        "毎週 火 10:00～12:00（解釈できない記述: 要相談）",
        "Weekly Tue 10:00–12:00 (not understood: 要相談)",
    ),
    (
        "平日 祝日休み 年末年始休み",
        "平日（祝日休み、年末年始休み）",
        "Weekdays (closed on public holidays, closed 29 Dec–3 Jan)",
    ),
    (
        "隔週火曜 13:30～15:00（2026年12月1日から）",
        "隔週 火 13:30～15:00",
        "Every other week Tue 13:30–15:00",
    ),
    ("毎週火曜 13:30～", "毎週 火 13:30～14:30", "Weekly Tue 13:30–14:30"),
    (
        "1月7日(木)・1月14日(木)の14時～16時",
        "2027年1月7日 14:00～16:00 / 2027年1月14日 14:00～16:00",
        "Jan 7, 2027 14:00–16:00 / Jan 14, 2027 14:00–16:00",
    ),
    ("毎月1日・15日", "毎月 1日・15日", "Monthly on the 1st and 15th"),
    ("毎月末", "毎月 末日", "Monthly on the last day"),
    ("毎日", "毎日", "Daily"),
    (
        "月・水 10時～12時、土 13時～15時",
        "毎週 月・水 10:00～12:00 / 毎週 土 13:00～15:00",
        "Weekly Mon, Wed 10:00–12:00 / Weekly Sat 13:00–15:00",
    ),
    ("第1・第3・最終金曜", "毎月 第1・第3・最終金曜", "Monthly 1st, 3rd and last Fri"),
    ("第1月曜と第3水曜", "毎月 第1月曜、第3水曜", "Monthly 1st Mon; 3rd Wed"),
    ("8月のみ 土", "毎週 土（8月のみ）", "Weekly Sat (Aug only)"),
    ("祝日休み", "祝日休み", "closed on public holidays"),
    ("", "", ""),
    (
        "10:00～11:30 5月・7月・9月・11月の第4金曜",
        "毎月 第4金曜 10:00～11:30（5月・7月・9月・11月）",
        "Monthly 4th Fri 10:00–11:30 (May, Jul, Sep and Nov)",
    ),
    ("奇数月 第2土曜", "毎月 第2土曜（奇数月）", "Monthly 2nd Sat (odd months)"),
    ("偶数月", "偶数月", "even months"),
    ("毎月第2土曜（8月は休み）", "毎月 第2土曜（8月休み）", "Monthly 2nd Sat (closed in Aug)"),
    (
        "2月と8月を除く毎月第3土曜 祝日休み",
        "毎月 第3土曜（2月・8月休み、祝日休み）",
        "Monthly 3rd Sat (closed in Feb and Aug, closed on public holidays)",
    ),
    ("4月～11月、8月休み 火", "毎週 火（4月～7月・9月～11月）", "Weekly Tue (Apr–Jul and Sep–Nov)"),
    (
        "偶数月の第2土曜 10:00～12:00、第4土曜 13:00～15:00",
        "毎月 第2土曜 10:00～12:00 / 毎月 第4土曜 13:00～15:00（偶数月）",
        "Monthly 2nd Sat 10:00–12:00 / Monthly 4th Sat 13:00–15:00 (even months)",
    ),
    ("12/1～3/31 火", "毎週 火（12月～3月）", "Weekly Tue (Dec–Mar)"),
    ("毎月10日（定例会）", "毎月 10日", "Monthly on the 10th"),
    ("月2回（第1・第3火曜）", "毎月 第1・第3火曜", "Monthly 1st and 3rd Tue"),
    ("毎月5のつく日", "毎月 5日・15日・25日", "Monthly on the 5th, 15th and 25th"),
]


@pytest.mark.parametrize(("text", "ja", "en"), DESCRIPTIONS)
def test_describe(text: str, ja: str, en: str) -> None:
    parse = parse_schedule(text)
    assert describe(parse) == ja
    assert describe(parse, "en") == en


# --- expand details ------------------------------------------------------------------------


def test_expand_accepts_a_parse_a_schedule_or_a_list() -> None:
    parse = parse_schedule("月・水 10時～12時、土 13時～15時")
    start, end = dt.date(2026, 11, 1), dt.date(2026, 11, 8)
    whole = expand(parse, start, end)
    assert whole == expand(list(parse.schedules), start, end)
    assert expand(parse.schedules[1], start, end) == [
        Occurrence(dt.datetime(2026, 11, 7, 13), dt.datetime(2026, 11, 7, 15))
    ]
    assert [o.start for o in whole] == [
        dt.datetime(2026, 11, 2, 10),
        dt.datetime(2026, 11, 4, 10),
        dt.datetime(2026, 11, 7, 13),
    ]


def test_expand_is_inclusive_and_empty_for_a_reversed_range() -> None:
    parse = parse_schedule("火 10:00～12:00")
    day = dt.date(2026, 12, 1)
    assert expand(parse, day, day) == [
        Occurrence(dt.datetime(2026, 12, 1, 10), dt.datetime(2026, 12, 1, 12))
    ]
    assert expand(parse, dt.date(2026, 12, 2), day) == []


def test_to_rrule_set_uses_exdates_and_bymonth() -> None:
    s = parse_schedule("第2・第4木曜 10:00～12:00 12月～3月 祝日休み").schedules[0]
    rs = to_rrule_set(s, dt.date(2027, 2, 1), dt.date(2027, 2, 28))
    assert list(rs) == [dt.datetime(2027, 2, 25, 10)]
    assert dt.datetime(2027, 2, 11, 10) in list(rs._exdate)


def test_mixed_date_and_time_occurrences_sort() -> None:
    parse = parse_schedule("月 10:00～ 第1月曜")  # 第1月曜 refines 月: one timed schedule
    assert [s.rrule for s in parse.schedules] == ["FREQ=MONTHLY;BYDAY=1MO"]
    schedules = [S("FREQ=WEEKLY;BYDAY=MO"), S("FREQ=WEEKLY;BYDAY=MO", T(10))]
    got = expand(schedules, dt.date(2026, 11, 2), dt.date(2026, 11, 2))
    assert got == [Occurrence(dt.date(2026, 11, 2)), Occurrence(dt.datetime(2026, 11, 2, 10))]


def test_parse_is_cached_and_fast() -> None:
    text = "月水金 10:00～12:00 祝日休み 12345"
    assert parse_schedule(text) is parse_schedule(text)
    texts = [f"第2・第4木曜 10:00～12:00 12月～3月 祝日休み #{i}" for i in range(2000)]
    began = time.perf_counter()
    for t in texts:
        parse_schedule(t)
    assert time.perf_counter() - began < 5  # ≈ 0.1 ms each uncached on a 2-core machine


# --- properties ------------------------------------------------------------------------------

_FULL_WIDTH = str.maketrans("0123456789:~", "０１２３４５６７８９：～")

DAYS = [
    "月水金",
    "月・水・金",
    "平日",
    "土日",
    "毎日",
    "毎週火曜",
    "第2・第4木曜",
    "最終金曜",
    "毎月15日",
    "毎月1日・15日",
    "隔週火曜",
    "日曜休み",
    "土日祝休み",
    "月～金",
    "毎月末",
    "第1月曜と第3水曜",
    "木 第2・第4",
    "(月)(木)",
    "第5土曜",
    "毎月31日",
]
TIMES = ["", "10:00～12:00", "午後1時半～3時", "9:00~", "午前中", "午後", "10時～12時", "～12:00"]
SEASONS = [
    "",
    "12月～3月",
    "4月～11月",
    "冬期",
    "降雪時",
    "8月休み",
    "冬期（11月～3月）",
    "1月のみ",
]
HOLIDAYS = ["", "祝日休み", "祝日は休み", "祝日を除く", "祝日も実施"]
YEAR_END = ["", "年末年始休み", "年末年始除く"]
EXTRA = ["", "（要予約）", "雨天中止", "休止中", "予定"]


@st.composite
def schedule_texts(draw: st.DrawFn) -> str:
    days = draw(st.sampled_from(DAYS))
    # 「土日祝休み」 with 「祝日も実施」 contradicts itself (and is reported as such)
    holidays = [h for h in HOLIDAYS if "祝" not in days or "休み" in h or not h]
    parts = [days] + [
        draw(st.sampled_from(options)) for options in (TIMES, SEASONS, holidays, YEAR_END, EXTRA)
    ]
    text = draw(st.sampled_from([" ", "　", " "])).join(p for p in parts if p)
    return text.translate(_FULL_WIDTH) if draw(st.booleans()) else text


def _in_year_end(day: dt.date) -> bool:
    return (day.month, day.day) >= (12, 29) or (day.month, day.day) <= (1, 3)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=schedule_texts(),
    start=st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2028, 12, 31)),
    length=st.integers(min_value=0, max_value=400),
)
def test_expand_properties(text: str, start: dt.date, length: int) -> None:
    parse = parse_schedule(text, anchor_from=dt.date(2026, 1, 1))
    assert parse.understood, (text, parse.not_understood)
    end = start + dt.timedelta(days=length)
    occurrences = expand(parse, start, end)
    keys = [o.sort_key() for o in occurrences]
    assert keys == sorted(keys)
    assert len(set(occurrences)) == len(occurrences)
    for o in occurrences:
        assert start <= o.day <= end
    for s in parse.schedules:
        months = s.season_months()
        for o in expand(s, start, end):
            if s.holiday_rule == "closed":
                assert not jpholiday.is_holiday(o.day), (text, o)
            if months:
                assert o.day.month in months, (text, o)
            if s.year_end_closed:
                assert not _in_year_end(o.day), (text, o)
            if s.start_time:
                assert isinstance(o.start, dt.datetime) and o.start.time() == s.start_time
            if s.end_time:
                assert o.end is not None and o.end.time() == s.end_time


@settings(max_examples=300, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(
            list("月火水木金土日第1234～・、 祝休み毎週隔時:0午後前年末始冬期12月3日不定あ(")
        ),
        max_size=30,
    )
)
def test_any_text_parses_without_raising(text: str) -> None:
    parse = parse_schedule(text)
    assert parse.understood == (not parse.not_understood)
    for fragment in parse.not_understood:
        assert fragment and fragment in text
    expand(parse, dt.date(2026, 12, 1), dt.date(2027, 1, 31))
    describe(parse)
    describe(parse, "en")


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=40))
def test_arbitrary_unicode_never_raises(text: str) -> None:
    parse = parse_schedule(text)
    assert isinstance(parse, ScheduleParse)
    for fragment in parse.not_understood:
        assert fragment in text

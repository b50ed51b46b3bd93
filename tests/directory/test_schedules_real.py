"""Schedule phrases as real municipal lists write them (issue 11, point 3).

The phrases below are written the way facility lists, 地域包括支援センター pages and 通いの場
lists write their hours (closure wordings, half-days, date lists, full-width digits, 曜/曜日,
～/〜/-, 時/:), not the way the parser's own table is written. Every expected date was
written by hand from a printed calendar of the window 2026-12-21 (Mon) – 2027-01-17 (Sun):

    Mon 12/21 12/28 1/4 1/11*   Tue 12/22 12/29 1/5 1/12   Wed 12/23 12/30 1/6 1/13
    Thu 12/24 12/31 1/7 1/14    Fri 12/25 1/1* 1/8 1/15    Sat 12/26 1/2 1/9 1/16
    Sun 12/27 1/3 1/10 1/17     * 元日 (1/1), 成人の日 (1/11); 年末年始 = 12/29–1/3

Texts are parsed as the importer parses them, imported on the window's first day
(``anchor_from``). ``READABLE_GAPS`` are phrases a person reads unambiguously that the
parser does not read yet: they must be reported, never misread, and they count against
the share understood (``test_share_understood``).
"""

from __future__ import annotations

import datetime as dt

import pytest

from directory.schedules import Occurrence, describe, expand, parse_schedule

START, END = dt.date(2026, 12, 21), dt.date(2027, 1, 17)

WEEKDAYS = "12/21-12/25 12/28-1/1 1/4-1/8 1/11-1/15"
WEEKDAYS_NO_HOLIDAYS = "12/21-12/25 12/28-12/31 1/4-1/8 1/12-1/15"
OFFICE = "12/21-12/25 12/28 1/4-1/8 1/12-1/15"  # Mon–Fri, no holidays, no 年末年始
EVERY_DAY = "12/21-1/17"
MTTF = "12/21 12/22 12/24 12/25 12/28 12/29 12/31 1/1 1/4 1/5 1/7 1/8 1/11 1/12 1/14 1/15"
MWF = "12/21 12/23 12/25 12/28 12/30 1/1 1/4 1/6 1/8 1/11 1/13 1/15"

# (text, {time: days}); time "HH:MM-HH:MM", "HH:MM-" (a start only) or "" (no time)
REAL: list[tuple[str, dict[str, str]]] = [
    # office hours with their closures, in many wordings
    ("月曜日～金曜日 8:30～17:15（土日祝日、年末年始を除く）", {"8:30-17:15": OFFICE}),
    ("月～金　９：００～１８：００（祝日・年末年始休み）", {"9:00-18:00": OFFICE}),
    ("平日 8時30分～17時15分 祝日・年末年始は休み", {"8:30-17:15": OFFICE}),
    ("平日９時～１７時（祝日、年末年始を除く）", {"9:00-17:00": OFFICE}),
    ("月～金 9:00～17:00 祝日は利用できません", {"9:00-17:00": WEEKDAYS_NO_HOLIDAYS}),
    (
        "月～金 9時～17時 国民の祝日に関する法律に規定する休日は休館",
        {"9:00-17:00": WEEKDAYS_NO_HOLIDAYS},
    ),
    ("月曜～金曜 8:30-17:00 ※土日祝・年末年始は休み", {"8:30-17:00": OFFICE}),
    ("土日祝休み 8:30～17:15", {"8:30-17:15": WEEKDAYS_NO_HOLIDAYS}),
    ("月～金（祝日を除く）10:00～16:00", {"10:00-16:00": WEEKDAYS_NO_HOLIDAYS}),
    ("月・火・水・木・金 8:30～17:15 土・日・祝日・12/29～1/3 休み", {"8:30-17:15": OFFICE}),
    (
        "月曜日～土曜日 8:30～19:00（日曜・祝日・年末年始休み）",
        {"8:30-19:00": "12/21-12/26 12/28 1/4-1/9 1/12-1/16"},
    ),
    (
        "定休日：日曜日、祝日、年末年始 8:30～18:00",
        {"8:30-18:00": "12/21-12/26 12/28 1/4-1/9 1/12-1/16"},
    ),
    ("月～金 9:00～17:00 時間外も対応可", {"9:00-17:00": WEEKDAYS}),
    ("受付時間 8:30～17:15（土・日・祝日・年末年始を除く）", {"8:30-17:15": OFFICE}),
    ("9:00～17:00（月曜休館）", {"9:00-17:00": "12/22-12/27 12/29-1/3 1/5-1/10 1/12-1/17"}),
    (
        "月曜日から金曜日まで（祝日及び12月29日から1月3日までを除く）午前8時30分から午後5時15分まで",
        {"8:30-17:15": OFFICE},
    ),
    ("月～金曜日（祝日、年末年始を除く）", {"": OFFICE}),
    (
        "営業時間：10時～18時 定休日：火曜日",
        {"10:00-18:00": "12/21 12/23-12/28 12/30-1/4 1/6-1/11 1/13-1/17"},
    ),
    # every day, 無休, 24時間
    (
        "毎日 9:00～17:00 年末年始（１２月２９日～翌年１月３日）休館",
        {"9:00-17:00": "12/21-12/28 1/4-1/17"},
    ),
    ("年末年始（12月29日～1月3日）を除く毎日 9:00～21:00", {"9:00-21:00": "12/21-12/28 1/4-1/17"}),
    ("年中無休 24時間", {"": EVERY_DAY}),
    ("24時間365日対応", {"": EVERY_DAY}),
    ("24時間", {"": EVERY_DAY}),
    ("定休日なし 10:00～19:00", {"10:00-19:00": EVERY_DAY}),
    ("月火水木金土日 無休 9:00～18:00", {"9:00-18:00": EVERY_DAY}),
    ("月～日 7:00～21:00 年中無休", {"7:00-21:00": EVERY_DAY}),
    ("毎日 6:00～22:00", {"6:00-22:00": EVERY_DAY}),
    # closed days
    (
        "水曜定休 10:00～18:00",
        {"10:00-18:00": "12/21 12/22 12/24-12/29 12/31-1/5 1/7-1/12 1/14-1/17"},
    ),
    ("日・祝休業 9:00～19:00", {"9:00-19:00": "12/21-12/26 12/28-12/31 1/2 1/4-1/9 1/12-1/16"}),
    ("日曜日以外 10:00～17:00", {"10:00-17:00": "12/21-12/26 12/28-1/2 1/4-1/9 1/11-1/16"}),
    (
        "火曜～土曜 10:00～18:00 （日・月・祝日休館）",
        {"10:00-18:00": "12/22-12/26 12/29-12/31 1/2 1/5-1/9 1/12-1/16"},
    ),
    # holidays open
    ("月・水・金 10:00～15:00 祝日も開館", {"10:00-15:00": MWF}),
    ("月水金　１０：００〜１２：００", {"10:00-12:00": MWF}),
    ("（月）（水）（金）9:00～12:00", {"9:00-12:00": MWF}),
    # a closed half-day, a day with hours of its own
    (
        "月～金 9:00～17:00 水曜は午後休み",
        {
            "9:00-17:00": "12/21 12/22 12/24 12/25 12/28 12/29 12/31 1/1 1/4 1/5 1/7 1/8 "
            "1/11 1/12 1/14 1/15",
            "9:00-12:00": "12/23 12/30 1/6 1/13",
        },
    ),
    (
        "月～土 8:30～17:30 土曜日は午前のみ",
        {"8:30-17:30": WEEKDAYS, "8:30-12:00": "12/26 1/2 1/9 1/16"},
    ),
    (
        "月曜日～土曜日 9:00～18:00（土曜は9:00～12:00） 日曜・祝日休み",
        {"9:00-18:00": WEEKDAYS_NO_HOLIDAYS, "9:00-12:00": "12/26 1/2 1/9 1/16"},
    ),
    (
        "月～金曜日 9:00～18:00 土曜日 9:00～13:00",
        {"9:00-18:00": WEEKDAYS, "9:00-13:00": "12/26 1/2 1/9 1/16"},
    ),
    (
        "月～金 9:00～17:00 水曜日の午後は休診",
        {
            "9:00-17:00": "12/21 12/22 12/24 12/25 12/28 12/29 12/31 1/1 1/4 1/5 1/7 1/8 "
            "1/11 1/12 1/14 1/15",
            "9:00-12:00": "12/23 12/30 1/6 1/13",
        },
    ),
    (
        "月～土 9:00～18:00 木・土は午前のみ",
        {
            "9:00-18:00": "12/21-12/23 12/25 12/28-12/30 1/1 1/4-1/6 1/8 1/11-1/13 1/15",
            "9:00-12:00": "12/24 12/26 12/31 1/2 1/7 1/9 1/14 1/16",
        },
    ),
    ("第2水曜日は午後のみ 13:00～16:00", {"13:00-16:00": "1/13"}),
    (
        "月～金 9:00～17:00（水曜日は12:00まで）",
        {"9:00-17:00": MTTF, "9:00-12:00": "12/23 12/30 1/6 1/13"},
    ),
    (
        "月～金 9:00～17:00 ただし水曜日は13時から",
        {"9:00-17:00": MTTF, "13:00-17:00": "12/23 12/30 1/6 1/13"},
    ),
    ("月～金 9:00～17:00（時間外は要相談）", {"9:00-17:00": WEEKDAYS}),
    # weekly, every spelling
    (
        "月・木　午後１時３０分～午後３時",
        {"13:30-15:00": "12/21 12/24 12/28 12/31 1/4 1/7 1/11 1/14"},
    ),
    ("火・木 9時30分-11時30分 年末年始休み", {"9:30-11:30": "12/22 12/24 1/5 1/7 1/12 1/14"}),
    (
        "月曜日・水曜日・金曜日 9:00~16:00 祝祭日・年末年始除く",
        {"9:00-16:00": "12/21 12/23 12/25 12/28 1/4 1/6 1/8 1/13 1/15"},
    ),
    ("毎週月曜日 10:00～11:00 祝日休み", {"10:00-11:00": "12/21 12/28 1/4"}),
    ("土曜日　午後１時～４時", {"13:00-16:00": "12/26 1/2 1/9 1/16"}),
    ("日曜日 午前中", {"9:00-12:00": "12/27 1/3 1/10 1/17"}),
    ("水・土 14時〜16時", {"14:00-16:00": "12/23 12/26 12/30 1/2 1/6 1/9 1/13 1/16"}),
    (
        "月水木 10:00-12:00 年末年始（12/29～1/3）休み",
        {"10:00-12:00": "12/21 12/23 12/24 12/28 1/4 1/6 1/7 1/11 1/13 1/14"},
    ),
    (
        "火曜日・金曜日 9時～11時30分 祝日休み",
        {"9:00-11:30": "12/22 12/25 12/29 1/5 1/8 1/12 1/15"},
    ),
    ("毎週木曜日（祝日・年末年始を除く） 10:00～12:00", {"10:00-12:00": "12/24 1/7 1/14"}),
    ("月曜日 10時00分～11時30分", {"10:00-11:30": "12/21 12/28 1/4 1/11"}),
    ("土・日曜日 9:00～17:00（年末年始を除く）", {"9:00-17:00": "12/26 12/27 1/9 1/10 1/16 1/17"}),
    # a start only: one hour
    ("火曜日 13:30～", {"13:30-": "12/22 12/29 1/5 1/12"}),
    ("毎週水曜日 １３時３０分～", {"13:30-": "12/23 12/30 1/6 1/13"}),
    ("毎週金曜 15時～", {"15:00-": "12/25 1/1 1/8 1/15"}),
    ("毎週火・金曜日 10:00～", {"10:00-": "12/22 12/25 12/29 1/1 1/5 1/8 1/12 1/15"}),
    # nth weekday, day of month
    ("第2・第4木曜日 10:00～11:30", {"10:00-11:30": "12/24 1/14"}),
    ("毎月第１・第３水曜日　午前１０時～正午", {"10:00-12:00": "1/6"}),
    ("第1月曜日 13:00～15:00（祝日の場合は休み）", {"13:00-15:00": "1/4"}),
    ("第１・第３月曜日 １３：００～１５：００", {"13:00-15:00": "12/21 1/4"}),
    ("第2・4火曜 午後", {"13:00-17:00": "12/22 1/12"}),
    ("第3日曜日 9:00～10:00", {"9:00-10:00": "1/17"}),
    ("毎月第2水曜日と第4水曜日 10:00～11:30", {"10:00-11:30": "12/23 1/13"}),
    ("第1・3・5水曜日 14時～15時30分", {"14:00-15:30": "12/30 1/6"}),
    ("最終金曜日 14:00～16:00", {"14:00-16:00": "12/25"}),
    ("毎月第4土曜日 10:00～12:00（1月は休み）", {"10:00-12:00": "12/26"}),
    ("毎月15日 10時～12時", {"10:00-12:00": "1/15"}),
    ("毎月1日・15日 9:00～", {"9:00-": "1/1 1/15"}),
    ("毎月25日 13:30～15:30", {"13:30-15:30": "12/25"}),
    ("毎月末日 10:00～", {"10:00-": "12/31"}),
    # 隔週 with its anchor, explicit dates
    ("隔週火曜日 10:00～11:30（2026年12月22日から）", {"10:00-11:30": "12/22 1/5"}),
    ("12月22日から隔週火曜 13:30～15:00", {"13:30-15:00": "12/22 1/5"}),
    ("隔週木曜 10時～12時", {"10:00-12:00": "12/24 1/7"}),  # anchored on the import day
    ("1月7日(木)・1月14日(木)の14時～", {"14:00-": "1/7 1/14"}),
    ("令和9年1月9日（土）10時～12時", {"10:00-12:00": "1/9"}),
    ("2027/1/16(土) 13:00～15:00", {"13:00-15:00": "1/16"}),
    ("1月11日(月) 10時～12時", {"10:00-12:00": "1/11"}),
]

#: Read unambiguously by a person, not read yet: reported, never misread.
READABLE_GAPS: list[str] = [
    "土・日・祝日 10:00～16:00",  # holidays as extra open days
    "月曜休館（祝日の場合は翌平日）",
    "毎月第3水曜日は休み 月～金 9:00～17:00",  # closing one nth weekday
]

#: Not readable without guessing: must be reported as not understood.
NOT_UNDERSTOOD: list[str] = [
    "9時～17時",
    "8:30～17:15",
    "午前9時から午後5時まで",
    "10:00～16:00（予約制）",
    "隔週火曜 10:00～12:00",  # which weeks? (parsed with no import day)
    "6月3日・7月1日の14時～",  # which year? (parsed with no import day)
    "不定期",
    "随時",
    "要相談",
    "月1回程度",
    "イベント開催時のみ",
    "お盆休みあり",
    "休日は休み",
    "12月",
    "月曜日（祝日の場合は翌日）休館",
    "水曜日の午後は休診",  # closed then, but open when?
    "隔週 火・金 10:00～12:00",
    "土日祝日も営業 10:00～20:00",  # 「も」: and which other days?
]


def _date(item: str) -> dt.date:
    m, d = map(int, item.split("/"))
    return dt.date(2026 if m == 12 else 2027, m, d)


def _days(spec: str) -> list[dt.date]:
    out: list[dt.date] = []
    for item in spec.split():
        a, _, b = item.partition("-")
        first, last = _date(a), _date(b or a)
        out += [first + dt.timedelta(days=k) for k in range((last - first).days + 1)]
    return out


def _expected(spec: dict[str, str]) -> list[Occurrence]:
    out: list[Occurrence] = []
    for times, days in spec.items():
        a, _, b = times.partition("-")
        start = dt.time.fromisoformat(a.zfill(5)) if a else None
        end = dt.time.fromisoformat(b.zfill(5)) if b else None
        for day in _days(days):
            if start is None:
                out.append(Occurrence(day))
                continue
            begin = dt.datetime.combine(day, start)
            finish = dt.datetime.combine(day, end) if end else begin + dt.timedelta(hours=1)
            out.append(Occurrence(begin, finish))
    return sorted(out, key=Occurrence.sort_key)


def test_the_table_is_big_and_the_helpers_read_it() -> None:
    assert len(REAL) >= 60
    assert len({text for text, _ in REAL}) == len(REAL)
    assert _days("12/30-1/2 1/4") == [
        dt.date(2026, 12, 30),
        dt.date(2026, 12, 31),
        dt.date(2027, 1, 1),
        dt.date(2027, 1, 2),
        dt.date(2027, 1, 4),
    ]


@pytest.mark.parametrize(("text", "spec"), REAL, ids=[t for t, _ in REAL])
def test_real_phrase(text: str, spec: dict[str, str]) -> None:
    parse = parse_schedule(text, anchor_from=START)
    assert parse.understood, parse.not_understood
    assert expand(parse, START, END) == _expected(spec)


@pytest.mark.parametrize("text", READABLE_GAPS + NOT_UNDERSTOOD)
def test_reported_not_misread(text: str) -> None:
    anchor = START if text in READABLE_GAPS else None
    parse = parse_schedule(text, anchor_from=anchor)
    assert not parse.understood
    assert parse.not_understood
    assert "解釈できない記述" in describe(parse)


@pytest.mark.parametrize(
    "text",
    [
        "月曜日（祝日の場合は翌日）休館",
        "毎月第3水曜日は休み 月～金 9:00～17:00",
        "月曜休館（祝日の場合は翌平日）",
    ],
)
def test_a_closure_that_cannot_be_placed_is_never_an_open_day(text: str) -> None:
    """Half-understood, these would read "open on Mondays" / "open Mon–Fri including the
    third Wednesday": nothing is expanded instead."""
    assert expand(parse_schedule(text, anchor_from=START), START, END) == []


def test_unanchored_fortnights_expand_nothing() -> None:
    """Reported, not guessed: no dates that would move with the window."""
    assert expand(parse_schedule("隔週 火・金 10:00～12:00"), START, END) == []


def test_share_understood() -> None:
    """≥ 95 % of the phrases a person reads unambiguously expand correctly (the rest are
    reported, :func:`test_reported_not_misread`)."""
    correct = sum(
        expand(parse_schedule(text, anchor_from=START), START, END) == _expected(spec)
        for text, spec in REAL
    )
    share = correct / (len(REAL) + len(READABLE_GAPS))
    assert share >= 0.95, share


def test_fortnights_do_not_move_with_the_window() -> None:
    """The same resource's January dates are the same whatever window is asked for."""
    parse = parse_schedule("隔週火曜 10:00～12:00", anchor_from=dt.date(2026, 12, 1))
    (schedule,) = parse.schedules
    assert schedule.anchor_date == dt.date(2026, 12, 1)
    january = []
    for first in (dt.date(2026, 11, 1), dt.date(2026, 12, 8), dt.date(2027, 1, 1)):
        got = expand(parse, first, dt.date(2027, 1, 31))
        january.append([o.day for o in got if o.day.month == 1])
    assert january == [[dt.date(2027, 1, 12), dt.date(2027, 1, 26)]] * 3
    # also before the anchor: the weeks run backwards too
    got = expand(parse, dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert [o.day.day for o in got] == [3, 17]


def test_every_weekday_and_muky_give_one_occurrence_a_day() -> None:
    parse = parse_schedule("月火水木金土日 無休 9:00～18:00")
    assert len(parse.schedules) == 1
    days = [o.day for o in expand(parse, START, END)]
    assert len(days) == len(set(days)) == 28

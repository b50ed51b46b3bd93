"""Weekdays as people write them: one vocabulary and one parser for every layer."""

from __future__ import annotations

import datetime as dt

import pytest

from directory.schedules import parse_schedule
from directory.weekdays import (
    WEEKDAY_CHARS,
    WEEKDAY_CODES,
    WEEKDAY_EN,
    WeekdayError,
    parse_weekday,
    parse_weekdays,
)

SPELLINGS = [
    ("火", (1,)),
    ("火曜", (1,)),
    ("火曜日", (1,)),
    ("ｶ", (1,)),
    ("かようび", (1,)),
    ("TU", (1,)),
    ("tu", (1,)),
    ("Tue", (1,)),
    ("Tues.", (1,)),
    ("TUESDAY", (1,)),
    ("月水金", (0, 2, 4)),
    ("月曜水曜金曜", (0, 2, 4)),
    ("金月", (0, 4)),
    ("月～金", (0, 1, 2, 3, 4)),
    ("月曜~金曜", (0, 1, 2, 3, 4)),
    ("土~月", (0, 5, 6)),
    ("平日", (0, 1, 2, 3, 4)),
    ("平日土", (0, 1, 2, 3, 4, 5)),
    ("土日", (5, 6)),
    ("週末", (5, 6)),
    ("毎日", tuple(range(7))),
    ("いつでも", tuple(range(7))),
    ("ｽｲﾖｳ", (2,)),
    ("日曜日", (6,)),
    ("SU", (6,)),
]


def test_the_vocabulary_agrees_with_the_calendar() -> None:
    monday = dt.date(2024, 6, 3)
    for i in range(7):
        day = monday + dt.timedelta(days=i)
        assert day.weekday() == i
        assert day.strftime("%a") == WEEKDAY_EN[i]
        assert parse_weekday(WEEKDAY_CHARS[i]) == parse_weekday(WEEKDAY_CODES[i]) == (i,)


@pytest.mark.parametrize(("token", "days"), SPELLINGS)
def test_one_token(token: str, days: tuple[int, ...]) -> None:
    assert parse_weekday(token) == days


@pytest.mark.parametrize("token", ["祝", "火x", "", "月2", "毎週", "tuesdays", "第1火"])
def test_not_a_weekday_is_an_error_naming_the_token(token: str) -> None:
    with pytest.raises(WeekdayError) as info:
        parse_weekday(token)
    assert info.value.token == token and isinstance(info.value, ValueError)
    assert "曜日" in str(info.value)


def test_lists_and_texts_are_split_and_merged() -> None:
    assert parse_weekdays("月・水・金") == (0, 2, 4)
    assert parse_weekdays("火曜, 木曜 土") == (1, 3, 5)
    assert parse_weekdays(["金", "月・水", "月"]) == (0, 2, 4)
    assert parse_weekdays([]) == () and parse_weekdays("  ") == ()
    with pytest.raises(WeekdayError) as info:
        parse_weekdays(["月", 2])  # type: ignore[list-item]
    assert info.value.token == 2


@pytest.mark.parametrize("text", ["火", "火曜", "火曜日", "毎週火曜"])
def test_the_schedule_parser_writes_the_same_codes(text: str) -> None:
    parsed = parse_schedule(text)
    assert parsed.understood
    assert parsed.schedules[0].rrule == f"FREQ=WEEKLY;BYDAY={WEEKDAY_CODES[1]}"

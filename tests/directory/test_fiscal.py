"""The fiscal year (April–March) and its era labels: one helper for the whole app."""

from __future__ import annotations

import datetime as dt

import pytest

from directory.fiscal import (
    FISCAL_MONTHS,
    FiscalPeriodError,
    fiscal_year,
    fy_label,
    fy_range,
    japan_date,
    month_label,
    month_range,
    period,
    utc_bounds,
)


@pytest.mark.parametrize(
    ("day", "fy"),
    [
        (dt.date(2027, 3, 31), 2026),
        (dt.date(2027, 4, 1), 2027),
        (dt.date(2026, 4, 1), 2026),
        (dt.date(2026, 12, 31), 2026),
        (dt.date(2027, 1, 1), 2026),
        (dt.date(2019, 4, 30), 2019),  # 平成31年4月
        (dt.date(2019, 5, 1), 2019),  # 令和元年5月
        (dt.date(2019, 3, 31), 2018),
    ],
)
def test_a_day_belongs_to_the_fiscal_year_that_began_on_the_last_first_of_april(
    day: dt.date, fy: int
) -> None:
    assert fiscal_year(day) == fy
    assert day in fy_range(fy)
    assert day not in fy_range(fy - 1) and day not in fy_range(fy + 1)


def test_fy2026_is_reiwa_8_from_april_to_march() -> None:
    span = fy_range(2026)
    assert (span.first, span.last) == (dt.date(2026, 4, 1), dt.date(2027, 3, 31))
    assert fy_label(2026) == "令和8年度（2026年度）"
    assert fy_label(2026, "en") == "FY2026 (Reiwa 8)"


@pytest.mark.parametrize(
    ("fy", "ja", "en"),
    [
        (2019, "令和元年度", "Reiwa 1"),  # April 2019 was still 平成31年
        (2020, "令和2年度", "Reiwa 2"),
        (2018, "平成30年度", "Heisei 30"),
        (1989, "平成元年度", "Heisei 1"),
        (1988, "昭和63年度", "Showa 63"),  # its last months were already 平成
    ],
)
def test_era_labels_across_the_changes_of_era(fy: int, ja: str, en: str) -> None:
    assert fy_label(fy).startswith(ja)
    assert en in fy_label(fy, "en")


def test_months_of_a_fiscal_year_and_their_calendar_years() -> None:
    assert FISCAL_MONTHS[0] == 4 and FISCAL_MONTHS[-1] == 3 and len(set(FISCAL_MONTHS)) == 12
    assert month_range(2026, 4).first == dt.date(2026, 4, 1)
    march = month_range(2026, 3)
    assert (march.first, march.last) == (dt.date(2027, 3, 1), dt.date(2027, 3, 31))
    assert month_range(2027, 2).last == dt.date(2028, 2, 29)  # leap year
    assert month_range(2026, 12).last == dt.date(2026, 12, 31)
    assert month_label(6) == "6月" and month_label(6, "en") == "Jun"


def test_a_period_is_a_month_a_year_or_everything() -> None:
    assert period(None) is None
    assert period(2026) == fy_range(2026)
    assert period(2026, 1) == month_range(2026, 1)


@pytest.mark.parametrize(
    ("fy", "month", "words"),
    [
        (None, 6, "年度も選んでください"),
        (2026, 13, "1 から 12"),
        (2026, 0, "1 から 12"),
        (1700, None, "1886 年から"),
    ],
)
def test_impossible_periods_are_refused_in_japanese(
    fy: int | None, month: int | None, words: str
) -> None:
    with pytest.raises(FiscalPeriodError) as caught:
        period(fy, month)
    assert words in str(caught.value)
    assert caught.value.describe("en") != str(caught.value)


def test_stored_utc_times_count_on_their_day_in_japan() -> None:
    # 2027-03-31 15:30 UTC is already 1 April in Japan: the next fiscal year
    moment = dt.datetime(2027, 3, 31, 15, 30)
    assert japan_date(moment) == dt.date(2027, 4, 1)
    assert fiscal_year(japan_date(moment)) == 2027
    assert japan_date(dt.datetime(2027, 3, 31, 14, 59)) == dt.date(2027, 3, 31)


def test_a_span_of_days_in_japan_as_stored_utc_times() -> None:
    start, end = utc_bounds(fy_range(2026))
    assert start == dt.datetime(2026, 3, 31, 15, 0)  # 1 April 00:00 in Japan
    assert end == dt.datetime(2027, 3, 31, 15, 0)  # 1 April of the next year, excluded
    for moment in (start, end - dt.timedelta(seconds=1)):
        assert japan_date(moment) in fy_range(2026)
    assert japan_date(end) not in fy_range(2026)


@pytest.mark.parametrize(
    ("fy", "month", "ja", "en"),
    [
        (2019, 4, "平成31年4月", "Apr Heisei 31"),  # the last month of 平成
        (2019, 5, "令和元年5月", "May Reiwa 1"),  # the first of 令和
        (2019, 3, "令和2年3月", "Mar Reiwa 2"),  # FY2019's March is in 2020
        (1988, 1, "昭和64年1月", "Jan Showa 64"),  # January 1989 began in 昭和
        (2024, 12, "令和6年12月", "Dec Reiwa 6"),
    ],
)
def test_a_month_of_a_fiscal_year_in_era_form(fy: int, month: int, ja: str, en: str) -> None:
    from directory.fiscal import era_month_label

    assert era_month_label(fy, month) == ja
    assert era_month_label(fy, month, "en") == en

"""The Japanese fiscal year (年度, April–March) and its era labels: one helper for the app.

Reports to the municipality and to the 協議体 follow the fiscal year, written in era
years: FY2026 (2026-04-01 … 2027-03-31) is 令和8年度. A fiscal year is named after the era
in force for most of it — the era of 1 October, its middle — so FY2019 is 令和元年度
although April 2019 was still 平成31年, and FY1988 stays 昭和63年度 although its last
months were 平成元年. Era spans come from japanera; nothing here guesses them.

Dates in the database are UTC (``created_at``, ``updated_at``); :func:`japan_date` gives
the day they fell on in Japan, which is the day a fiscal-year count puts them in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from directory.i18n import N_, LocalisedError, translate
from directory.weekdays import MONTH_EN

__all__ = [
    "FISCAL_MONTHS",
    "JAPAN",
    "FiscalPeriodError",
    "Period",
    "era_month_label",
    "fiscal_year",
    "fy_label",
    "fy_range",
    "japan_date",
    "month_label",
    "month_range",
    "period",
    "recorded_day",
    "today_in_japan",
    "utc_bounds",
]

JAPAN = ZoneInfo("Asia/Tokyo")
#: The months of a fiscal year in its order: April first, March last.
FISCAL_MONTHS = (4, 5, 6, 7, 8, 9, 10, 11, 12, 1, 2, 3)
#: The years a fiscal year may be: April–March since 1886 (明治19年度); any later one.
FIRST_FY, LAST_FY = 1886, 2999


class FiscalPeriodError(LocalisedError, ValueError):
    """A fiscal year or month that does not exist: ``str()`` is Japanese,
    ``describe(lang)`` any language (pages answer 400, the command line exits 2)."""


@dataclass(frozen=True)
class Period:
    """A span of days, both ends included (a fiscal year, or one month of it)."""

    first: dt.date
    last: dt.date

    def __contains__(self, day: object) -> bool:
        return isinstance(day, dt.date) and self.first <= day <= self.last


def _check_fy(fy: int) -> int:
    if not isinstance(fy, int) or not FIRST_FY <= fy <= LAST_FY:
        raise FiscalPeriodError(
            N_("The fiscal year must be a year from {first} to {last}."),
            first=FIRST_FY,
            last=LAST_FY,
        )
    return fy


def fiscal_year(day: dt.date) -> int:
    """The fiscal year a day belongs to: 2027-03-31 → 2026, 2027-04-01 → 2027."""
    return day.year if day.month >= 4 else day.year - 1


def fy_range(fy: int) -> Period:
    """1 April of ``fy`` to 31 March of the next year."""
    _check_fy(fy)
    return Period(dt.date(fy, 4, 1), dt.date(fy + 1, 3, 31))


def month_range(fy: int, month: int) -> Period:
    """One calendar month of fiscal year ``fy``: January–March fall in ``fy + 1``."""
    _check_fy(fy)
    if not isinstance(month, int) or not 1 <= month <= 12:
        raise FiscalPeriodError(N_("The month must be a number from 1 to 12."))
    year = fy if month >= 4 else fy + 1
    first = dt.date(year, month, 1)
    after = dt.date(year + (month == 12), month % 12 + 1, 1)
    return Period(first, after - dt.timedelta(days=1))


def period(fy: int | None, month: int | None = None) -> Period | None:
    """The span a report covers: a month of a fiscal year, a fiscal year, or everything
    (None). A month needs its fiscal year (「6月」 alone says nothing about which)."""
    if fy is None:
        if month is not None:
            raise FiscalPeriodError(N_("Choose the fiscal year of the month as well."))
        return None
    return fy_range(fy) if month is None else month_range(fy, month)


def _era_year(fy: int, on: dt.date | None = None) -> tuple[str, str, int]:
    """(kanji era, English era, year in the era) of the fiscal year's middle, or of the
    day ``on`` (a calendar month is named after the era of its first day)."""
    from japanera import EraDate

    day = on or dt.date(fy, 10, 1)
    era = EraDate(day.year, day.month, day.day).era
    if era is None:  # pragma: no cover - japanera knows every year from 明治 on
        raise FiscalPeriodError(
            N_("The fiscal year must be a year from {first} to {last}."),
            first=FIRST_FY,
            last=LAST_FY,
        )
    return era.kanji, era.english_vowel_shortened, day.year - era.since.year + 1


def fy_label(fy: int, lang: str = "ja") -> str:
    """「令和8年度（2026年度）」 / "FY2026 (Reiwa 8)"; the first year of an era is 元年."""
    _check_fy(fy)
    kanji, english, n = _era_year(fy)
    era = f"{kanji}{'元' if n == 1 else n}年" if lang == "ja" else f"{english} {n}"
    return translate(N_("FY{year} ({era})"), lang, year=fy, era=era)


def era_month_label(fy: int, month: int, lang: str = "ja") -> str:
    """A month of a fiscal year as a calendar month in era form: FY2019's April is
    「平成31年4月」, its May 「令和元年5月」, its January 「令和2年1月」 ("Jan Reiwa 2")."""
    _check_fy(fy)
    first = month_range(fy, month).first
    kanji, english, n = _era_year(fy, first)
    if lang == "ja":
        return f"{kanji}{'元' if n == 1 else n}年{month}月"
    return f"{month_label(month, lang)} {english} {n}"


def month_label(month: int, lang: str = "ja") -> str:
    """「6月」 / "Jun" (the catalogue's month words, as the schedules use them)."""
    return translate(MONTH_EN[month - 1], lang)


def japan_date(moment: dt.datetime) -> dt.date:
    """The day in Japan of a stored time (naive datetimes in the database are UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(JAPAN).date()


def recorded_day(recorded_on: dt.date | None, created_at: dt.datetime) -> dt.date:
    """The day a record counts on in a period: the day it says it was recorded (a need's
    intake written up a week later still counts on the day of the intake), else the day
    in Japan it was entered."""
    return recorded_on if recorded_on is not None else japan_date(created_at)


def utc_bounds(span: Period) -> tuple[dt.datetime, dt.datetime]:
    """The stored (naive UTC) times a span of days in Japan covers: ``start <= t < end``.
    Why: a query can then pick records by ``created_at`` as :func:`recorded_day` would."""
    start = dt.datetime.combine(span.first, dt.time(), JAPAN)
    end = dt.datetime.combine(span.last + dt.timedelta(days=1), dt.time(), JAPAN)
    return (
        start.astimezone(dt.UTC).replace(tzinfo=None),
        end.astimezone(dt.UTC).replace(tzinfo=None),
    )


def today_in_japan() -> dt.date:
    """Today in Japan, whatever the server's clock zone."""
    return dt.datetime.now(JAPAN).date()

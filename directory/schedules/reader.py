"""Schedules written in ordinary Japanese → RRULE schedules, occurrences and words.

Coordinators write when a resource runs the way they would say it: 「月水金 10:00～12:00
祝日休み」, 「毎月第1月曜 13時30分～15時 12月～3月」, 「木 10:00～12:00 第2・第4木曜」. The
importer joins ``利用可能曜日``, ``開始時間``～``終了時間`` and ``利用可能日時特記事項`` with
spaces and calls :func:`parse_schedule` once per resource; ``tsunagu schedule expand`` passes
the user's text as it is. Each :class:`ParsedSchedule` maps 1:1 onto
:class:`directory.models.Schedule`.

The parser never guesses. Every run of text it does not understand is reported in
:attr:`ScheduleParse.not_understood` (in the coordinator's own spelling), so the matcher
never assumes availability that nobody wrote down and the coordinator sees what to fix:
「不定期」「随時」「要相談」「月に1回程度」 are reported, not turned into a recurrence.

Conventions (the places where ordinary Japanese needs a decision):

* 午前中 / 午前 without a time = 9:00–12:00; 午後 without a time = 13:00–17:00.
* 午後1時～3時: a 午後 on the start carries over to an end without 午前/午後 (13:00–15:00).
  Nothing else is inferred: 「10時～3時」 is reported, not read as 10:00–15:00.
  午前12時 is noon (明治5年太政官布告第337号); 午後12時 and 24:00 are refused. 朝8時 is
  8:00, 夕方5時 / 夜7時 are 17:00 / 19:00 (only 4–11 o'clock are accepted after 朝・夕方・夜).
  終日 means "no time of day" (start and end None).
* 冬期 / 冬季 / 冬期間 / 冬場 / 冬の間 / 降雪時 / 積雪時 = the season December–March. An
  explicit window next to them (「冬期（11月～3月）」) wins. 降雪時 / 積雪時 ("when it
  snows") is understood as that season and, when the text names no days, as any day in it
  (``FREQ=DAILY``): snow-removal help comes on whichever day the snow falls, so the matcher
  should treat it as available throughout the season. 冬期 alone names no days (rrule None).
* 年末年始 = 29 December – 3 January.
* 隔週 (every other week) needs an anchor: a date in the text (「隔週火曜（2026年12月1日から）」)
  else its first occurrence on or after ``anchor_from`` (the import day), stored once in
  :attr:`ParsedSchedule.anchor_date`; the weeks are counted from its week (WKST=MO) whatever
  range is expanded. With neither, 隔週 is reported, not guessed.
* Dates (6月3日(火), 令和9年1月9日, 2027/1/16): a list of them with no other days is one
  occurrence each (:data:`ONE_DAY` on ``anchor_date``). Without a year, the weekday written
  decides it (the matching year nearest ``anchor_from`` or today), else the year nearest
  ``anchor_from``; with neither the date is reported.
* An event written with a start only (「13:30～」) lasts :data:`DEFAULT_LENGTH` (one hour,
  23:59 at the latest); the end is stored, so no calendar gets a zero-length event.
* Hours with no days (「9時～17時」 alone) are reported, never a silent empty schedule.
* 平日 = Monday–Friday; whether holidays are closed is what the text says (祝日休み).
  「24時間」「定休日なし」 with no days = every day.
* A weekday with hours of its own: 「水曜は午後休み」「水曜は午前のみ」 end it at 12:00,
  「午前休み」「午後のみ」 start it at 13:00 (午前 9:00–12:00 / 午後 13:00–17:00 when no hours
  are written), 「土曜は9:00～12:00」 replaces its hours.
* A closure that cannot be placed (a CLOSED word with nothing to close, or a fragment not
  understood with 休・除・以外・翌・振替・場合 … in it) leaves no schedule at all: what
  remains would read as "open then", the opposite of what was written.
* A closure word (休み, 休業, 除く, 以外, 定休日 …) covers the days written directly before it,
  joined by nothing, ・, /, と or や (「土日祝休み」「日曜・祝日は休み」); a space ends the list
  (「月水金 祝日休み」 = open Monday, Wednesday and Friday, closed on holidays). A comma
  also ends it after days marked as open days (「毎週火曜、祝日休み」「第1・第3月曜、祝日休み」
  「隔週火曜、祝日休み」). A comma after plain weekdays is ambiguous (「月水金、祝日休み」 vs
  「日曜、祝日休み」): the holiday part is applied and the weekdays are reported as not
  understood.
* Closed weekdays with no open days written at all mean "every other day"
  (「土日祝休み」 = Monday–Friday, closed on holidays).
* A weekday column plus an nth-weekday note (「木 10:00～12:00 第2・第4木曜」, or just
  「第2・第4」 or 「隔週」 after the weekday) is one monthly / fortnightly schedule, not a weekly
  one plus another.
* 休止中 sets :attr:`ScheduleParse.paused`; the schedule itself is still parsed and
  :func:`expand` still expands it. Whether a paused resource is shown is the resource's
  status (the importer sets 状態), not the schedule's business.
* Season, 祝日 and 年末年始 apply to every pattern of the text.
* Months: a window (12月～3月, 4～11月, 4月から11月), a list written as one (5月・7月・9月・11月,
  5月、7月), 奇数月 / 偶数月, and closed months (8月休み, 1月・8月は休み, 2月と8月を除く) combine
  into one set of months. A set that is not one window is stored as one row per run of months
  (「奇数月 第2土曜」 = six rows, 1月 … 11月; 「1月・8月休み」 = 2月～7月 and 9月～12月), so
  :class:`~directory.models.Schedule`, the matcher and the exports need nothing new;
  :func:`describe` joins the rows again. A month on its own (「12月」) may be a one-off and
  is reported; so is 隔月 unless 奇数月 / 偶数月 (or the months themselves) say which. A
  second, different season (「12月～3月 4月～11月」) is reported. After a comma a month range
  ends a closure list (「4月～11月、8月休み」 = April–November without August).
* A date range is a season only when it runs from the 1st of a month to the last day of a
  month (12月1日～3月31日, 12/1～3/31, 2月28日 or 29日); seasons are whole months, so
  「11月15日～3月31日」 is reported, and so is お盆休み (no fixed dates, and days cannot be
  closed one by one).
* 〇のつく日 (5のつく日) = the days of the month ending in that digit (5, 15, 25).
* 月N回 / 週N回 is read only with the days that make it up, and only when they give exactly N
  every month / week (「月2回（第1・第3火曜）」「週2回 月・木」). Alone (「月2回」), vague
  (「月1回程度」) or not matching (「月2回 隔週火曜」, 「月4回 毎週火曜」, 「月2回（第1・第5火曜）」)
  it is reported.
* A bracket holding only a name or remark (「（定例会）」「（体操）」「【資源ごみ】」) is kept in
  the source text and not reported, provided something else in the text was understood. One
  that may say something about the days — digits, calendar and weekday words, 休, 中止, 除,
  未定, 不定, 随時, 相談, 確認, 連絡, 場合 … (see ``_LABEL_VETO``) — is reported (「（不定期）」
  「（日程は電話で確認）」「（雨天時は翌週）」), and one that is schedule text is read
  (「（祝日除く）」「（12月～3月）」「（8月は休み）」).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import jpholiday
from dateutil.rrule import rrule, rruleset, rrulestr

from directory.i18n import N_, translate
from directory.text import normalize
from directory.weekdays import MONTH_EN, WEEKDAY_CHARS, WEEKDAY_CODES, WEEKDAY_EN

__all__ = [
    "Occurrence",
    "ParsedSchedule",
    "ScheduleParse",
    "describe",
    "expand",
    "parse_schedule",
    "parse_time",
    "parse_time_range",
    "to_rrule_set",
]

HOLIDAY_OPEN = "open"
HOLIDAY_CLOSED = "closed"

#: 午前中 / 午前 and 午後 written without a time (see the module docstring).
MORNING = (dt.time(9), dt.time(12))
AFTERNOON = (dt.time(13), dt.time(17))
#: The seasons 冬期, 降雪時 … stand for.
WINTER = (12, 3)
#: 年末年始: 29 December – 3 January.
YEAR_END_DAYS = ((12, 29), (12, 30), (12, 31), (1, 1), (1, 2), (1, 3))

#: The RRULE of a one-off date (「6月3日(火)」): one occurrence on the schedule's anchor.
ONE_DAY = "FREQ=DAILY;COUNT=1"
#: An event written with a start only (「13:30～」) lasts this long (see :func:`expand`).
DEFAULT_LENGTH = dt.timedelta(hours=1)

_ALL_DAYS = frozenset(range(7))
_WEEKDAYS = frozenset(range(5))
_ODD_MONTHS = frozenset(range(1, 13, 2))
_EVEN_MONTHS = frozenset(range(2, 13, 2))
_KANJI_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7}


# --- public data -----------------------------------------------------------------------


@dataclass(frozen=True)
class ParsedSchedule:
    """One recurring pattern; the fields are the columns of :class:`~directory.models.Schedule`.

    ``rrule`` is an RFC 5545 RRULE body without DTSTART (``FREQ=WEEKLY;BYDAY=MO,WE,FR``,
    ``FREQ=MONTHLY;BYDAY=2TH,4TH``, ``FREQ=MONTHLY;BYMONTHDAY=15``,
    ``FREQ=WEEKLY;INTERVAL=2;BYDAY=TU``, ``FREQ=DAILY``); ``None`` when the text gives no
    days (only a time, or only 祝日休み). The season is kept out of the RRULE in its own
    columns (it may wrap the year end: 12, 3); :func:`to_rrule_set` adds it as BYMONTH.
    """

    rrule: str | None
    start_time: dt.time | None = None
    end_time: dt.time | None = None
    season_start_month: int | None = None
    season_end_month: int | None = None
    holiday_rule: str = HOLIDAY_OPEN
    year_end_closed: bool = False
    anchor_date: dt.date | None = None

    def season_months(self) -> tuple[int, ...] | None:
        """The months of the season in calendar order of the window (12, 1, 2, 3), or None."""
        if self.season_start_month is None or self.season_end_month is None:
            return None
        return _window_months(self.season_start_month, self.season_end_month)


@dataclass(frozen=True)
class ScheduleParse:
    """What :func:`parse_schedule` made of one text.

    ``understood`` is False as soon as one meaningful fragment was not understood; the
    fragments are in ``not_understood`` as the coordinator wrote them. ``schedules`` may be
    empty (empty text, 「休止中」 alone, 「不定期」).
    """

    source_text: str
    schedules: tuple[ParsedSchedule, ...]
    paused: bool
    understood: bool
    not_understood: tuple[str, ...] = ()

    def as_rows(self) -> list[dict[str, Any]]:
        """Keyword arguments for :class:`~directory.models.Schedule`, one dict per row.

        A non-empty text that gave no schedule still gives one row (``rrule`` None) so that
        ``source_text`` and ``understood`` are stored and the coordinator can see them.
        """
        schedules = self.schedules
        if not schedules and self.source_text.strip():
            schedules = (ParsedSchedule(rrule=None),)
        return [
            {
                "rrule": s.rrule,
                "start_time": s.start_time,
                "end_time": s.end_time,
                "season_start_month": s.season_start_month,
                "season_end_month": s.season_end_month,
                "holiday_rule": s.holiday_rule,
                "year_end_closed": s.year_end_closed,
                "anchor_date": s.anchor_date,
                "source_text": self.source_text,
                "understood": self.understood,
            }
            for s in schedules
        ]


@dataclass(frozen=True, order=True)
class Occurrence:
    """One occurrence: a datetime start, or a date when the schedule has no start time.

    ``end`` is None when no end time is known. Occurrences from schedules with and without
    times cannot be compared with ``<`` (like dates and datetimes); :func:`expand` sorts them
    by :meth:`sort_key`.
    """

    start: dt.datetime | dt.date
    end: dt.datetime | None = None

    @property
    def day(self) -> dt.date:
        return self.start.date() if isinstance(self.start, dt.datetime) else self.start

    def sort_key(self) -> tuple[dt.date, int, dt.time, int, dt.datetime]:
        timed = isinstance(self.start, dt.datetime)
        at = self.start.time() if isinstance(self.start, dt.datetime) else dt.time(0)
        return (self.day, int(timed), at, int(self.end is not None), self.end or dt.datetime.min)


# --- times -----------------------------------------------------------------------------

_MERIDIEM = r"(?:午前|午後|am|pm|朝|夕方|夜)"
_ATOM = rf"(?:{_MERIDIEM}\s*)?(?:\d{{1,2}}\s*:\s*\d{{2}}|\d{{1,2}}\s*時(?!間)(?:\s*\d{{1,2}}\s*分|\s*半)?|正午)"
_RANGE_SEP = r"(?:~|-|ー|から|より)"
_ATOM_RE = re.compile(
    rf"(?:(?P<m>{_MERIDIEM})\s*)?(?:(?P<h>\d{{1,2}})\s*:\s*(?P<mi>\d{{2}})"
    r"|(?P<h2>\d{1,2})\s*時(?:\s*(?P<mi2>\d{1,2})\s*分|\s*(?P<half>半))?|(?P<noon>正午))"
)
_RANGE_RE = re.compile(rf"(?P<a>{_ATOM})\s*{_RANGE_SEP}\s*(?P<b>{_ATOM})(?:\s*まで)?")
_ABOUT = re.compile(r"\s*(?:頃|ごろ)")
# a time token of the text: start and end, start only (10:00～) or end only (～12:00)
_TIME_PARTS = re.compile(rf"(?P<a>{_ATOM})?\s*(?:{_RANGE_SEP})?\s*(?P<b>{_ATOM})?")


def _atom(key: str, cell: str) -> tuple[dt.time, str | None]:
    """Parse one normalised time; returns the time and the 午前/午後 written, if any."""
    m = _ATOM_RE.fullmatch(key.strip())
    if m is None:
        raise ValueError(f"時刻「{cell}」を読めません（例: 10:00、10時30分、午後1時半）")
    word = m["m"]
    meridiem = {"午前": "am", "朝": "am", "午後": "pm", "夕方": "pm", "夜": "pm"}.get(
        word or "", word
    )
    if m["noon"]:
        if meridiem:
            raise ValueError(f"時刻「{cell}」を読めません（正午に午前・午後は付けません）")
        return dt.time(12), None
    hour = int(m["h"] if m["h"] is not None else m["h2"])
    minute = 30 if m["half"] else int(m["mi"] or m["mi2"] or 0)
    if word in ("朝", "夕方", "夜") and not 4 <= hour <= 11:
        raise ValueError(f"時刻「{cell}」は{word}の時刻として読めません（例: {word}8時）")
    if meridiem == "am":
        if hour > 12:
            raise ValueError(f"時刻「{cell}」は午前0時～午前12時の範囲にありません")
    elif meridiem == "pm":
        if hour >= 12:
            raise ValueError(f"時刻「{cell}」は午後0時～午後11時59分の範囲にありません")
        hour += 12
    if hour > 23 or minute > 59:
        raise ValueError(f"時刻「{cell}」は0:00～23:59の範囲にありません")
    return dt.time(hour, minute), meridiem


def parse_time(cell: str) -> dt.time:
    """Parse one time cell: 10:00, １０：００, 10時, 10時30分, 10時半, 午後1時半, 正午.

    Raises ValueError with a Japanese message naming the value (the importer shows it as
    the reason for the cell); 24:00 is refused because a day has no such time.
    """
    return _atom(normalize(cell, keep_spaces=True), cell)[0]


def parse_time_range(cell: str) -> tuple[dt.time, dt.time]:
    """Parse a time range: 10:00～12:00, 10時～12時, 午前10時～正午, 9:00-11:30, 10:00から12:00まで.

    A 午後 on the start carries over to an end written without 午前/午後 (午後1時～3時 =
    13:00–15:00). The end must be after the start. Raises ValueError (Japanese message).
    """
    key = normalize(cell, keep_spaces=True).strip()
    m = _RANGE_RE.fullmatch(key)
    if m is None:
        raise ValueError(f"時間帯「{cell}」を読めません（例: 10:00～12:00、10時～12時）")
    return _range(m["a"], m["b"], cell)


def _range(a: str, b: str, cell: str) -> tuple[dt.time, dt.time]:
    start, meridiem = _atom(a, cell)
    end, end_meridiem = _atom(b, cell)
    if meridiem == "pm" and end_meridiem is None and end.hour < 12 and "正午" not in b:
        end = end.replace(hour=end.hour + 12)
    if end <= start:
        raise ValueError(
            f"時間帯「{cell}」の終了（{end:%H:%M}）が開始（{start:%H:%M}）より後ではありません"
        )
    return start, end


# --- the text → key with a map back to the original ------------------------------------

_COMBINING = frozenset("\u3099\u309a\u309b\u309c\uff9e\uff9f")


def _keyed(text: str) -> tuple[str, list[tuple[int, int]]]:
    """Normalise ``text`` unit by unit, remembering where each key character came from.

    Each unit is a character plus any voicing marks after it, normalised with
    :func:`directory.text.normalize` (``keep_spaces=True``), so a key span can be shown in
    the coordinator's own spelling. Whitespace collapses to one space.
    """
    chars: list[str] = []
    spans: list[tuple[int, int]] = []
    i, n = 0, len(text)
    while i < n:
        j = i + 1
        while j < n and text[j] in _COMBINING:
            j += 1
        unit = text[i:j]
        norm = " " if unit.isspace() else normalize(unit, keep_spaces=True)
        for ch in norm:
            if ch == " " and (not chars or chars[-1] == " "):
                continue
            chars.append(ch)
            spans.append((i, j))
        i = j
    while chars and chars[-1] == " ":
        chars.pop()
        spans.pop()
    return "".join(chars), spans


# --- tokens ----------------------------------------------------------------------------


@dataclass
class _Tok:
    kind: str
    start: int
    end: int
    value: Any = None
    state: str = ""  # "closed" / "open" / "used" / "bad" after the semantic passes


_NUM = "[1-5一二三四五]"
_NTH_ITEM = rf"(?:第\s*{_NUM}(?![0-9])|最終|最後の?|月末の)(?:\s*週目?)?"
_NTH_MORE = (
    rf"(?:\s*(?:[・、,]|と|及び)\s*(?:第\s*{_NUM}(?![0-9])|{_NUM}(?![0-9]|\s*[:時日])|最終|最後)"
    r"(?:\s*週目?)?)"
)
_WD = f"[{WEEKDAY_CHARS}]"
# A weekday written as one bare character (月水金) must stand next to something that makes
# it a weekday; otherwise 月 in 月に1回 or 日 in 日程 would be read as Monday / Sunday.
_BARE_WD_AFTER = (
    r"(?=曜|[月火水木金土日祝]|[\s・、,/()\[\]~\-ー]|と|や|及|は|も|の|を|休|定|以|除|午"
    r"|\d{1,2}\s*(?::|時)|$)"
)
_CLOSED = (
    r"(?:(?:の場合|にあたる場合|に当たる場合|と重なる場合|と重なった場合|の時|のとき|の日)\s*)?"
    r"(?:は|を|も)?\s*(?:お休み|休み|休業日?|休館日?|休所日?|休診日?|休講|閉館|閉所|除く|除き|除いて"
    r"|以外|定休日?|なし|無し|中止|休止|(?:ご)?利用(?:でき|いただけ|出来)ません|利用不可|休(?!日))"
    r"(?:です|とします|となります|とする|となる|とさせていただきます)?"
)
_OPEN = (
    r"(?:を|も)?\s*(?:含む|含め(?:て)?)"
    r"|も\s*(?:実施|開催|営業|開所|開館|活動|利用可能?|可能?|対応)?(?:します|しています|です)?"
)
_SUFFIX_ONLY = r"(?:\s*(?:のみ|限定|だけ|中))?"
_FILLERS = (
    "頃|ごろ|位|くらい|ぐらい|程度|予定|要事前予約|事前予約|要予約|予約制|予約優先|要申し?込み?"
    "|申込制|雨天時は中止|雨天の場合は中止|雨天時中止|雨天中止|荒天時は中止|荒天の場合は中止|荒天時中止"
    "|荒天中止|悪天候時は中止|悪天候の場合は中止|悪天候時中止|のみ|だけ|限定|開催|実施"
    "|営業|活動|開所|開館|開始|終了|すたーと|通年|年間を通して|年間通して|一年中|終日|等|など|です"
    "|します|しています|ただし|但し|受付時間|診療時間|相談時間|利用時間|開所時間|開館時間|営業時間"
    "|曜日|時間|日時|開催日|活動日|まで|から|より|の|に|は|で|を"
)

_DATE_SEP = r"(?:~|-|ー|から)\s*(?:翌年?\s*)?"
_PERIOD_TAIL = r"(?:\s*(?:まで|の間|の期間|期間|のみ|限定))*"
_NOT_VAGUE = (
    r"(?!\s*(?:程度|位|くらい|ぐらい|ほど|前後|以上|以下|以内|未満|を?目安|から|より|まで|ずつ))"
)

# (kind, pattern, strong). A weak recogniser is not tried right after unknown text, so a
# particle or filler inside an unknown phrase (「月に1回程度」) stays part of that phrase.
_RECOGNISERS: list[tuple[str, re.Pattern[str], bool]] = [
    (kind, re.compile(pattern), strong)
    for kind, pattern, strong in [
        ("SEP:space", r"\s+", True),
        ("SEP:comma", r"[、,]", True),
        ("SEP:tight", r"[・/]", True),
        ("SEP:paren", r"[()\[\]{}「」『』【】<>]", True),
        ("SEP:other", r"[。.;:!?※*#=+]", True),
        (
            "PAUSE",
            r"(?:現在\s*)?(?:一時\s*)?(?:活動\s*)?(?:休止|休会)(?:\s*(?:中|しています|しております|している))?",
            True,
        ),
        (
            "YEAREND",
            r"年末年始(?:\s*\(?\s*(?:12/29|12月29日)\s*(?:~|-|から)\s*(?:翌年?)?(?:1/3|1月3日)"
            r"(?:\s*まで)?\s*\)?)?|(?:12/29|12月29日)\s*(?:~|-|から)\s*(?:翌年?)?(?:1/3|1月3日)(?:まで)?",
            True,
        ),
        # a date range (12月1日～3月31日, 12/1～3/31): a season when it runs from the first of
        # a month to the last day of a month, else not understood (seasons are whole months)
        (
            "DATERANGE",
            rf"(?<![0-9/])(\d{{1,2}})\s*月\s*(\d{{1,2}})\s*日\s*{_DATE_SEP}"
            rf"(\d{{1,2}})\s*月\s*(\d{{1,2}})\s*日{_PERIOD_TAIL}"
            rf"|(?<![0-9/])(\d{{1,2}})/(\d{{1,2}})\s*{_DATE_SEP}(\d{{1,2}})/(\d{{1,2}})(?![0-9/])"
            rf"{_PERIOD_TAIL}",
            True,
        ),
        (
            "HOLIDAY",
            r"国民の祝日に関する法律(?:\s*\(\s*昭和23年法律第178号\s*\))?\s*に\s*(?:規定|定め)"
            r"(?:する|られた|る)\s*休日|国民の祝日|祝祭日|祝休日|振替休日|祝日|祭日|祝",
            True,
        ),
        # 「時間外も対応可」: a remark that says nothing about the days, kept as written
        (
            "REMARK",
            r"(?:時間外|夜間|緊急時)\s*(?:も|は|の)?\s*(?:(?:要|応)相談|(?:対応|相談|受付)\s*"
            r"(?:可能?|します|いたします|あり)?)",
            True,
        ),
        ("ALLDAY", r"24\s*時間(?:\s*365\s*日)?(?:\s*(?:対応|受付|営業|体制|開所|開館))?", True),
        (
            "DAILY",
            r"(?:定休日|休館日|休業日|休所日|休み)\s*(?:は)?\s*(?:なし|無し|ありません)|365\s*日",
            True,
        ),
        # a date (6月3日(火), 2026年6月3日, 令和8年6月3日, 2026/6/3): one-off dates in a list
        # or the anchor of 隔週
        (
            "DATE",
            r"(?<![0-9/])(?:(?:(\d{4})\s*年|令和\s*(\d{1,2}|元)\s*年)\s*)?(\d{1,2})\s*月\s*(\d{1,2})\s*日"
            rf"(?:\s*\(\s*({_WD})(?:曜日?)?\s*\))?"
            r"|(?<![0-9/])(?:(\d{4})/)?(\d{1,2})/(\d{1,2})(?![0-9/])"
            rf"(?:\s*\(\s*({_WD})(?:曜日?)?\s*\))?",
            True,
        ),
        ("UNKNOWN", r"休日", True),  # 休日 = weekends and/or holidays: not guessed
        # 月2回・週1回: checked against the days written with it (see parse_schedule); a
        # vague count (月1回程度) is not recognised and stays unknown text
        (
            "COUNT",
            rf"(?:毎\s*)?(月|週|年)\s*(?:に\s*)?([1-7一二三四五六七](?![0-9])|1[0-2])\s*(?:回|度)"
            rf"{_NOT_VAGUE}",
            True,
        ),
        ("MONTHSET", r"(?:毎\s*)?(奇数|偶数)\s*月(?:\s*(?:のみ|だけ|限定))?", True),
        ("BIMONTHLY", r"隔月", True),  # understood only with the months it means (隔月（奇数月）)
        ("DIGITDAY", r"(?:毎月\s*)?([0-9])\s*の\s*(?:つく|付く)\s*日", True),  # 5のつく日
        ("CLOSED", _CLOSED, True),
        ("OPEN", _OPEN, True),
        (
            "WINTER",
            rf"(?:冬期間|冬季間|冬期|冬季|冬場|冬の間|降雪期間?|降雪時|積雪時|積雪期間?){_SUFFIX_ONLY}",
            True,
        ),
        (
            "SEASON",
            r"(?<![0-9/])(\d{1,2})\s*月?\s*(?:~|-|ー|から)\s*(?:翌年?\s*)?(\d{1,2})\s*月"
            r"(?!\s*\d{1,2}\s*日)(?:\s*末)?(?:\s*(?:まで|の間|の期間|期間|のみ|限定))*",
            True,
        ),
        ("MONTH", r"(?<![0-9/])(\d{1,2})\s*月(?!\s*\d{1,2}\s*日)(?:\s*(のみ|だけ|限定))?", True),
        ("AMPM", r"午前中|(?:午前|午後)(?!\s*\d{1,2}\s*(?::|時))", True),
        (
            "TIME",
            rf"{_ATOM}(?:\s*(?:頃|ごろ))?(?:\s*{_RANGE_SEP}\s*(?:{_ATOM}(?:\s*(?:頃|ごろ))?)?)?"
            rf"(?:\s*まで)?|(?:~|-|から)\s*{_ATOM}(?:\s*(?:頃|ごろ))?(?:\s*まで)?",
            True,
        ),
        ("WD", rf"毎週\s*({_WD})(?:曜日|曜)?|毎({_WD})(?:曜日|曜)", True),
        ("DAILY", r"年中無休|無休|毎日", True),
        ("MONTHEND", r"毎?月末(?:日)?(?!の)", True),
        ("MONTHLY", r"毎月", True),
        ("WEEKLY", r"毎週", True),
        ("BIWEEKLY", r"隔週(?:の)?|2週間?に1(?:回|度)|2週間?(?:ごと|毎)", True),
        ("NTH", rf"{_NTH_ITEM}{_NTH_MORE}*(?:\s*の)?", True),
        ("WEEKDAYS", r"平日", True),
        ("WEEKEND", r"週末", True),
        (
            "WDRANGE",
            rf"({_WD})(?:曜日|曜)\s*(?:~|-|ー|から)\s*({_WD})(?:曜日|曜)?(?:\s*まで)?",
            True,
        ),
        (
            "WDRANGE",
            rf"(?<![0-9])({_WD})\s*(?:~|-|ー|から)\s*({_WD})(?:曜日|曜)?(?:\s*まで)?",
            False,
        ),
        ("WD", rf"({_WD})(?:曜日|曜)", True),
        # after a digit only in 第2木 / 第2・4木 (12月 and 15日 are dates)
        ("WD", rf"(?:(?<![0-9])|(?<=第[1-5])|(?<=[・、,と][1-5]))({_WD}){_BARE_WD_AFTER}", False),
        ("MONTHDAY", r"(?<![0-9/])(\d{1,2}(?:\s*[・、,と]\s*\d{1,2})*)\s*日(?!\s*曜)", True),
        ("SEP:tight", r"と|や|及び|および|並びに|ならびに", False),
        ("SEP:other", r"[~\-ー]", False),
        ("FILLER", _FILLERS, False),
    ]
]


def _tokenize(key: str) -> list[_Tok]:
    toks: list[_Tok] = []
    pos, n = 0, len(key)
    unknown_from: int | None = None
    while pos < n:
        found: tuple[str, re.Match[str]] | None = None
        after_unknown = unknown_from is not None or (toks and toks[-1].kind == "UNKNOWN")
        for kind, rx, strong in _RECOGNISERS:
            if after_unknown and not strong:
                continue
            m = rx.match(key, pos)
            if m is not None and m.end() > pos:
                found = (kind, m)
                break
        if found is None:
            if unknown_from is None:
                unknown_from = pos
            pos += 1
            continue
        if unknown_from is not None:
            toks.append(_Tok("UNKNOWN", unknown_from, pos))
            unknown_from = None
        kind, m = found
        toks.append(_Tok(kind, pos, m.end(), _token_value(kind, m)))
        pos = m.end()
    if unknown_from is not None:
        toks.append(_Tok("UNKNOWN", unknown_from, n))
    return toks


def _date_range_window(m1: int, d1: int, m2: int, d2: int) -> tuple[int, int] | None:
    """12月1日～3月31日 → (12, 3); None unless it runs from a 1st to a month's last day."""
    if not (1 <= m1 <= 12 and 1 <= m2 <= 12) or d1 != 1:
        return None
    last = 29 if m2 == 2 else (30 if m2 in (4, 6, 9, 11) else 31)
    if d2 != last and not (m2 == 2 and d2 == 28):
        return None
    return (m1, m2)


def _weekday_range(a: str, b: str) -> frozenset[int]:
    i, j = WEEKDAY_CHARS.index(a), WEEKDAY_CHARS.index(b)
    return frozenset((i + k) % 7 for k in range((j - i) % 7 + 1))


def _token_value(kind: str, m: re.Match[str]) -> Any:
    text = m.group(0)
    if kind.startswith("SEP:"):
        return kind[4:]
    if kind == "WD":
        char = next(g for g in m.groups() if g)
        return frozenset({WEEKDAY_CHARS.index(char)})
    if kind == "WDRANGE":
        return _weekday_range(m.group(1), m.group(2))
    if kind == "WEEKDAYS":
        return _WEEKDAYS
    if kind == "WEEKEND":
        return frozenset({5, 6})
    if kind == "NTH":
        nths: list[int] = []
        for num, last in re.findall(rf"({_NUM})|(最終|最後|月末)", text):
            value = -1 if last else _KANJI_DIGITS.get(num) or int(num)
            if value not in nths:
                nths.append(value)
        return tuple(nths)
    if kind == "MONTHDAY":
        return tuple(int(d) for d in re.findall(r"\d{1,2}", m.group(1)))
    if kind == "SEASON":
        return (int(m.group(1)), int(m.group(2)))
    if kind == "MONTH":
        return (int(m.group(1)), bool(m.group(2)))
    if kind == "MONTHSET":
        return frozenset(range(1 if m.group(1) == "奇数" else 2, 13, 2))
    if kind == "DATERANGE":
        m1, d1, m2, d2 = (int(g) for g in m.groups() if g is not None)
        return _date_range_window(m1, d1, m2, d2)
    if kind == "DATE":
        g = m.groups()
        year, reiwa, month, day, wd = g[0] or g[5], g[1], g[2] or g[6], g[3] or g[7], g[4] or g[8]
        if reiwa:
            year = str(2018 + (1 if reiwa == "元" else int(reiwa)))
        weekday = WEEKDAY_CHARS.index(wd) if wd else None
        return (int(year) if year else None, int(month), int(day), weekday)
    if kind == "COUNT":
        return (m.group(1), _KANJI_DIGITS.get(m.group(2)) or int(m.group(2)))
    if kind == "DIGITDAY":
        digit = int(m.group(1))
        return tuple(d for d in range(1, 32) if d % 10 == digit)
    if kind == "AMPM":
        return AFTERNOON if text.startswith("午後") else MORNING
    return None


# --- semantics -------------------------------------------------------------------------

_SUBJECTS = frozenset(
    {"WD", "WDRANGE", "WEEKDAYS", "WEEKEND", "HOLIDAY", "YEAREND"}
    | {"WINTER", "SEASON", "MONTH"}
    | {"MONTHSET", "DATERANGE"}
)
_BRACKETS = {"(": ")", "[": "]", "{": "}", "「": "」", "『": "』", "【": "】", "<": ">"}
_LABEL_KINDS = frozenset({"UNKNOWN", "FILLER", "SEP:tight", "SEP:space", "SEP:comma", "SEP:other"})
#: What makes bracketed text more than a label: it may say when (or whether) the activity
#: takes place, so it is reported rather than ignored.
_LABEL_VETO = re.compile(
    r"[0-9A-Za-z一二三四五六七八九十〇]|[日月火水木金土]|週|年|曜|時|分|[数何毎隔]回|毎|隔|第"
    r"|休|止|除|外|以|未|不|変|延|替|臨|随|相談|確認|連絡|問|電話|予|程|頃|祝|祭|季|期|盆|末|始"
    r"|雨|雪|天|場合|限|のみ|だけ|中|都度|調整|開|閉|終|午|朝|昼|夕|夜|晩|間|旬|春|夏|秋|冬|翌"
    r"|前|後|次|再|当|やすみ|なし|無し|ない|ません"
)
#: Words in a fragment not understood that say some day is closed or moved: the rest of the
#: text alone would read as "open then", so nothing is expanded (「祝日の場合は翌日」).
_CLOSURE_HINT = re.compile(r"休|除|以外|翌|振替|場合|閉|中止|不可|できません|ありません")
_SEASON_KINDS = frozenset({"WINTER", "SEASON", "MONTH", "MONTHSET", "DATERANGE"})
_DAY_SUBJECTS = frozenset({"WD", "WDRANGE", "WEEKDAYS", "WEEKEND"})
_TRANSPARENT = frozenset({"FILLER"})


@dataclass
class _Days:
    """The day items of one group of the text (before they become RRULEs)."""

    weekly: set[int] = field(default_factory=set)
    fortnightly: set[int] = field(default_factory=set)
    nth: set[tuple[int, int]] = field(default_factory=set)  # (n, weekday); n = -1 is last
    monthdays: set[int] = field(default_factory=set)
    bare_nth: list[_Tok] = field(default_factory=list)  # 「第2・第4」 with no weekday
    bare_fortnight: list[_Tok] = field(default_factory=list)  # 「隔週」 with no weekday

    def empty(self) -> bool:
        return not (self.weekly or self.fortnightly or self.nth or self.monthdays)

    def copy(self) -> _Days:
        return _Days(set(self.weekly), set(self.fortnightly), set(self.nth), set(self.monthdays))


@dataclass
class _Group:
    days: _Days = field(default_factory=_Days)
    time: tuple[dt.time | None, dt.time | None] | None = None
    time_after_days: bool = False
    has_day_items: bool = False
    time_tok: _Tok | None = None


class _Reader:
    """One pass over one text's tokens; see :func:`parse_schedule`."""

    def __init__(self, key: str, toks: list[_Tok]) -> None:
        self.key = key
        self.toks = toks
        self.closed_days: set[int] = set()
        self.holiday_closed = False
        self.holiday_open: list[int] = []
        self.year_end_closed = False
        self.paused = False
        self.season_idx: list[int] = []
        self.extra_bad: list[tuple[int, int]] = []
        self.verb_of: dict[int, int] = {}  # subject index → index of the verb that closed/opened it
        # 「水曜は午後休み」「土曜日は午前のみ」「土曜は9:00～12:00」: (closed?, weekdays, time, tokens)
        self.exceptions: list[
            tuple[bool, frozenset[int], tuple[dt.time | None, dt.time | None], list[int]]
        ] = []

    # weekdays with hours of their own --------------------------------------------------------

    def _skip(self, j: int, words: tuple[str, ...]) -> tuple[int, set[str]]:
        seen: set[str] = set()
        while (
            j < len(self.toks)
            and self.toks[j].kind == "FILLER"
            and self.key[self.toks[j].start : self.toks[j].end] in words
        ):
            seen.add(self.key[self.toks[j].start : self.toks[j].end])
            j += 1
        return j, seen

    def apply_exceptions(self) -> None:
        """「水曜は午後休み」「土曜日は午前のみ」「土曜は9:00～12:00」: a weekday whose hours
        differ from the others' (read after the groups, see :meth:`half_days`)."""
        i = 0
        while i < len(self.toks):
            if (
                self.toks[i].kind not in _DAY_SUBJECTS
                or self.toks[i].state
                or self._qualifier_before(i) is not None  # 「第2水曜日は午後のみ」
            ):
                i += 1
                continue
            run = [i]
            j = i + 1
            while (
                j + 1 < len(self.toks)
                and self.toks[j].kind == "SEP:tight"
                and (self.toks[j + 1].kind in _DAY_SUBJECTS)
            ):
                run.append(j + 1)
                j += 2
            k, seen = self._skip(j, ("は", "の"))
            if k >= len(self.toks) or self.toks[k].kind not in ("AMPM", "TIME"):
                i = j
                continue
            at = self.toks[k]
            value = at.value if at.kind == "AMPM" else self._time(at)
            after, tail = self._skip(k + 1, ("は", "のみ", "だけ", "限定", "まで"))
            closed = after < len(self.toks) and self.toks[after].kind == "CLOSED"
            if (
                value is None
                or (closed and at.kind != "AMPM")
                or (not closed and "は" not in seen and not tail & {"のみ", "だけ", "限定"})
            ):
                i = j
                continue
            days = frozenset().union(*(self.toks[r].value for r in run))
            used = list(range(i, (after + 1) if closed else after))
            for u in used:
                self.toks[u].state = "used"
            self.exceptions.append((closed, days, value, used))
            i = after + 1

    # links between tokens ----------------------------------------------------------------

    def _walk(self, i: int, step: int, *, allow_comma: bool) -> Iterator[tuple[int, bool]]:
        """Yield (index, crossed_comma) of subject tokens linked to token ``i``."""
        j = i + step
        crossed = False
        while 0 <= j < len(self.toks):
            tok = self.toks[j]
            if tok.kind == "SEP:tight" or tok.kind in _TRANSPARENT:
                pass
            elif tok.kind == "SEP:comma" and allow_comma:
                crossed = True
            elif tok.kind in _SUBJECTS and tok.state == "":
                yield j, crossed
            else:
                return
            j += step

    # verbs ---------------------------------------------------------------------------------

    def apply_verbs(self) -> None:
        for i, tok in enumerate(self.toks):
            if tok.kind not in ("CLOSED", "OPEN", "PAUSE") or tok.state:
                continue
            if tok.kind == "PAUSE":
                adjacent = i > 0 and self.toks[i - 1].kind in _SUBJECTS
                if not adjacent:
                    self.paused = True
                    tok.state = "used"
                    continue
            state = "open" if tok.kind == "OPEN" else "closed"
            subjects = self._subjects_before(i)
            qualifier = self._qualifier_before(min(subjects, default=i))
            if qualifier is not None:
                # 「第3水曜は休み」「第5週は休み」: closing one nth weekday is not expressible
                for j in [qualifier, *subjects]:
                    self.toks[j].state = "bad"
                tok.state = "bad"
                continue
            if not subjects and tok.kind == "CLOSED" and self._prefix_verb(tok):
                subjects = [j for j, _ in self._walk(self._skip_label(i), 1, allow_comma=True)]
            if (
                not subjects
                and tok.kind == "CLOSED"
                and i > 0
                and self.toks[i - 1].kind == "SEP:space"
            ):
                # 「土・日・祝日・12/29～1/3 休み」: a list with 祝日 or 年末年始 in it is never a
                # list of open days, so a space before the verb does not end it
                run = [j for j, _ in self._walk(i - 1, -1, allow_comma=False)]
                if any(self.toks[j].kind in ("HOLIDAY", "YEAREND") for j in run):
                    subjects = run
            if not subjects:
                tok.state = "bad"
                continue
            tok.state = "used"
            for j in subjects:
                self.toks[j].state = state
                self.verb_of[j] = i

    def _qualifier_before(self, i: int) -> int | None:
        """The NTH / 隔週 / day-of-month token written directly before token ``i``, if any."""
        j = i - 1
        while j >= 0 and (self.toks[j].kind == "SEP:tight" or self.toks[j].kind in _TRANSPARENT):
            j -= 1
        if j >= 0 and self.toks[j].kind in ("NTH", "BIWEEKLY", "MONTHDAY", "MONTHEND"):
            return j
        return None

    def _qualified(self, j: int) -> bool:
        """Whether the weekday run ending at token ``j`` is marked as open days.

        「毎週火曜」, 「第1・第3月曜」, 「隔週火曜」 name days on which something happens; a
        plain 「日曜」 or 「月水金」 before 「、祝日休み」 might be either.
        """
        while j >= 0:
            tok = self.toks[j]
            if tok.kind in ("NTH", "BIWEEKLY", "WEEKLY", "MONTHLY"):
                return True
            if tok.kind == "WD" and self.key[tok.start] == "毎":
                return True
            if not (
                tok.kind in _DAY_SUBJECTS
                or tok.kind in ("SEP:tight", "SEP:space")
                or tok.kind in _TRANSPARENT
            ):
                return False
            j -= 1
        return False

    def _subjects_before(self, i: int) -> list[int]:
        subjects: list[int] = []
        ambiguous: list[int] = []
        closure_segment = False  # 「土日祝日、年末年始を除く」: 祝日 makes the list a closure
        for j, crossed in self._walk(i, -1, allow_comma=True):
            subject = self.toks[j]
            if crossed and subject.kind in ("HOLIDAY", "YEAREND") and not ambiguous:
                closure_segment = True
            if crossed and subject.kind in _DAY_SUBJECTS and closure_segment:
                subjects.append(j)
                continue
            if crossed and subject.kind in _DAY_SUBJECTS and self._qualified(j):
                break  # 「毎週火曜、祝日休み」「第1・第3月曜、祝日休み」: open days, then a closure
            if crossed and subject.kind in _DAY_SUBJECTS:
                ambiguous.append(j)
            elif crossed and subject.kind in _SEASON_KINDS - {"MONTH"}:
                break  # 「4月～11月、8月休み」: the season, then the closed month
            elif crossed and ambiguous:
                break
            else:
                subjects.append(j)
        if ambiguous:
            # 「月水金、祝日休み」: open on those days, or closed? Not guessed.
            for j in ambiguous:
                self.toks[j].state = "bad"
            first = self.toks[min(ambiguous)]
            self.extra_bad.append((first.start, self.toks[i].end))
        return subjects

    def _prefix_verb(self, tok: _Tok) -> bool:
        """定休日・休館日・休業日 (and 休み:) may come before the days they close."""
        word = self.key[tok.start : tok.end]
        follows = self.key[tok.end : tok.end + 1]
        return word.endswith("日") or (word.endswith("休み") and follows == ":")

    def _skip_label(self, i: int) -> int:
        """The index from which to look for subjects after a prefix verb (skip 「: 」)."""
        j = i
        while j + 1 < len(self.toks) and self.toks[j + 1].kind in ("SEP:other", "SEP:space"):
            j += 1
        return j

    # subjects that are not days -------------------------------------------------------------

    def apply_subjects(self) -> None:
        for i, tok in enumerate(self.toks):
            if tok.kind == "HOLIDAY":
                if tok.state == "closed":
                    self.holiday_closed = True
                elif tok.state == "open":
                    self.holiday_open.append(i)
                elif tok.state == "":
                    tok.state = "bad"  # 「土日祝」 as open days: holidays cannot be added
            elif tok.kind == "YEAREND":
                if tok.state == "closed":
                    self.year_end_closed = True
                elif tok.state == "":
                    tok.state = "bad"  # 「年末年始」 alone: open or closed?
            elif tok.kind in _SEASON_KINDS:
                if tok.state in ("", "closed"):
                    self.season_idx.append(i)
            elif tok.kind in _DAY_SUBJECTS and tok.state == "closed":
                self.closed_days |= tok.value
        if self.holiday_closed:
            for i in self.holiday_open:  # 「祝日休み」 and 「祝日も実施」 in one text
                self.toks[i].state = "bad"
                self.toks[self.verb_of[i]].state = "bad"

    def _season_statements(self) -> list[list[int]]:
        """Season tokens written as one list (「5月・7月・9月」「1月、8月は休み」)."""
        statements: list[list[int]] = []
        for j in self.season_idx:
            if statements:
                last = statements[-1][-1]
                between = self.toks[last + 1 : j]
                same = (self.toks[last].state == "closed") == (self.toks[j].state == "closed")
                if same and all(t.kind in ("SEP:tight", "SEP:comma") for t in between):
                    statements[-1].append(j)
                    continue
            statements.append([j])
        return statements

    def _bad(self, indexes: list[int]) -> None:
        for j in indexes:
            self.toks[j].state = "bad"
            if j in self.verb_of:
                self.toks[self.verb_of[j]].state = "bad"

    def season(self) -> frozenset[int] | None:
        """The months the text allows (None: the whole year); unreadable parts become bad.

        Months written as one list are one season (their union); a second, different
        season elsewhere in the text is not understood (「12月～3月 4月～11月」). Closed
        months (「8月休み」「1月・8月は休み」) are taken out of the season.
        """
        explicit: set[int] | None = None
        implied: set[int] = set()
        closed: set[int] = set()
        used: list[int] = []
        for statement in self._season_statements():
            toks = [self.toks[j] for j in statement]
            parts = [_season_token_months(t) for t in toks]
            is_closed = toks[0].state == "closed"
            lone_month = len(toks) == 1 and toks[0].kind == "MONTH" and not toks[0].value[1]
            if any(p is None for p in parts) or (lone_month and not is_closed):
                self._bad(statement)  # 「12月」 alone, 「11月15日～3月31日」, 「13月」
                continue
            months = set().union(*(p for p in parts if p is not None))
            if sum(len(p) for p in parts if p is not None) != len(months):
                self._bad(statement)  # 「4月～11月・8月休み」: which part does 休み close?
                continue
            if is_closed:
                closed |= months
            elif all(t.kind == "WINTER" for t in toks):
                implied |= months
            elif explicit is not None and explicit != months:
                self._bad(statement)
                continue
            else:
                explicit = months
            used += statement
        allowed = (explicit or implied or set(range(1, 13))) - closed
        if not allowed:  # 「8月のみ 8月休み」
            self._bad(used)
            return None
        for tok in self.toks:  # 隔月 says which months only next to 奇数月 / 偶数月
            if tok.kind == "BIMONTHLY" and tok.state == "":
                tok.state = "used" if allowed in (_ODD_MONTHS, _EVEN_MONTHS) else "bad"
        return None if len(allowed) == 12 else frozenset(allowed)

    # days and times ------------------------------------------------------------------------

    def _following_weekdays(self, i: int) -> list[int]:
        """Indexes of the open weekday tokens that an NTH / 隔週 at ``i`` applies to."""
        found: list[int] = []
        j = i + 1
        while j < len(self.toks):
            tok = self.toks[j]
            if tok.kind in _DAY_SUBJECTS and tok.state in ("", "open"):
                found.append(j)
            elif not (
                tok.kind == "SEP:tight"
                or tok.kind in _TRANSPARENT
                or (tok.kind == "SEP:space" and not found)
            ):
                break
            j += 1
        return found

    def groups(self) -> list[_Group]:
        groups: list[_Group] = []
        current: _Group | None = None
        seen_monthly = False

        def day_group() -> _Group:
            nonlocal current
            if current is None or (current.time is not None and current.time_after_days):
                current = _Group()
                groups.append(current)
            current.has_day_items = True
            return current

        for i, tok in enumerate(self.toks):
            if tok.state in ("bad", "used", "closed"):
                continue
            kind = tok.kind
            if kind in ("NTH", "BIWEEKLY"):
                targets = self._following_weekdays(i)
                days = day_group().days
                weekdays: set[int] = set()
                for j in targets:
                    weekdays |= self.toks[j].value
                    self.toks[j].state = "used"
                if kind == "NTH" and targets:
                    days.nth |= {(n, d) for n in tok.value for d in weekdays}
                elif kind == "NTH":
                    days.bare_nth.append(tok)
                elif targets:
                    days.fortnightly |= weekdays
                else:
                    days.bare_fortnight.append(tok)
                tok.state = "used"
            elif kind in _DAY_SUBJECTS:
                day_group().days.weekly |= tok.value
                tok.state = "used"
            elif kind == "DAILY":
                day_group().days.weekly |= _ALL_DAYS
            elif kind == "MONTHEND":
                day_group().days.monthdays.add(-1)
            elif kind == "DIGITDAY":
                day_group().days.monthdays |= set(tok.value)
            elif kind == "COUNT" and tok.value[0] == "月":
                seen_monthly = True  # 「月2回（1日・15日）」
            elif kind == "MONTHLY":
                seen_monthly = True
                if not self._monthly_is_followed(i):
                    tok.state = "bad"  # 「毎月」 with nothing that says which day
            elif kind == "MONTHDAY":
                if not seen_monthly or not all(1 <= d <= 31 for d in tok.value):
                    tok.state = "bad"  # 「15日」: a date, or every month?
                else:
                    day_group().days.monthdays |= set(tok.value)
            elif kind in ("TIME", "AMPM"):
                if kind == "AMPM" and self._time_follows(i):
                    tok.state = "used"  # 「午後のみ 13:00～16:00」: the hours say which
                    continue
                value = tok.value if kind == "AMPM" else self._time(tok)
                if value is None:
                    tok.state = "bad"
                    continue
                if current is None or current.time is not None:
                    current = _Group()
                    groups.append(current)
                current.time = value
                current.time_after_days = current.has_day_items
                current.time_tok = tok
        return groups

    def _time_follows(self, i: int) -> bool:
        for tok in self.toks[i + 1 :]:
            if tok.kind in ("SEP:space", "SEP:paren") or tok.kind in _TRANSPARENT:
                continue
            return tok.kind == "TIME" and tok.state == ""
        return False

    def _monthly_is_followed(self, i: int) -> bool:
        for tok in self.toks[i + 1 :]:
            if tok.kind.startswith("SEP:") or tok.kind in _TRANSPARENT:
                continue
            return tok.kind in ("NTH", "MONTHDAY", "MONTHEND", "DIGITDAY")
        return False

    def _time(self, tok: _Tok) -> tuple[dt.time | None, dt.time | None] | None:
        span = _ABOUT.sub("", self.key[tok.start : tok.end]).strip()
        until = span.endswith("まで")
        span = re.sub(r"\s*まで$", "", span)
        m = _TIME_PARTS.fullmatch(span)
        if m is not None and until and m["a"] and not m["b"] and span == m["a"]:
            try:  # 「12:00まで」: an end, not a start
                return None, _atom(m["a"], span)[0]
            except ValueError:
                return None
        if m is None:
            return None
        try:
            if m["a"] and m["b"]:
                return _range(m["a"], m["b"], span)
            if m["a"]:
                return _atom(m["a"], span)[0], None
            if m["b"]:
                return None, _atom(m["b"], span)[0]
        except ValueError:
            return None
        return None

    def refine(self, groups: list[_Group]) -> list[_Group]:
        """Fold 「第2・第4」「隔週」 and nth-weekday notes into the weekday they qualify."""
        kept: list[_Group] = []
        for group in groups:
            days = group.days
            target = self._refine_target(group, kept)
            for tok in days.bare_nth:
                if target is None:
                    tok.state = "bad"
                    continue
                base = set(target.days.weekly)
                target.days.nth |= {(n, d) for n in tok.value for d in base}
                target.days.weekly -= base
            for tok in days.bare_fortnight:
                if target is None:
                    tok.state = "bad"
                    continue
                target.days.fortnightly |= target.days.weekly
                target.days.weekly.clear()
            days.bare_nth.clear()
            days.bare_fortnight.clear()
            # 「木 第2・第4木曜」 (one group) or 「木 10:00～12:00 第2・第4木曜」 (two)
            qualified = {d for _, d in days.nth} | days.fortnightly
            previous = kept[-1] if kept else None
            if (
                group.time is None
                and previous is not None
                and qualified
                and not days.weekly
                and not days.monthdays
                and qualified <= previous.days.weekly
            ):
                previous.days.nth |= days.nth
                previous.days.fortnightly |= days.fortnightly
                previous.days.weekly -= qualified
                continue
            days.weekly -= qualified
            if group.has_day_items and days.empty() and group.time is None:
                continue  # everything in it went into an earlier group
            kept.append(group)
        return kept

    @staticmethod
    def _refine_target(group: _Group, kept: list[_Group]) -> _Group | None:
        if not (group.days.bare_nth or group.days.bare_fortnight):
            return None
        if group.days.weekly:
            return group
        if group.time is None:
            for previous in reversed(kept):
                if previous.days.weekly:
                    return previous
        return None

    def check_counts(self, rules: list[str], months: int = 12) -> None:
        """「月2回（第1・第3火曜）」「週2回 月・木」「年6回（奇数月 第3土曜）」: a count is
        understood when the days written with it give exactly that many each month / week,
        or each year over the ``months`` the season allows (a monthly count × months);
        alone (「月2回」) or not matching the days (「月2回 毎週火曜」, 「年4回 第1日曜」) it
        is reported."""
        for tok in self.toks:
            if tok.kind == "COUNT" and tok.state == "":
                per, n = tok.value
                if per == "年":
                    monthly = _count_of(rules, "月")
                    found = monthly * months if monthly is not None else None
                else:
                    found = _count_of(rules, per)
                tok.state = "used" if found == n else "bad"

    def accept_labels(self) -> None:
        """A bracket holding only a name or a remark that does not touch the dates
        (「（定例会）」「（体操）」「【資源ごみ】」) is kept in the text but not reported.

        Only unknown text and fillers may be inside, and none of :data:`_LABEL_VETO` (digits,
        weekday and calendar words, 休・中止・除・未定・不定・随時・相談・確認・連絡・場合 …):
        「（日程は電話で確認）」「（再開未定）」「（不定期）」 are still reported.
        """
        opened: int | None = None
        for i, tok in enumerate(self.toks):
            if tok.kind != "SEP:paren":
                continue
            char = self.key[tok.start]
            if char in _BRACKETS:
                opened = i
                continue
            if opened is not None and _BRACKETS[self.key[self.toks[opened].start]] == char:
                inner = self.toks[opened + 1 : i]
                text = self.key[self.toks[opened].end : tok.start]
                if (
                    any(t.kind == "UNKNOWN" for t in inner)
                    and all(t.kind in _LABEL_KINDS and t.state != "bad" for t in inner)
                    and not _LABEL_VETO.search(text)
                ):
                    for t in inner:
                        if t.kind == "UNKNOWN":
                            t.state = "label"
            opened = None

    def dates(
        self, groups: list[_Group], anchor_from: dt.date | None
    ) -> tuple[list[dt.date], dt.date | None]:
        """Dates written in the text: a list of one-off dates (「6月3日(火)・7月1日(火)の14時～」,
        when the text names no other days), or the anchor of 隔週 (「隔週火曜（11月10日から）」).

        Returns the one-off dates and the 隔週 anchor. 隔週 with no date is anchored on its
        first occurrence on or after ``anchor_from``; with neither it is reported.
        """
        toks = [t for t in self.toks if t.kind == "DATE" and t.state == ""]
        fortnight: set[int] = set()
        other_days = False
        for g in groups:
            fortnight |= g.days.fortnightly
            other_days |= bool(g.days.weekly or g.days.nth or g.days.monthdays)
        resolved = [_resolve_date(t.value, anchor_from) for t in toks]
        anchor: dt.date | None = None
        one_off: list[dt.date] = []
        if fortnight:
            fitting = [d for d in resolved if d is not None and d.weekday() in fortnight]
            if len(toks) == 1 and fitting:
                anchor = fitting[0]
                toks[0].state = "used"
            elif anchor_from is not None and not toks:
                anchor = _first_on_or_after(anchor_from, sorted(fortnight))
            if anchor is None:
                for t in self.toks:
                    if t.kind == "BIWEEKLY":
                        t.state = "bad"  # 隔週 with no anchor: which weeks is not guessed
        elif toks and not other_days and all(d is not None for d in resolved):
            one_off = sorted({d for d in resolved if d is not None})
            for t in toks:
                t.state = "used"
        for t in toks:
            if t.state == "":
                t.state = "bad"
        return one_off, anchor

    def half_days(self, groups: list[_Group]) -> list[_Group]:
        """Give the weekdays of :attr:`exceptions` their own hours.

        「水曜は午後休み」 / 「水曜は午前のみ」 end those days at 12:00 (午前 = 9:00–12:00 when
        no hours are written); 「午前休み」 / 「午後のみ」 start them at 13:00; 「土曜は
        9:00～12:00」 replaces their hours. A weekday that is only a 第N or 隔週 day is not
        split (reported).
        """
        for closed, days, value, used in self.exceptions:
            if any(days & ({d for _, d in g.days.nth} | g.days.fortnightly) for g in groups):
                self._bad(used)
                continue
            bases = [g for g in groups if g.days.weekly & days]
            if not bases and closed:
                self._bad(used)  # 「水曜日の午後は休診」 alone: open when, then?
                continue
            if not bases:
                timed = [g for g in groups if g.time is not None]
                bases = (
                    [_Group(days=_Days(weekly=set(days)), time=timed[0].time)]
                    if len(timed) == 1
                    else [_Group(days=_Days(weekly=set(days)))]
                )
            for base in bases:
                start, end = base.time or (None, None)
                if value in (MORNING, AFTERNOON):
                    morning = (value == AFTERNOON) == closed  # the open half
                    if start is None and end is None:
                        start, end = MORNING if morning else AFTERNOON
                    elif morning:
                        end = min(end or MORNING[1], MORNING[1])
                    else:
                        start = max(start or AFTERNOON[0], AFTERNOON[0])
                else:  # 「水曜日は12:00まで」「水曜日は13時から」: the rest from the day's hours
                    start, end = value[0] or start, value[1] or end
                mine = set(base.days.weekly & days) or set(days)
                base.days.weekly -= mine
                if start is not None and end is not None and end <= start:
                    continue  # the open hours are all in the closed half: closed that day
                groups.append(
                    _Group(days=_Days(weekly=mine), time=(start, end), has_day_items=True)
                )
        return [g for g in groups if not g.days.empty() or not g.has_day_items]

    def close_days(self, groups: list[_Group], had_open_days: bool) -> list[_Group]:
        closed = self.closed_days
        for group in groups:
            group.days.weekly -= closed
            group.days.fortnightly -= closed
            group.days.nth = {(n, d) for n, d in group.days.nth if d not in closed}
        snowfall = any(  # 降雪時・積雪時: whenever it snows
            t.kind == "WINTER" and t.state == "" and "雪時" in self.key[t.start : t.end]
            for t in self.toks
        )
        if (closed or snowfall) and not had_open_days:
            if not groups:
                groups.append(_Group())
            groups[0].days.weekly = set(_ALL_DAYS - closed)
            groups[0].has_day_items = True
        # a time with no days of its own (「月水 10:00～12:00、13:00～15:00」) shares the
        # days of the nearest group before it, else after it
        for i, group in enumerate(groups):
            if group.days.empty() and not group.has_day_items:
                donors = [g for g in reversed(groups[:i]) if not g.days.empty()]
                donors += [g for g in groups[i + 1 :] if not g.days.empty()]
                if donors:
                    group.days = donors[0].days.copy()
        return groups


def _count_of(rules: list[str], per: str) -> int | None:
    """How many days a week (per 週) or a month (per 月) the rules give, when every week or
    every month has the same number; None otherwise (隔週, 第5, 31日, a weekly rule in 月N回)."""
    items: set[tuple[str, int]] = set()
    for rule in rules:
        parts = dict(p.split("=", 1) for p in rule.split(";"))
        freq = parts.pop("FREQ")
        if per == "週" and freq == "DAILY" and not parts:
            items |= {("WD", d) for d in range(7)}
        elif per == "週" and freq == "WEEKLY" and set(parts) == {"BYDAY"}:
            items |= {("WD", WEEKDAY_CODES.index(c)) for c in parts["BYDAY"].split(",")}
        elif per == "月" and freq == "MONTHLY" and set(parts) == {"BYDAY"}:
            for item in parts["BYDAY"].split(","):
                n = int(item[:-2])
                if not (1 <= n <= 4 or n == -1):
                    return None
                items.add((item[-2:], n))
        elif per == "月" and freq == "MONTHLY" and set(parts) == {"BYMONTHDAY"}:
            for day in map(int, parts["BYMONTHDAY"].split(",")):
                if not (1 <= day <= 28 or day == -1):
                    return None
                items.add(("DAY", day))
        else:
            return None
    return len(items) or None


def _valid_months(window: tuple[int, int]) -> bool:
    return all(1 <= m <= 12 for m in window)


def _season_token_months(tok: _Tok) -> set[int] | None:
    """The months one season token stands for, or None when it names no valid months."""
    if tok.kind == "WINTER":
        return set(_window_months(*WINTER))
    if tok.kind in ("SEASON", "DATERANGE"):
        if tok.value is None or not _valid_months(tok.value):
            return None
        return set(_window_months(*tok.value))
    if tok.kind == "MONTHSET":
        return set(tok.value)
    month = tok.value[0]
    return {month} if 1 <= month <= 12 else None


def _window_months(first: int, last: int) -> tuple[int, ...]:
    return tuple((first - 1 + k) % 12 + 1 for k in range((last - first) % 12 + 1))


def _windows(months: frozenset[int] | None) -> list[tuple[int, int]]:
    """The months as windows in calendar order of their first month: {12, 1, 2, 3, 8} →
    [(8, 8), (12, 3)]; [] for the whole year (None)."""
    if months is None or len(months) == 12:
        return []
    out: list[tuple[int, int]] = []
    for first in sorted(m for m in months if (m - 2) % 12 + 1 not in months):
        last = first
        while last % 12 + 1 in months:
            last = last % 12 + 1
        out.append((first, last))
    return out


def _rrules(days: _Days) -> list[str]:
    rules: list[str] = []
    if days.weekly == _ALL_DAYS:
        rules.append("FREQ=DAILY")
    elif days.weekly:
        rules.append(f"FREQ=WEEKLY;BYDAY={_byday(days.weekly)}")
    if days.fortnightly:
        rules.append(f"FREQ=WEEKLY;INTERVAL=2;BYDAY={_byday(days.fortnightly)}")
    if days.nth:
        ordered = sorted(days.nth, key=lambda nd: (nd[1], nd[0] if nd[0] > 0 else 9))
        rules.append("FREQ=MONTHLY;BYDAY=" + ",".join(f"{n}{WEEKDAY_CODES[d]}" for n, d in ordered))
    if days.monthdays:
        ordered_days = sorted(days.monthdays, key=lambda d: d if d > 0 else 99)
        rules.append("FREQ=MONTHLY;BYMONTHDAY=" + ",".join(map(str, ordered_days)))
    return rules


def _byday(weekdays: set[int]) -> str:
    return ",".join(WEEKDAY_CODES[d] for d in sorted(weekdays))


def _is_bad(tok: _Tok) -> bool:
    return tok.state == "bad" or (tok.kind == "UNKNOWN" and tok.state != "label")


def _fragments(
    text: str,
    key: str,
    spans: list[tuple[int, int]],
    toks: list[_Tok],
    extra: list[tuple[int, int]],
) -> tuple[str, ...]:
    """The not-understood parts, in the original spelling.

    Bad tokens (unknown text, words that could not be placed) joined by nothing, fillers,
    ・ or と form one fragment (「月に1回程度」, 「祝日の場合は翌日」, 「5月・7月」).
    """
    joining = _TRANSPARENT | {"SEP:tight"}
    runs: list[tuple[int, int]] = []
    current: list[_Tok] = []

    def flush() -> None:
        bad = [t for t in current if _is_bad(t)]
        if bad:
            runs.append((current[0].start, current[-1].end))
        current.clear()

    for tok in toks:
        if _is_bad(tok) or tok.kind in joining:
            if current and current[-1].end != tok.start:
                flush()
            current.append(tok)
        else:
            flush()
    flush()
    # trim fillers hanging at either end of a run that has unknown text in the middle
    trimmed: list[tuple[int, int]] = []
    for a, b in runs:
        inner = [t for t in toks if a <= t.start and t.end <= b]
        while inner and inner[0].kind in joining and inner[0].state != "bad":
            inner.pop(0)
        while inner and inner[-1].kind in joining and inner[-1].state != "bad":
            inner.pop()
        trimmed.append((inner[0].start, inner[-1].end))
    # ambiguous closure lists cover several tokens; they replace the runs inside them
    merged: list[tuple[int, int]] = []
    for a, b in sorted(trimmed + extra):
        if merged and a < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    out: list[str] = []
    for a, b in merged:
        fragment = text[spans[a][0] : spans[b - 1][1]].strip()
        if fragment and fragment not in out:
            out.append(fragment)
    return tuple(out)


def _default_end(start: dt.time) -> dt.time:
    """「13:30～」: an event written with a start only lasts :data:`DEFAULT_LENGTH` (until
    23:59 at the latest), so calendars and exports never get a zero-length event."""
    end = dt.datetime.combine(dt.date(2000, 1, 1), start) + DEFAULT_LENGTH
    return end.time() if end.date().day == 1 else dt.time(23, 59)


def _resolve_date(
    value: tuple[int | None, int, int, int | None], reference: dt.date | None
) -> dt.date | None:
    """The date of a DATE token: its year, else the year its weekday gives (the one nearest
    ``reference``, today when None), else the nearest to ``reference``; None when unknown."""
    year, month, day, weekday = value

    def make(y: int) -> dt.date | None:
        try:
            return dt.date(y, month, day)
        except ValueError:
            return None

    if year is not None:
        found = make(year)
        ok = found is not None and (weekday is None or found.weekday() == weekday)
        return found if ok else None
    if weekday is None and reference is None:
        return None
    ref = reference or dt.date.today()
    span = (
        range(ref.year - 6, ref.year + 7)
        if weekday is not None
        else range(ref.year - 1, ref.year + 2)
    )
    options = [d for y in span if (d := make(y)) and (weekday is None or d.weekday() == weekday)]
    return min(options, key=lambda d: (abs((d - ref).days), d)) if options else None


def parse_schedule(text: str | None, anchor_from: dt.date | None = None) -> ScheduleParse:
    """Read one schedule written in ordinary Japanese.

    ``anchor_from`` is the day the text is imported: 隔週 with no date in the text is
    anchored on its first occurrence on or after it, and a date written without a year
    (「6月3日」) is the one nearest it. Without it such a 隔週 is reported, not guessed.
    Cached: the importer calls this for up to 150,000 rows whose schedule texts repeat
    heavily, and the result (frozen dataclasses) is safe to share. Never raises on odd
    input: whatever is not understood is reported in ``not_understood``.
    """
    return _parse_schedule(text or "", anchor_from)


@lru_cache(maxsize=65_536)
def _parse_schedule(source: str, anchor_from: dt.date | None) -> ScheduleParse:
    key, spans = _keyed(source)
    if not key:
        return ScheduleParse(source, (), paused=False, understood=True)
    toks = _tokenize(key)
    reader = _Reader(key, toks)
    reader.apply_exceptions()
    reader.apply_verbs()
    reader.apply_subjects()
    # 「土日祝日も営業」: 「も」 says "as well as the other days", which the text does not
    # name; with no other open days written it is not read as "only on those days"
    also = [i for i, t in enumerate(toks) if t.kind in _DAY_SUBJECTS and t.state == "open"]
    named = _DAY_SUBJECTS | {"DAILY", "NTH", "BIWEEKLY", "MONTHDAY", "MONTHEND", "DIGITDAY"}
    if also and not any(t.kind in named and t.state == "" for t in toks):
        reader._bad(also)
    season = reader.season()
    groups = reader.groups()
    had_open_days = any(
        not g.days.empty() or g.days.bare_nth or g.days.bare_fortnight for g in groups
    )
    groups = reader.refine(groups)
    allday = [t for t in toks if t.kind == "ALLDAY"]
    if allday and not had_open_days:  # 「24時間」 alone: every day, all day
        groups.append(_Group(days=_Days(weekly=set(_ALL_DAYS)), has_day_items=True))
        had_open_days = True
    groups = reader.close_days(groups, had_open_days)
    groups = reader.half_days(groups)
    # 「月～日 7:00～21:00 年中無休」: days with no time that a timed group already has add
    # nothing (one occurrence a day, not two)
    timed_days = set().union(*(g.days.weekly for g in groups if g.time is not None))
    groups = [
        g
        for g in groups
        if g.time is not None
        or not g.days.weekly
        or g.days.fortnightly
        or g.days.nth
        or g.days.monthdays
        or not g.days.weekly <= timed_days
    ]
    dates, fortnight_anchor = reader.dates(groups, anchor_from)
    if dates and not groups:  # 「7月20日(月)」: a date with no time
        groups.append(_Group())

    holiday_closed = reader.holiday_closed
    holiday_rule = HOLIDAY_CLOSED if holiday_closed else HOLIDAY_OPEN
    year_end_closed = reader.year_end_closed
    # months that are not one window (「奇数月」「1月・8月休み」) give one row per window
    windows: list[tuple[int | None, int | None]] = list(_windows(season)) or [(None, None)]
    schedules: list[ParsedSchedule] = []
    rules: list[str] = []
    for group in groups:
        start, end = group.time or (None, None)
        if start is not None and end is None:
            end = _default_end(start)
        day_rules: list[str | None] = [*_rrules(group.days)] or [None]  # None: times only
        if day_rules == [None] and dates:
            day_rules = [ONE_DAY] * len(dates)
        for n, rule in enumerate(day_rules):
            if rule is None and start is None and end is None:
                continue
            if rule is None and group.time_tok is not None:
                group.time_tok.state = "bad"  # 「9時～17時」 alone: hours with no days
            if rule is not None and "INTERVAL=2" in rule and fortnight_anchor is None:
                continue  # 隔週 with no anchor: reported, not guessed
            if rule is not None and rule not in rules:
                rules.append(rule)
            anchor = None
            if rule == ONE_DAY:
                anchor = dates[n]
            elif rule is not None and "INTERVAL=2" in rule:
                anchor = fortnight_anchor
            for first, last in windows:
                schedule = ParsedSchedule(
                    rule,
                    start,
                    end,
                    first,
                    last,
                    holiday_rule=holiday_rule,
                    year_end_closed=year_end_closed,
                    anchor_date=anchor,
                )
                if schedule not in schedules:
                    schedules.append(schedule)
    if not schedules and (season or holiday_closed or reader.year_end_closed):
        schedules += [
            ParsedSchedule(
                None, None, None, a, b, holiday_rule=holiday_rule, year_end_closed=year_end_closed
            )
            for a, b in windows
        ]
    reader.check_counts(rules, len(season) if season else 12)
    if schedules or reader.paused:
        reader.accept_labels()

    bad = _fragments(source, key, spans, toks, reader.extra_bad)
    if any(t.kind == "CLOSED" and t.state == "bad" for t in toks) or any(
        _CLOSURE_HINT.search(fragment) for fragment in bad
    ):
        # a closure that could not be placed: what remains would read as "open then"
        schedules = []
    return ScheduleParse(
        source_text=source,
        schedules=tuple(schedules),
        paused=reader.paused,
        understood=not bad,
        not_understood=bad,
    )


# --- expansion -------------------------------------------------------------------------


def _first_on_or_after(start: dt.date, weekdays: Sequence[int]) -> dt.date:
    return min(start + dt.timedelta(days=(w - start.weekday()) % 7) for w in weekdays)


def _fortnight_start(anchor: dt.date, start: dt.date, interval: int) -> dt.date:
    """The first day on or after ``start`` from which an ``interval``-weekly rule counted
    from ``anchor``'s week (weeks start on Monday, RFC 5545's WKST=MO) is in step."""
    monday = start - dt.timedelta(days=start.weekday())
    weeks = (monday - (anchor - dt.timedelta(days=anchor.weekday()))).days // 7
    if weeks % interval == 0:
        return start
    return monday + dt.timedelta(weeks=interval - weeks % interval)


def to_rrule_set(s: ParsedSchedule, start: dt.date, end: dt.date) -> rruleset:
    """The occurrences of ``s`` from ``start`` to ``end`` (both included) as an rruleset.

    DTSTART is ``start`` at the schedule's start time (midnight without one). 隔週
    (``INTERVAL=2`` weekly) counts its weeks from the week of ``s.anchor_date`` (WKST=MO), so
    every range gives the same dates. A one-off date (:data:`ONE_DAY`) is its anchor. A row
    stored before anchors existed (anchor None) is still counted from the first matching
    weekday on or after ``start``, as before; such text is reported as not understood when
    parsed again. The season becomes BYMONTH; 祝日休み adds every jpholiday holiday
    (including 振替休日 and 国民の休日) as an EXDATE, 年末年始休み 12/29–1/3.
    """
    rs = rruleset()
    if s.rrule is None or end < start:
        return rs
    at = s.start_time or dt.time(0)
    if s.rrule == ONE_DAY:
        if s.anchor_date is not None and start <= s.anchor_date <= end:
            once = s.anchor_date
            shut = (s.holiday_rule == HOLIDAY_CLOSED and jpholiday.is_holiday(once)) or (
                s.year_end_closed and (once.month, once.day) in YEAR_END_DAYS
            )
            in_season = s.season_months()
            if not shut and (not in_season or once.month in in_season):
                rs.rdate(dt.datetime.combine(once, at))
        return rs
    rule = rrulestr(s.rrule, dtstart=dt.datetime.combine(start, at))
    if not isinstance(rule, rrule):  # pragma: no cover - one RRULE body gives one rrule
        raise TypeError(f"not a single RRULE: {s.rrule!r}")
    changes: dict[str, Any] = {"until": dt.datetime.combine(end, at)}
    parts = dict(p.split("=", 1) for p in s.rrule.split(";"))
    interval = int(parts.get("INTERVAL", "1"))
    if parts.get("FREQ") == "WEEKLY" and interval > 1:
        weekdays = [WEEKDAY_CODES.index(c) for c in parts.get("BYDAY", "").split(",") if c]
        if s.anchor_date is not None:
            first = _fortnight_start(s.anchor_date, start, interval)
            changes["dtstart"] = dt.datetime.combine(first, at)
            changes["wkst"] = 0
        elif weekdays:
            changes["dtstart"] = dt.datetime.combine(_first_on_or_after(start, weekdays), at)
    months = s.season_months()
    if months:
        changes["bymonth"] = months
    rs.rrule(rule.replace(**changes))
    if s.holiday_rule == HOLIDAY_CLOSED:
        for holiday, _name in jpholiday.between(start, end):
            rs.exdate(dt.datetime.combine(holiday, at))
    if s.year_end_closed:
        for year in range(start.year - 1, end.year + 1):
            for month, day in YEAR_END_DAYS:
                closed = dt.date(year if month == 12 else year + 1, month, day)
                if start <= closed <= end:
                    rs.exdate(dt.datetime.combine(closed, at))
    return rs


def expand(
    parse: ScheduleParse | ParsedSchedule | Sequence[ParsedSchedule],
    start: dt.date,
    end: dt.date,
) -> list[Occurrence]:
    """Every occurrence from ``start`` to ``end`` (both included), sorted and without repeats.

    A date-only ``start`` (and ``end`` None) when the schedule has no start time. Schedules
    without an RRULE have no occurrences. A paused parse is expanded like any other (the
    resource's status decides whether it is offered). Deterministic for a given range;
    see :func:`to_rrule_set` for how 隔週 is anchored.
    """
    if isinstance(parse, ScheduleParse):
        schedules: Sequence[ParsedSchedule] = parse.schedules
    elif isinstance(parse, ParsedSchedule):
        schedules = (parse,)
    else:
        schedules = parse
    found: set[Occurrence] = set()
    for s in schedules:
        for when in to_rrule_set(s, start, end):
            day = when.date()
            finish = dt.datetime.combine(day, s.end_time) if s.end_time else None
            found.add(Occurrence(when if s.start_time else day, finish))
    return sorted(found, key=Occurrence.sort_key)


# --- words -----------------------------------------------------------------------------


def _time_words(s: ParsedSchedule, lang: str) -> str:
    dash = translate(N_("–"), lang)  # the range dash: ～ in Japanese
    start = f"{s.start_time.hour}:{s.start_time.minute:02d}" if s.start_time else ""
    end = f"{s.end_time.hour}:{s.end_time.minute:02d}" if s.end_time else ""
    if not start and not end:
        return ""
    return f"{start}{dash}{end}"


# Words that differ by more than a translation (ordinals, the names of days and months)
# are the languages' own forms, as CLDR data would be; every phrase is in the catalogue.
_NTH = N_("{n}th")
_NTH_DAY = N_("{n}th (day of the month)")
_ORDINAL_MSGIDS = {1: N_("{n}st"), 2: N_("{n}nd"), 3: N_("{n}rd")}
_MONTH_DAY_MSGIDS = {
    1: N_("{n}st (day of the month)"),
    2: N_("{n}nd (day of the month)"),
    3: N_("{n}rd (day of the month)"),
}


def _ordinal(n: int, lang: str) -> str:
    """「第2」「最終」 / 2nd, last (of a weekday in the month)."""
    if n == -1:
        return translate(N_("last"), lang)
    return translate(_ORDINAL_MSGIDS.get(n if n < 20 else n % 10, _NTH), lang, n=n)


def _month_day(n: int, lang: str) -> str:
    """「15日」「末日」 / 15th, last day."""
    if n == -1:
        return translate(N_("last day"), lang)
    return translate(_MONTH_DAY_MSGIDS.get(n if n < 20 else n % 10, _NTH_DAY), lang, n=n)


def _weekday(d: int, lang: str) -> str:
    return translate(WEEKDAY_EN[d], lang)


def _month(m: int, lang: str) -> str:
    return translate(MONTH_EN[m - 1], lang)


def _join(items: list[str], lang: str) -> str:
    """a, b, c (Japanese: a・b・c)."""
    text = items[0] if items else ""
    for item in items[1:]:
        text = translate(N_("{a}, {b}"), lang, a=text, b=item)
    return text


def _and(items: list[str], lang: str) -> str:
    """a, b and c (Japanese: a・b・c)."""
    if len(items) <= 1:
        return "".join(items)
    return translate(N_("{a} and {b}"), lang, a=_join(items[:-1], lang), b=items[-1])


def _day_words(rule: str, lang: str) -> str:
    parts = dict(p.split("=", 1) for p in rule.split(";"))
    freq = parts.get("FREQ")
    if freq == "DAILY":
        return translate(N_("Daily"), lang)
    if freq == "WEEKLY":
        days = [WEEKDAY_CODES.index(c) for c in parts.get("BYDAY", "").split(",") if c]
        every_other = parts.get("INTERVAL") == "2"
        if set(days) == _WEEKDAYS and not every_other:
            return translate(N_("Weekdays"), lang)
        names = _join([_weekday(d, lang) for d in days], lang)
        if every_other:
            return translate(N_("Every other week {days}"), lang, days=names)
        return translate(N_("Weekly {days}"), lang, days=names)
    if freq == "MONTHLY" and "BYDAY" in parts:
        by_day: dict[int, list[int]] = {}
        for item in parts["BYDAY"].split(","):
            n, code = int(item[:-2]), item[-2:]
            by_day.setdefault(WEEKDAY_CODES.index(code), []).append(n)
        words = [
            translate(
                N_("{ordinals} {weekday}"),
                lang,
                ordinals=_and([_ordinal(n, lang) for n in ns], lang),
                weekday=_weekday(d, lang),
            )
            for d, ns in by_day.items()
        ]
        text = words[0]
        for word in words[1:]:
            text = translate(N_("{a}; {b}"), lang, a=text, b=word)
        return translate(N_("Monthly {days}"), lang, days=text)
    if freq == "MONTHLY" and "BYMONTHDAY" in parts:
        monthdays = [int(d) for d in parts["BYMONTHDAY"].split(",")]
        return translate(
            N_("Monthly on the {days}"),
            lang,
            days=_and([_month_day(d, lang) for d in monthdays], lang),
        )
    return rule


def _month_words(months: frozenset[int], lang: str) -> str:
    """「12月～3月」「8月のみ」「奇数月」「5月・7月・9月・11月」「1月・8月休み」 (and English)."""

    def window(a: int, b: int) -> str:
        if a == b:
            return _month(a, lang)
        return translate(N_("{start}–{end}"), lang, start=_month(a, lang), end=_month(b, lang))

    if months == _ODD_MONTHS:
        return translate(N_("odd months"), lang)
    if months == _EVEN_MONTHS:
        return translate(N_("even months"), lang)
    if len(months) >= 10:  # 「8月休み」 rather than 「9月～7月」
        closed = [window(a, b) for a, b in _windows(frozenset(set(range(1, 13)) - months))]
        return translate(N_("closed in {months}"), lang, months=_and(closed, lang))
    windows = _windows(months)
    if len(windows) == 1 and windows[0][0] == windows[0][1]:
        return translate(N_("{month} only"), lang, month=_month(windows[0][0], lang))
    return _and([window(a, b) for a, b in windows], lang)


def _modifier_words(s: ParsedSchedule, lang: str, months: frozenset[int] | None) -> list[str]:
    words: list[str] = []
    if months:
        words.append(_month_words(months, lang))
    if s.holiday_rule == HOLIDAY_CLOSED:
        words.append(translate(N_("closed on public holidays"), lang))
    if s.year_end_closed:
        words.append(translate(N_("closed 29 Dec–3 Jan"), lang))
    return words


def _merge_seasons(
    schedules: Sequence[ParsedSchedule],
) -> list[tuple[ParsedSchedule, frozenset[int] | None]]:
    """Rows that differ only in their season window (「奇数月」 gives six) as one pattern
    with the union of their months (None: the whole year)."""
    merged: dict[ParsedSchedule, frozenset[int] | None] = {}
    for s in schedules:
        base = replace(s, season_start_month=None, season_end_month=None)
        season = s.season_months()
        months = None if season is None else frozenset(season)
        if base in merged:
            before = merged[base]
            months = None if before is None or months is None else before | months
        merged[base] = None if months is None or len(months) == 12 else months
    return list(merged.items())


def _wrap(words: list[str], lang: str) -> str:
    if not words:
        return ""
    text = words[0]
    for word in words[1:]:
        text = translate(N_(", "), lang).join((text, word))
    return translate(N_(" ({words})"), lang, words=text)


def describe(parse: ScheduleParse, lang: str = "ja") -> str:
    """The schedule in words for resource pages and printed maps (large text, plain words).

    「毎月 第2・第4木曜 10:00～12:00（12月～3月、祝日休み）」, 「毎週 月・水・金 9:00～11:00」,
    「休止中」; what was not understood is shown, never hidden:
    「（解釈できない記述: 不定期）」. ``lang="en"`` gives English (the catalogue's words).
    """
    bodies: list[str] = []
    patterns = _merge_seasons(parse.schedules)
    modifiers = [tuple(_modifier_words(s, lang, months)) for s, months in patterns]
    shared = len(set(modifiers)) == 1
    for (s, _months), mods in zip(patterns, modifiers, strict=True):
        if s.rrule == ONE_DAY and s.anchor_date is not None:
            days = translate(
                N_("{month} {day}, {year}"),
                lang,
                month=_month(s.anchor_date.month, lang),
                day=s.anchor_date.day,
                year=s.anchor_date.year,
            )
        else:
            days = _day_words(s.rrule, lang) if s.rrule else ""
        body = " ".join(p for p in (days, _time_words(s, lang)) if p)
        if not shared:
            body += _wrap(list(mods), lang)
        if body:
            bodies.append(body)
    text = " / ".join(dict.fromkeys(bodies))
    if shared and modifiers and modifiers[0]:
        mods_text = _wrap(list(modifiers[0]), lang)
        text = text + mods_text if text else mods_text.strip().strip("（）()")
    if parse.paused:
        text = (
            translate(N_("Paused: {schedule}"), lang, schedule=text)
            if text
            else translate(N_("Paused"), lang)
        )
    if not parse.understood:
        fragments = translate(N_(", "), lang).join(parse.not_understood)
        note = translate(N_("(not understood: {fragments})"), lang, fragments=fragments)
        text = translate(N_("{schedule} {note}"), lang, schedule=text, note=note) if text else note
    return text

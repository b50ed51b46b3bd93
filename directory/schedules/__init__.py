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

The package, in reading order: :mod:`~directory.schedules.values` (what a parse gives),
:mod:`~directory.schedules.times` (times of day), :mod:`~directory.schedules.tokens` (the
text cut into tokens), :mod:`~directory.schedules.reader` (the semantic passes),
:mod:`~directory.schedules.rules` (days → RRULEs), :mod:`~directory.schedules.parser`
(:func:`parse_schedule`), :mod:`~directory.schedules.expansion` (occurrences) and
:mod:`~directory.schedules.words` (:func:`describe`).
"""

from directory.schedules.expansion import expand, first_on_or_after, fortnight_start, to_rrule_set
from directory.schedules.parser import parse_schedule
from directory.schedules.times import parse_time, parse_time_range
from directory.schedules.values import (
    AFTERNOON,
    DEFAULT_LENGTH,
    HOLIDAY_CLOSED,
    HOLIDAY_OPEN,
    MORNING,
    ONE_DAY,
    WINTER,
    YEAR_END_DAYS,
    Occurrence,
    ParsedSchedule,
    ScheduleParse,
)
from directory.schedules.words import describe

__all__ = [
    "AFTERNOON",
    "DEFAULT_LENGTH",
    "HOLIDAY_CLOSED",
    "HOLIDAY_OPEN",
    "MORNING",
    "ONE_DAY",
    "WINTER",
    "YEAR_END_DAYS",
    "Occurrence",
    "ParsedSchedule",
    "ScheduleParse",
    "describe",
    "expand",
    "first_on_or_after",
    "fortnight_start",
    "parse_schedule",
    "parse_time",
    "parse_time_range",
    "to_rrule_set",
]

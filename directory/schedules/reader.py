"""The semantic passes over one text's tokens (:class:`_Reader`): closure and open
verbs and the days they cover, holidays and 年末年始, the season, groups of days and times,
第N and 隔週 folded into their weekday, closed days, half days, dates and the 隔週 anchor,
counts, and brackets that are only a label. :func:`~directory.schedules.parse_schedule`
runs them in order.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

from directory.fiscal import today_in_japan
from directory.schedules.expansion import first_on_or_after
from directory.schedules.rules import _count_of, _Days, _Group
from directory.schedules.times import _ABOUT, _TIME_PARTS, _atom, _range
from directory.schedules.tokens import _Tok
from directory.schedules.values import (
    _ALL_DAYS,
    _EVEN_MONTHS,
    _ODD_MONTHS,
    AFTERNOON,
    MORNING,
    WINTER,
    _window_months,
)

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
                anchor = first_on_or_after(anchor_from, sorted(fortnight))
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
    ref = reference or today_in_japan()
    span = (
        range(ref.year - 6, ref.year + 7)
        if weekday is not None
        else range(ref.year - 1, ref.year + 2)
    )
    options = [d for y in span if (d := make(y)) and (weekday is None or d.weekday() == weekday)]
    return min(options, key=lambda d: (abs((d - ref).days), d)) if options else None

"""Times of day as people write them (10:00, 10時半, 午後1時, 正午) and ranges of
them: the cells 開始時間 / 終了時間 and the time tokens of a schedule text.
"""

from __future__ import annotations

import datetime as dt
import re

from directory.text import normalize

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

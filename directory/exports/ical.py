"""iCalendar (RFC 5545): one VEVENT per expressible schedule row, for one resource, one
district (any level) or the whole directory (streamed).
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from collections.abc import Iterable, Iterator
from functools import lru_cache
from typing import Any

from shapely.geometry import Point
from sqlalchemy import select
from sqlalchemy.orm import Session

from directory import schedules as sched
from directory.exports.common import (
    TIMEZONE,
    ExportNotFoundError,
    _address,
    _Areas,
    _point,
    _season,
    _source_text,
    _uri,
    default_window,
    stable_id,
)
from directory.exports.occurrences import _expressible
from directory.exports.published import BATCH_SIZE, Progress, iter_published, published_resources
from directory.models import District, Resource, Venue

PRODID = "-//Tsunagu//Tsunagu resource directory//JA"


def _rrule(ps: sched.ParsedSchedule, first: dt.datetime, end: dt.date) -> Any:
    from icalendar import vRecur

    assert ps.rrule is not None
    recur = vRecur.from_ical(ps.rrule)
    months = _season(ps)
    if months:
        recur["BYMONTH"] = sorted(months)
    if int(recur.get("INTERVAL", [1])[0]) > 1:
        recur["WKST"] = ["MO"]  # RFC 5545's default, written out because 隔週 counts weeks
    if ps.start_time is not None:
        until = dt.datetime.combine(end, ps.start_time, TIMEZONE).astimezone(dt.UTC)
        recur["UNTIL"] = [until]
    else:
        recur["UNTIL"] = [end]
    return recur


def _place(r: Resource) -> str:
    venue = r.venue.name if r.venue is not None else None
    parts = [p for p in (venue, r.building, _address(r)) if p]
    return " ".join(dict.fromkeys(parts))


def _stamp(r: Resource) -> dt.datetime:
    return (r.updated_at or dt.datetime(1970, 1, 1)).replace(tzinfo=dt.UTC)


def _escape(text: str) -> str:
    r"""RFC 5545 TEXT escaping, in icalendar's order (``\N`` first, then ``\``, ``;``,
    ``,`` and line breaks)."""
    if not _NEEDS_ESCAPE.search(text):
        return text
    return (
        text.replace("\\N", "\n")
        .replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


_NEEDS_ESCAPE = re.compile(r"[\\;,\r\n]")


def _line(name: str, value: str) -> str:
    """One content line, folded as icalendar folds it: a physical line holds at most 74
    octets (continuations start with a space), never splitting a character or separating
    an escaping backslash from what it escapes."""
    line = f"{name}:{value}"
    if len(line) < 19 or len(line.encode()) < 75:  # (4 octets a character at most)
        return line + "\r\n"
    parts: list[str] = []
    current: list[str] = []
    size = 0
    for char in line:
        width = len(char.encode())
        if current and size + width >= 75:
            if len(current) > 1 and current[-1] in "\\^":
                carried = current.pop()
                parts.append("".join(current))
                current, size = [carried], len(carried.encode())
            else:
                parts.append("".join(current))
                current, size = [], 0
        current.append(char)
        size += width
    parts.append("".join(current))
    return "\r\n ".join(parts) + "\r\n"


def _events(r: Resource, start: dt.date, end: dt.date) -> tuple[list[bytes], str | None]:
    """The VEVENTs of one resource (serialised), and a note when its schedule cannot be
    written.

    Written line by line, as icalendar writes them (properties in its order: SUMMARY,
    DTSTAMP, UID, then by name), because building an icalendar ``Event`` per resource
    was most of a national calendar's time. The lines that depend only on the rule
    (DTSTART, DTEND, RRULE, EXDATE) are made once per rule (:func:`_rule_lines`).
    """
    rows, reason = _expressible(r, start, end)
    if not rows:
        note = None
        if reason is not None:
            note = f"{r.external_id} {r.name}: {_source_text(r)}（{reason}）"
        return [], note
    point = _point(r)
    labels = ",".join(_escape(c.label_ja) for c in sorted(r.categories, key=lambda c: c.code))
    place, source, url = _place(r), _source_text(r), _uri(r.url)
    stamp = _stamp(r)
    head = _line("SUMMARY", _escape(r.name)) + _line("DTSTAMP", f"{stamp:%Y%m%dT%H%M%S}Z")
    tail = _line("CATEGORIES", labels)
    if source:
        tail += _line("DESCRIPTION", _escape(source))
    if point is not None:
        tail += _line("GEO", f"{float(point[1])};{float(point[0])}")
    if place:
        tail += _line("LOCATION", _escape(place))
    # 休止中: the pattern is kept (it resumes) but no session takes place.
    tail += "STATUS:CONFIRMED\r\n" if r.status == "active" else "STATUS:CANCELLED\r\n"
    if url:
        tail += _line("URL", url)
    tail += _line("X-TSUNAGU-RESOURCE", _escape(r.external_id))
    events = []
    for n, ps, keep, exdates in rows:
        uid = _line("UID", _escape(stable_id("event", f"{r.external_id}:{n}")))
        text = "BEGIN:VEVENT\r\n" + head + uid + tail
        events.append(text.encode() + _rule_lines(ps, keep[0], tuple(exdates), end) + _END_EVENT)
    return events, None


_END_EVENT = b"END:VEVENT\r\n"


@lru_cache(maxsize=4096)
def _rule_lines(
    ps: sched.ParsedSchedule, first: dt.datetime, exdates: tuple[dt.datetime, ...], end: dt.date
) -> bytes:
    """DTSTART, DTEND, RRULE, EXDATE (and X-TSUNAGU-END-TIME) of one rule, serialised."""
    from icalendar import Event

    timed = ps.start_time is not None
    begin: dt.datetime | dt.date = first.replace(tzinfo=TIMEZONE) if timed else first.date()
    event = Event()
    event.add("dtstart", begin)
    if timed and ps.end_time is not None:
        event.add("dtend", dt.datetime.combine(first.date(), ps.end_time, TIMEZONE))
    if ps.rrule != sched.ONE_DAY:  # a one-off date is its DTSTART alone
        event.add("rrule", _rrule(ps, first, end))
    if exdates:
        event.add("exdate", [w.replace(tzinfo=TIMEZONE) if timed else w.date() for w in exdates])
    if not timed and ps.end_time is not None:
        # 「～12:00」 with no start: RFC 5545 cannot end an all-day event at a time.
        event.add("x-tsunagu-end-time", f"{ps.end_time:%H:%M}")
    text = event.to_ical()
    head, tail = b"BEGIN:VEVENT\r\n", b"END:VEVENT\r\n"
    assert text.startswith(head) and text.endswith(tail)
    return text[len(head) : -len(tail)]


def _calendar_head(
    name: str, uid_key: str, notes: Iterable[str], start: dt.date, end: dt.date
) -> Any:
    from icalendar import Calendar, Timezone

    cal = Calendar.new(
        prodid=PRODID,
        uid=stable_id("calendar", uid_key),
        name=name,
        description=f"{start.isoformat()}～{end.isoformat()}（祝日・年末年始はこの期間について除外済み）",
    )
    cal.add("calscale", "GREGORIAN")
    cal.add("x-tsunagu-window", f"{start.isoformat()}/{end.isoformat()}")
    for note in notes:
        cal.add("x-tsunagu-unscheduled", note)
    # Always present, so even a calendar without events has a component (RFC 5545).
    cal.add_component(Timezone.from_tzid("Asia/Tokyo"))
    return cal


def _calendar(
    name: str, uid_key: str, resources: Iterable[Resource], start: dt.date, end: dt.date
) -> bytes:
    """The whole calendar in memory (one resource, one district)."""
    return b"".join(_iter_calendar(name, uid_key, resources, start, end))


def _iter_calendar(
    name: str,
    uid_key: str,
    resources: Iterable[Resource],
    start: dt.date,
    end: dt.date,
) -> Iterator[bytes]:
    """A calendar in chunks of whole lines: the head, the VEVENTs, the end.

    RFC 5545 puts calendar properties before components, and the unscheduled notes are
    properties known only once every resource is seen: the events are spooled to a
    temporary file (disk, not memory) while the notes are collected, then copied out.
    """
    notes: list[str] = []
    with tempfile.TemporaryFile() as spool:
        for r in resources:
            events, note = _events(r, start, end)
            for event in events:
                spool.write(event)
            if note is not None:
                notes.append(note)
        head = _calendar_head(name, uid_key, notes, start, end).to_ical()
        end_line = b"END:VCALENDAR\r\n"
        assert head.endswith(end_line)
        yield head[: -len(end_line)]
        spool.seek(0)
        while chunk := spool.read(1 << 20):
            yield chunk + spool.readline()  # whole lines: a reader may count BEGIN:VEVENT
    yield end_line


def resource_ics(
    session: Session,
    external_id: str,
    *,
    include_private: bool = False,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> bytes:
    """The iCalendar (RFC 5545) of one resource: one VEVENT per schedule row.

    Raises :class:`ExportNotFoundError` when the resource does not exist or is not
    published (unless ``include_private``). See :mod:`directory.exports` for the window.
    """
    start, end = default_window(start, end)
    found = published_resources(
        session, include_private=include_private, external_ids=[external_id]
    )
    if not found:
        raise ExportNotFoundError(f"no published resource {external_id!r}")
    r = found[0]
    return _calendar(r.name, f"resource:{external_id}", found, start, end)


def resources_ics(
    session: Session,
    *,
    include_private: bool = False,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> bytes:
    """One calendar of every published resource (all, with ``include_private``)."""
    return b"".join(
        iter_resources_ics(session, include_private=include_private, start=start, end=end)
    )


def iter_resources_ics(
    session: Session,
    *,
    include_private: bool = False,
    start: dt.date | None = None,
    end: dt.date | None = None,
    batch_size: int = BATCH_SIZE,
    progress: Progress | None = None,
) -> Iterator[bytes]:
    """:func:`resources_ics` in chunks, the database read in batches (see
    :func:`_iter_calendar` for why the events wait in a temporary file)."""
    start, end = default_window(start, end)
    chosen = iter_published(
        session, include_private=include_private, batch_size=batch_size, progress=progress
    )
    yield from _iter_calendar("地域資源", "resources", chosen, start, end)


def district_resources(
    session: Session, district_code: str, *, include_private: bool = False
) -> list[Resource]:
    """The resources of a district's calendar: those located in it (or in a district
    inside it) and those serving it, a district inside it, or one enclosing it (全域).
    """
    district = session.scalar(select(District).where(District.code == district_code))
    if district is None:
        raise ExportNotFoundError(f"no district {district_code!r}")
    areas = _Areas(session)
    inside = areas.descendants(district.id)
    related = inside | areas.ancestors(district.id)
    shapes = [areas.by_id[i].geometry for i in inside]
    venue_district = dict(session.execute(select(Venue.id, Venue.district_id)).tuples().all())

    def located_inside(r: Resource) -> bool:
        if r.venue_id is not None:
            return venue_district.get(r.venue_id) in inside
        if r.lat is None or r.lon is None:
            return False
        here = Point(r.lon, r.lat)
        return any(shape.covers(here) for shape in shapes)

    return [
        r
        for r in iter_published(session, include_private=include_private)
        if any(d.id in related for d in r.districts) or located_inside(r)
    ]


def district_ics(
    session: Session,
    district_code: str,
    *,
    include_private: bool = False,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> bytes:
    """The calendar of one district (any level): see :func:`district_resources`."""
    start, end = default_window(start, end)
    district = session.scalar(select(District).where(District.code == district_code))
    if district is None:
        raise ExportNotFoundError(f"no district {district_code!r}")
    chosen = district_resources(session, district_code, include_private=include_private)
    return _calendar(f"{district.name}の地域資源", f"district:{district_code}", chosen, start, end)

"""On-call calendars as RFC 5545 iCalendar feeds a calendar app can subscribe to."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import icalendar

from fireline.oncall.schemas import SpanView

PRODID = "-//Fireline//On-call//EN"


def _uid(schedule: str, span: SpanView) -> str:
    # Stable across refreshes, so a calendar app updates an event instead of duplicating it.
    return f"{schedule}.{span.layer}.{int(span.starts.timestamp())}@fireline"


def feed(name: str, spans: Iterable[tuple[str, SpanView]], stamp: datetime) -> bytes:
    """A VCALENDAR with one VEVENT per on-call stretch; times in UTC."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", name)
    for schedule, span in spans:
        if span.person is None:
            continue
        event = icalendar.Event()
        event.add("uid", _uid(schedule, span))
        event.add("dtstamp", stamp.astimezone(UTC))
        event.add("dtstart", span.starts.astimezone(UTC))
        event.add("dtend", span.ends.astimezone(UTC))
        event.add("summary", f"On call: {span.person} ({schedule}, {span.layer})")
        event.add("description", f"{span.reason}: {span.detail}")
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    return bytes(calendar.to_ical())

"""Choosing an incident's lead (Openverse): the rotation's person on duty when they are in
working hours; otherwise the person in working hours who has led the fewest incidents lately.

Pure: the service gathers each person's working calendar and recent lead count.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from fireline.clock.business import BusinessCalendar


@dataclass(frozen=True, slots=True)
class Candidate:
    handle: str
    hours: BusinessCalendar
    recent_leads: int


@dataclass(frozen=True, slots=True)
class LeadChoice:
    handle: str | None
    reason: str


def _local(candidate: Candidate, at: datetime) -> str:
    return f"{at.astimezone(candidate.hours.zone):%a %H:%M} {candidate.hours.zone.key}"


def choose_lead(
    on_duty: Candidate | None, others: Sequence[Candidate], at: datetime, window_days: int
) -> LeadChoice:
    """The lead at `at`, with the reason that goes on the incident's timeline."""
    if on_duty is not None and on_duty.hours.is_working_time(at):
        return LeadChoice(
            on_duty.handle,
            f"{on_duty.handle} is on duty in the rotation and in "
            f"working hours ({_local(on_duty, at)})",
        )
    available = sorted(
        (
            c
            for c in others
            if c.hours.is_working_time(at) and (on_duty is None or c.handle != on_duty.handle)
        ),
        key=lambda c: (c.recent_leads, c.handle),
    )
    why_not = (
        f"{on_duty.handle} (on duty) is outside working hours ({_local(on_duty, at)})"
        if on_duty is not None
        else "nobody is on duty in the rotation"
    )
    if available:
        chosen = available[0]
        return LeadChoice(
            chosen.handle,
            f"{why_not}; {chosen.handle} is in working hours "
            f"({_local(chosen, at)}) and has led {chosen.recent_leads} incident"
            f"{'s' * (chosen.recent_leads != 1)} in the last {window_days} days, "
            "the fewest of those available",
        )
    if on_duty is not None:
        return LeadChoice(
            on_duty.handle,
            f"{why_not}, and nobody else is in working hours: {on_duty.handle} leads",
        )
    return LeadChoice(None, f"{why_not}, and nobody is in working hours")

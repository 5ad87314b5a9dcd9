"""Escalation decisions, pure: which step pages now, and when the next one falls due.

An escalation policy is an ordered list of steps; each step names targets to notify at once
and a delay before the next step. After the last step the policy starts over, `repeat` times.
Acknowledging stops the escalation; resolving stops everything. Both bump the escalation's
epoch, so a timer written before them does nothing when it falls due.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class TargetKind(StrEnum):
    schedule = "schedule"  # the schedule's responder (or one layer's holder)
    person = "person"
    tech_lead = "tech_lead"  # the owning team's tech lead, from the policy's ownership
    group = "group"  # an impact category's contacts, all at once (Caseflow: data corruption)


@dataclass(frozen=True, slots=True)
class Target:
    kind: TargetKind
    name: str
    layer: str | None = None

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}" + (f"/{self.layer}" if self.layer else "")


@dataclass(frozen=True, slots=True)
class Step:
    targets: tuple[Target, ...]
    delay: timedelta


@dataclass(frozen=True, slots=True)
class Plan:
    steps: tuple[Step, ...]
    repeat: int = 0

    def __post_init__(self) -> None:
        if not self.steps:
            raise ValueError("an escalation policy needs at least one step")
        if self.repeat < 0:
            raise ValueError("repeat counts extra rounds: zero or more")


@dataclass(frozen=True, slots=True)
class Position:
    """Where an escalation stands: `step` of round `cycle` (0 is the first round)."""

    step: int = 0
    cycle: int = 0


@dataclass(frozen=True, slots=True)
class Decision:
    """Page `targets` now; then wait until `next_at` for `next_position`, or stop (None)."""

    targets: tuple[Target, ...]
    next_position: Position | None
    next_at: datetime | None


def decide(plan: Plan, position: Position, now: datetime) -> Decision:
    """What the step at `position` does when its timer falls due at `now`."""
    step = plan.steps[position.step]
    if position.step + 1 < len(plan.steps):
        following = Position(position.step + 1, position.cycle)
    elif position.cycle < plan.repeat:
        following = Position(0, position.cycle + 1)
    else:
        return Decision(step.targets, None, None)
    return Decision(step.targets, following, now + step.delay)

"""Answers to "what would this policy do?" without a server: examples, classify, due-bys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fireline.clock.business import BusinessCalendar
from fireline.clock.targets import level_due_bys
from fireline.policy.schema import Policy
from fireline.triage.classify import classify


@dataclass(frozen=True, slots=True)
class ExampleFailure:
    name: str
    expected_level: str | None
    expected_rule: str | None
    got_level: str | None
    got_rule: str | None

    def __str__(self) -> str:
        want = f"{self.expected_level}" + (
            f" by {self.expected_rule}" if self.expected_rule else ""
        )
        got = f"{self.got_level}" + (f" by {self.got_rule}" if self.got_rule else "")
        return f"{self.name}: expected {want}, got {got}"


def run_examples(policy: Policy) -> list[ExampleFailure]:
    """Each embedded example through the classifier; the ones that disagree."""
    failures = []
    for example in policy.classification.examples:
        verdict = classify(policy, example.signals, example.labels)
        rule_ok = example.expect_rule is None or example.expect_rule == verdict.rule
        if verdict.level != example.expect or not rule_ok:
            failures.append(
                ExampleFailure(
                    example.name, example.expect, example.expect_rule, verdict.level, verdict.rule
                )
            )
    return failures


@dataclass(frozen=True, slots=True)
class DueBys:
    level: str
    opened: datetime
    response: str | None
    response_due: datetime | None
    resolution: str | None
    resolution_due: datetime | None
    paging: str


def due_bys(
    policy: Policy, level_name: str, opened: datetime, calendar: BusinessCalendar | None = None
) -> DueBys:
    """The response and resolution due-by instants of a level opened at `opened`."""
    if opened.tzinfo is None:
        raise ValueError("the opening instant needs a UTC offset, e.g. 2026-11-25T10:00-05:00")
    level = policy.level(level_name)
    calendar = calendar or BusinessCalendar.from_policy(policy.calendar)
    due = level_due_bys(calendar, level, opened)
    return DueBys(
        level=level.name,
        opened=opened.astimezone(calendar.zone),
        response=str(level.response) if level.response else None,
        response_due=due.response,
        resolution=str(level.resolution) if level.resolution else None,
        resolution_due=due.resolution,
        paging=level.paging.value,
    )

"""Hail's "Process for Production Issues", rule by rule.

Seed: shared/seeds/000_04b531ca64567d27.txt; preset: src/fireline/policy/presets/hail.yaml.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from fireline.clock.business import BusinessCalendar
from fireline.incidents.roles import check_assignment, incident_type, lead_role
from fireline.incidents.workflow import TransitionRefused, allowed_next, check_move, initial_state
from fireline.policy.load import load_preset
from fireline.policy.schema import Paging, Policy
from fireline.policy.targets import Target, TargetKind
from fireline.triage.classify import classify

NEW_YORK = ZoneInfo("America/New_York")


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_preset("hail")


@pytest.fixture(scope="module")
def calendar(policy: Policy) -> BusinessCalendar:
    return BusinessCalendar.from_policy(policy.calendar)


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK)


# -- priorities ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "rank", "title", "response", "resolution", "paging"),
    [
        (
            "P1",
            1,
            "Service is unusable or business impact is critical",
            Target(TargetKind.immediately),
            None,
            Paging.interrupt,
        ),
        (
            "P2",
            2,
            "Service use severely impaired or business impact is severe",
            Target(TargetKind.business_days, 3),
            None,
            Paging.working_hours,
        ),
        (
            "P3",
            3,
            "Service use partially impaired or business impact is minor",
            None,
            Target(TargetKind.business_days, 20),
            Paging.working_hours,
        ),
    ],
)
def test_every_production_issue_gets_one_of_three_priorities(
    policy: Policy,
    level: str,
    rank: int,
    title: str,
    response: Target | None,
    resolution: Target | None,
    paging: Paging,
) -> None:
    chosen = policy.level(level)
    assert (chosen.rank, chosen.title, chosen.response, chosen.resolution, chosen.paging) == (
        rank,
        title,
        response,
        resolution,
        paging,
    )


def test_there_are_exactly_three_priorities(policy: Policy) -> None:
    assert [level.name for level in policy.levels] == ["P1", "P2", "P3"]


def test_calendar_is_new_york_business_hours_with_us_holidays(policy: Policy) -> None:
    assert policy.calendar.timezone == "America/New_York"
    assert policy.calendar.holidays.country == "US"
    assert (policy.calendar.working_hours.start.hour, policy.calendar.working_hours.end.hour) == (
        9,
        17,
    )


# -- targets on the calendar -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "target", "opened", "due"),
    [
        pytest.param(
            "P2", "response", at(2026, 11, 25, 10), at(2026, 12, 1, 10), id="thanksgiving"
        ),
        pytest.param("P2", "response", at(2026, 10, 16, 18), at(2026, 10, 22, 9), id="fri-evening"),
        pytest.param("P2", "response", at(2026, 10, 30, 10), at(2026, 11, 4, 10), id="dst-ends"),
        pytest.param("P2", "response", at(2026, 11, 21, 11), at(2026, 11, 27, 9), id="saturday"),
        pytest.param("P3", "resolution", at(2026, 12, 14, 10), at(2027, 1, 13, 10), id="christmas"),
        pytest.param("P1", "response", at(2026, 11, 28, 3), at(2026, 11, 28, 3), id="p1-at-once"),
    ],
)
def test_targets_fall_due_on_business_days(
    policy: Policy,
    calendar: BusinessCalendar,
    level: str,
    target: str,
    opened: datetime,
    due: datetime,
) -> None:
    goal = getattr(policy.level(level), target)
    assert calendar.due_by(goal, opened) == due


def test_p2_opened_before_thanksgiving_is_due_next_tuesday(
    policy: Policy, calendar: BusinessCalendar
) -> None:
    response = policy.level("P2").response
    assert response is not None
    assert calendar.due_by(response, at(2026, 11, 25, 10)) == at(2026, 12, 1, 10)


def test_p2_opened_friday_evening_starts_counting_monday_morning(
    policy: Policy, calendar: BusinessCalendar
) -> None:
    assert calendar.next_working_start(at(2026, 10, 16, 18)) == at(2026, 10, 19, 9)


def test_p3_resolution_skips_christmas_and_new_year(
    policy: Policy, calendar: BusinessCalendar
) -> None:
    resolution = policy.level("P3").resolution
    assert resolution is not None
    due = calendar.due_by(resolution, at(2026, 12, 14, 10))
    assert due == at(2027, 1, 13, 10)
    assert calendar.working_days_between(at(2026, 12, 14, 10).date(), due.date()) == 20


# -- classification --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signals", "labels", "level", "rule"),
    [
        ({"cost_usd_per_hour": 100}, {}, "P1", "cost-hourly-critical"),
        ({"cost_usd_per_hour": 99.99}, {}, "P2", "cost-hourly-severe"),
        ({"cost_usd_per_hour": 25.01}, {}, "P2", "cost-hourly-severe"),
        ({"cost_usd_per_hour": 25}, {}, None, None),
        ({"cost_usd_per_day": 500}, {}, "P1", "cost-daily-critical"),
        ({"cost_usd_per_day": 499.99}, {}, "P2", "cost-daily-severe"),
        ({"cost_usd_per_day": 100}, {}, None, None),
        ({"nonuser_job_failure_ratio": 0.51}, {}, "P1", "nonuser-job-failures-majority"),
        ({"nonuser_job_failure_ratio": 0.5}, {}, None, None),
        ({"ci_failure_ratio": 1.0}, {}, "P1", "ci-not-merging"),
        ({"ci_failure_ratio": 0.25}, {}, "P2", "ci-fails-one-in-four"),
        ({"ci_failure_ratio": 0.24}, {}, None, None),
        ({"ui_page_latency_seconds": 5.01}, {}, "P2", "ui-page-slow"),
        ({"ui_page_latency_seconds": 5}, {}, None, None),
        ({"api_latency_vs_last_month": 5}, {}, "P2", "api-latency-5x-last-month"),
        ({"api_latency_vs_last_month": 4.99}, {}, None, None),
        (
            {"api_latency_seconds": 2.5, "api_latency_last_month_seconds": 0.5},
            {},
            "P2",
            "api-latency-5x-baseline",
        ),
        ({"api_latency_seconds": 2.5, "api_latency_last_month_seconds": 0}, {}, None, None),
        ({}, {"symptom": "cannot-submit-batch"}, "P1", "critical-symptom"),
        ({}, {"symptom": "cannot-access-ui"}, "P1", "critical-symptom"),
        ({}, {"symptom": "private-key-leaked"}, "P1", "critical-symptom"),
        ({}, {"symptom": "arbitrary-code-execution"}, "P1", "critical-symptom"),
        ({}, {"symptom": "user-data-exposed"}, "P1", "critical-symptom"),
        ({}, {"symptom": "ci-not-merging"}, "P1", "critical-symptom"),
        ({}, {"symptom": "slow-image-pulling"}, "P2", "severe-symptom"),
        ({}, {"symptom": "slow-job-scheduling"}, "P2", "severe-symptom"),
        ({}, {"symptom": "slow-batch-submission"}, "P2", "severe-symptom"),
        ({}, {"symptom": "possible-key-leak"}, "P2", "severe-symptom"),
        ({}, {"symptom": "pypi-release-broken"}, "P2", "severe-symptom"),
        ({"cost_usd_per_hour": 30, "cost_usd_per_day": 720}, {}, "P1", "cost-daily-critical"),
        ({"cost_usd_per_hour": 3}, {"symptom": "typo"}, None, None),
    ],
)
def test_signals_classify_to_the_seeds_priorities(
    policy: Policy, signals: dict[str, float], labels: dict[str, str], level: str, rule: str
) -> None:
    verdict = classify(policy, signals, labels)
    assert (verdict.level, verdict.rule) == (level, rule)


def test_the_preset_passes_its_own_examples(policy: Policy) -> None:
    failing = [
        example.name
        for example in policy.classification.examples
        if classify(policy, example.signals, example.labels).level != example.expect
    ]
    assert failing == []


# -- mitigation ------------------------------------------------------------------------------


@pytest.mark.parametrize(("level", "downgrades"), [("P1", ["P2"]), ("P2", ["P3"]), ("P3", [])])
def test_mitigation_lowers_a_priority_by_one_step(
    policy: Policy, level: str, downgrades: list[str]
) -> None:
    assert policy.downgrades_from(level) == downgrades


def test_mitigation_needs_a_note_and_restarts_the_clock(policy: Policy) -> None:
    assert policy.mitigation.note_required is True
    assert policy.mitigation.restart_clock is True


def test_p1_mitigated_to_p2_is_due_three_business_days_after_mitigation(
    policy: Policy, calendar: BusinessCalendar
) -> None:
    (lower,) = policy.downgrades_from("P1")
    response = policy.level(lower).response
    assert response is not None
    assert calendar.due_by(response, at(2026, 11, 24, 14)) == at(2026, 11, 30, 14)


# -- workflow and roles ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("workflow", "current", "allowed"),
    [
        ("ticket", "open", ["in_progress", "resolved"]),
        ("ticket", "in_progress", ["open", "resolved"]),
        ("ticket", "resolved", ["open"]),
        ("incident", "active", ["mitigated", "resolved"]),
        ("incident", "mitigated", ["active", "resolved"]),
        ("incident", "resolved", ["active"]),
    ],
)
def test_workflow_moves(policy: Policy, workflow: str, current: str, allowed: list[str]) -> None:
    assert allowed_next(getattr(policy.workflows, workflow), current) == allowed


def test_a_resolved_ticket_cannot_jump_to_in_progress(policy: Policy) -> None:
    with pytest.raises(TransitionRefused) as refused:
        check_move(policy.workflows.ticket, "resolved", "in_progress")
    assert refused.value.allowed == ["open"]


def test_new_records_start_open_and_active(policy: Policy) -> None:
    assert initial_state(policy.workflows.ticket, None).name == "open"
    assert initial_state(policy.workflows.incident, None).name == "active"
    assert policy.workflows.ticket.states[-1].open is False


def test_incidents_are_p1_and_led_by_the_incident_commander(policy: Policy) -> None:
    kind = incident_type(policy, None)
    assert policy.incidents.default_severity == "P1"
    assert lead_role(kind) == "incident_commander"
    # The seed sets no rule keeping roles apart: one person may command and respond.
    check_assignment(policy, kind, {"incident_commander": "ana"}, "responder", "ana")

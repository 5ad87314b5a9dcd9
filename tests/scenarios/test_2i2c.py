"""2i2c's support urgency levels and hub incidents, rule by rule.

Seed: shared/seeds/002_8c93dbe06ffd41bb.txt (2i2c-org/infrastructure#1154); preset:
src/fireline/policy/presets/2i2c.yaml. The levels' targets are Fireline's reading (the seed only
asks for "a few levels of urgency"); the incident test and roles are the seed's.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fireline.clock.business import BusinessCalendar
from fireline.incidents.roles import (
    RoleConstraintBroken,
    UnknownRole,
    check_assignment,
    incident_type,
    lead_role,
)
from fireline.incidents.workflow import TransitionRefused, allowed_next, check_move, initial_state
from fireline.policy.load import load_preset
from fireline.policy.schema import Paging, Policy
from fireline.policy.targets import Target, TargetKind
from fireline.triage.classify import classify, incident_criteria_met, labels_from_list


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_preset("2i2c")


@pytest.fixture(scope="module")
def calendar(policy: Policy) -> BusinessCalendar:
    return BusinessCalendar.from_policy(policy.calendar)


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# -- urgency levels --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "rank", "response", "resolution"),
    [
        ("urgent", 1, Target(TargetKind.immediately), None),
        ("high", 2, Target(TargetKind.business_days, 1), Target(TargetKind.business_days, 5)),
        ("normal", 3, Target(TargetKind.business_days, 2), Target(TargetKind.business_days, 15)),
        ("low", 4, Target(TargetKind.business_days, 5), None),
    ],
)
def test_a_few_levels_of_urgency(
    policy: Policy, level: str, rank: int, response: Target, resolution: Target | None
) -> None:
    chosen = policy.level(level)
    assert (chosen.rank, chosen.response, chosen.resolution) == (rank, response, resolution)


@pytest.mark.parametrize(
    ("level", "title"),
    [
        ("urgent", "Immediate fires that we need to fix ASAP"),
        ("normal", "General requests that we can finish in a few weeks"),
    ],
)
def test_levels_keep_the_seeds_words(policy: Policy, level: str, title: str) -> None:
    assert policy.level(level).title == title


def test_every_level_respects_working_hours(policy: Policy) -> None:
    assert {level.paging for level in policy.levels} == {Paging.working_hours}


@pytest.mark.parametrize(
    ("level", "target", "opened", "due"),
    [
        pytest.param("high", "response", at(2026, 6, 5, 18), at(2026, 6, 9, 9), id="fri-evening"),
        pytest.param("high", "resolution", at(2026, 6, 5, 18), at(2026, 6, 15, 9), id="high-fix"),
        pytest.param("normal", "response", at(2026, 6, 10, 12), at(2026, 6, 12, 12), id="request"),
        pytest.param("normal", "resolution", at(2026, 6, 1, 10), at(2026, 6, 22, 10), id="weeks"),
        pytest.param("low", "response", at(2026, 6, 6, 10), at(2026, 6, 15, 9), id="saturday"),
        # The policy names no holidays: Christmas counts as a working day.
        pytest.param("normal", "resolution", at(2026, 12, 21, 10), at(2027, 1, 11, 10), id="xmas"),
    ],
)
def test_support_targets_count_working_days(
    policy: Policy,
    calendar: BusinessCalendar,
    level: str,
    target: str,
    opened: datetime,
    due: datetime,
) -> None:
    assert calendar.due_by(getattr(policy.level(level), target), opened) == due


# -- classification --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "level", "rule"),
    [
        (["symptom=cannot-log-in"], "urgent", "users-cannot-log-in"),
        (["symptom=cannot-start-server"], "urgent", "users-cannot-start-server"),
        (
            ["symptom=cannot-start-dask-workers", "dask-gateway"],
            "urgent",
            "dask-workers-not-starting",
        ),
        (["symptom=cannot-start-dask-workers"], None, None),
        (["symptom=cannot-log-in", "type=question"], "urgent", "users-cannot-log-in"),
        (["type=broken-feature"], "high", "broken-feature"),
        (["type=request"], "normal", "general-request"),
        (["type=question"], "low", "question"),
        (["type=nice-to-have"], "low", "question"),
        (["urgency=urgent"], None, None),
        (["hub=staging"], None, None),
    ],
)
def test_tickets_classify_by_what_they_report(
    policy: Policy, labels: list[str], level: str | None, rule: str | None
) -> None:
    verdict = classify(policy, {}, labels_from_list(labels))
    assert (verdict.level, verdict.rule) == (level, rule)


def test_an_untyped_support_ticket_is_a_general_request(policy: Policy) -> None:
    assert policy.classification.default_level == "normal"


def test_the_preset_passes_its_own_examples(policy: Policy) -> None:
    failing = [
        example.name
        for example in policy.classification.examples
        if classify(policy, example.signals, example.labels).level != example.expect
    ]
    assert failing == []


# -- what an incident is ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "met"),
    [
        pytest.param(["symptom=cannot-log-in"], ["users-cannot-log-in"], id="log-in"),
        pytest.param(["symptom=cannot-start-server"], ["users-cannot-start-server"], id="server"),
        pytest.param(
            ["symptom=cannot-start-dask-workers", "dask-gateway"],
            ["users-cannot-start-dask-workers"],
            id="dask-gateway",
        ),
        pytest.param(["symptom=cannot-start-dask-workers"], [], id="dask-without-gateway"),
        pytest.param(["type=broken-feature"], [], id="broken-feature"),
        pytest.param(["urgency=urgent"], [], id="user-says-urgent"),
    ],
)
def test_an_incident_is_declared_on_the_objective_test(
    policy: Policy, labels: list[str], met: list[str]
) -> None:
    found = incident_criteria_met(policy, {}, labels_from_list(labels))
    assert [criterion.name for criterion in found] == met
    assert all(criterion.severity == "urgent" for criterion in found)


# -- roles -----------------------------------------------------------------------------------


def test_the_support_steward_declares_and_the_incident_commander_leads(policy: Policy) -> None:
    kind = incident_type(policy, None)
    assert kind.name == "hub-incident"
    assert kind.declarer_role == "support_steward"
    assert lead_role(kind) == "incident_commander"
    assert policy.incidents.default_severity == "urgent"


@pytest.mark.parametrize(
    ("holders", "role", "person"),
    [
        ({"support_steward": "sam"}, "incident_commander", "sam"),
        ({"incident_commander": "ivy"}, "support_steward", "ivy"),
    ],
)
def test_the_incident_commander_is_not_the_support_steward(
    policy: Policy, holders: dict[str, str], role: str, person: str
) -> None:
    with pytest.raises(RoleConstraintBroken) as broken:
        check_assignment(policy, incident_type(policy, None), holders, role, person)
    assert broken.value.person == person


def test_the_incident_commander_tags_out_to_someone_other_than_the_steward(
    policy: Policy,
) -> None:
    kind = incident_type(policy, None)
    holders = {"support_steward": "sam", "incident_commander": "ivy"}
    check_assignment(policy, kind, holders, "incident_commander", "kai")
    with pytest.raises(RoleConstraintBroken):
        check_assignment(policy, kind, holders, "incident_commander", "sam")


def test_the_incident_commander_may_pull_in_responders(policy: Policy) -> None:
    kind = incident_type(policy, None)
    holders = {"support_steward": "sam", "incident_commander": "ivy"}
    check_assignment(policy, kind, holders, "responder", "sam")
    with pytest.raises(UnknownRole):
        check_assignment(policy, kind, holders, "scribe", "kai")


# -- workflow --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "allowed"),
    [("active", ["post_mortem"]), ("post_mortem", ["active", "closed"]), ("closed", [])],
)
def test_incidents_end_with_a_post_mortem(policy: Policy, current: str, allowed: list[str]) -> None:
    assert allowed_next(policy.workflows.incident, current) == allowed


def test_an_incident_cannot_close_without_its_post_mortem(policy: Policy) -> None:
    incident = policy.workflows.incident
    assert initial_state(incident, None).name == "active"
    with pytest.raises(TransitionRefused) as refused:
        check_move(incident, "active", "closed")
    assert refused.value.allowed == ["post_mortem"]
    assert check_move(incident, "post_mortem", "closed").open is False

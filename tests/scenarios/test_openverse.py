"""Openverse's policy for responding to incidents, rule by rule.

Seed: shared/seeds/003_99da209470a807f6.txt; preset: src/fireline/policy/presets/openverse.yaml.
The incident workflow must be exactly the seed's mermaid diagram.
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import product

import pytest

from fireline.clock.business import BusinessCalendar
from fireline.incidents.roles import check_assignment, incident_type, lead_role
from fireline.incidents.workflow import (
    TransitionRefused,
    allowed_next,
    check_move,
    initial_state,
    state,
)
from fireline.policy.load import load_preset
from fireline.policy.schema import Paging, Policy
from fireline.policy.targets import Target, TargetKind
from fireline.triage.classify import classify, incident_criteria_met, labels_from_list

# graph LR: A[Stabilization pending] B[Stabilized] C[Under investigation] D[Resolved]
A, B, C, D = "stabilization_pending", "stabilized", "under_investigation", "resolved"
DIAGRAM = {(A, B), (B, C), (B, A), (C, A), (C, D), (D, A)}
STATES = [A, B, C, D]
NON_EDGES = sorted(set(product(STATES, STATES)) - DIAGRAM)


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_preset("openverse")


# -- severity --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "rank", "definition"),
    [
        (
            "severity-1",
            1,
            "Critical issue affecting all users and all functionalities of Openverse.",
        ),
        (
            "severity-2",
            2,
            "Major issue affecting a large number of users or critical functionality of Openverse.",
        ),
        (
            "severity-3",
            3,
            "Minor issue affecting a limited number of users or non-critical functionality of "
            "Openverse.",
        ),
    ],
)
def test_three_levels_of_severity_as_defined(
    policy: Policy, level: str, rank: int, definition: str
) -> None:
    chosen = policy.level(level)
    assert (chosen.rank, chosen.description) == (rank, definition)
    assert chosen.title == f"Severity {rank}: {definition.removesuffix('.')}"


def test_there_are_exactly_three_severities(policy: Policy) -> None:
    assert [level.name for level in policy.levels] == ["severity-1", "severity-2", "severity-3"]


@pytest.mark.parametrize(
    ("level", "example"),
    [
        ("severity-1", "Openverse.org is completely offline."),
        (
            "severity-2",
            "Openverse.org has a critical bug preventing search for mobile users using RTL "
            "languages.",
        ),
        (
            "severity-3",
            "The API is serving slower-than-typical responses which occasionally time out.",
        ),
        (
            "severity-3",
            "A user has posted public comments using hateful language towards an Openverse "
            "maintainer.",
        ),
        (
            "severity-3",
            "Production resource usage is skyrocketing and could lead to downtime, but there "
            "aren't any actual issues yet.",
        ),
    ],
)
def test_the_seeds_example_incidents_sit_under_a_severity(
    policy: Policy, level: str, example: str
) -> None:
    assert example in policy.level(level).examples


@pytest.mark.parametrize("level", ["severity-1", "severity-2", "severity-3"])
def test_incidents_take_priority_over_regular_work_regardless_of_severity(
    policy: Policy, level: str
) -> None:
    chosen = policy.level(level)
    assert (chosen.response, chosen.paging, chosen.resolution) == (
        Target(TargetKind.immediately),
        Paging.interrupt,
        None,
    )
    opened = datetime(2026, 12, 26, 3, 0, tzinfo=UTC)  # a Saturday night
    calendar = BusinessCalendar.from_policy(policy.calendar)
    assert calendar.due_by(Target(TargetKind.immediately), opened) == opened


def test_stabilizing_does_not_lower_severity(policy: Policy) -> None:
    assert all(policy.downgrades_from(level.name) == [] for level in policy.levels)


# -- classification --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signals", "labels", "level", "rule"),
    [
        ({"openverse_org_up": 0}, [], "severity-1", "openverse-offline"),
        ({"openverse_org_up": 1}, [], None, None),
        ({}, ["users=all", "functionality=all"], "severity-1", "all-users-all-functionality"),
        (
            {},
            ["users=all", "functionality=non-critical"],
            "severity-2",
            "many-users-or-critical-functionality",
        ),
        ({}, ["users=large-number"], "severity-2", "many-users-or-critical-functionality"),
        (
            {},
            ["users=limited-number", "functionality=critical"],
            "severity-2",
            "many-users-or-critical-functionality",
        ),
        (
            {},
            ["users=limited-number", "functionality=non-critical"],
            "severity-3",
            "limited-users-or-non-critical-functionality",
        ),
        (
            {},
            ["users=none-yet", "functionality=non-critical"],
            "severity-3",
            "limited-users-or-non-critical-functionality",
        ),
        (
            {},
            ["users=limited-number", "kind=community"],
            "severity-3",
            "limited-users-or-non-critical-functionality",
        ),
        ({}, ["kind=technical"], None, None),
    ],
)
def test_impact_classifies_to_severity(
    policy: Policy, signals: dict[str, float], labels: list[str], level: str, rule: str
) -> None:
    verdict = classify(policy, signals, labels_from_list(labels))
    assert (verdict.level, verdict.rule) == (level, rule)


def test_the_preset_passes_its_own_examples(policy: Policy) -> None:
    failing = [
        example.name
        for example in policy.classification.examples
        if classify(policy, example.signals, example.labels).level != example.expect
    ]
    assert failing == []


@pytest.mark.parametrize(
    ("signals", "labels", "met"),
    [
        ({"openverse_org_up": 0}, {}, ["openverse-offline"]),
        ({}, {"users": "limited-number"}, ["might-be-an-incident"]),
        ({}, {"functionality": "non-critical"}, ["might-be-an-incident"]),
        ({"openverse_org_up": 1}, {"kind": "technical"}, []),
    ],
)
def test_if_it_might_be_an_incident_record_it(
    policy: Policy, signals: dict[str, float], labels: dict[str, str], met: list[str]
) -> None:
    assert [c.name for c in incident_criteria_met(policy, signals, labels)] == met


# -- status: exactly the diagram -------------------------------------------------------------


def test_the_states_are_the_diagrams_four(policy: Policy) -> None:
    workflow = policy.workflows.incident
    assert [(s.name, s.title) for s in workflow.states] == [
        (A, "Stabilization pending"),
        (B, "Stabilized"),
        (C, "Under investigation"),
        (D, "Resolved"),
    ]


def test_the_edge_set_is_exactly_the_diagram(policy: Policy) -> None:
    workflow = policy.workflows.incident
    edges = {(source, target) for source in STATES for target in allowed_next(workflow, source)}
    assert edges == DIAGRAM


@pytest.mark.parametrize(("source", "target"), sorted(DIAGRAM))
def test_every_diagram_edge_is_allowed(policy: Policy, source: str, target: str) -> None:
    assert check_move(policy.workflows.incident, source, target).name == target


@pytest.mark.parametrize(("source", "target"), NON_EDGES)
def test_every_move_not_in_the_diagram_is_refused(policy: Policy, source: str, target: str) -> None:
    workflow = policy.workflows.incident
    with pytest.raises(TransitionRefused) as refused:
        check_move(workflow, source, target)
    assert refused.value.allowed == allowed_next(workflow, source)


def test_a_recurring_incident_rolls_back_to_stabilization_pending(policy: Policy) -> None:
    workflow = policy.workflows.incident
    for source in (B, C, D):
        assert A in allowed_next(workflow, source)


@pytest.mark.parametrize(("status", "is_open"), [(A, True), (B, True), (C, True), (D, False)])
def test_only_resolved_is_closed(policy: Policy, status: str, is_open: bool) -> None:
    assert state(policy.workflows.incident, status).open is is_open


@pytest.mark.parametrize("requested", [A, B])
def test_recording_ends_in_stabilization_pending_or_stabilized(
    policy: Policy, requested: str
) -> None:
    assert initial_state(policy.workflows.incident, requested).name == requested


@pytest.mark.parametrize("requested", [C, D])
def test_a_new_incident_cannot_start_under_investigation_or_resolved(
    policy: Policy, requested: str
) -> None:
    with pytest.raises(TransitionRefused) as refused:
        initial_state(policy.workflows.incident, requested)
    assert refused.value.allowed == [A, B]


def test_an_unstated_start_is_stabilization_pending(policy: Policy) -> None:
    assert initial_state(policy.workflows.incident, None).name == A


# -- roles -----------------------------------------------------------------------------------


def test_every_incident_has_a_lead_and_a_recorder(policy: Policy) -> None:
    kind = incident_type(policy, None)
    assert kind.roles == ["lead", "recorder"]
    assert lead_role(kind) == "lead"
    assert kind.declarer_role == "recorder"
    assert "MSR runner" in next(r for r in policy.roles if r.name == "lead").description


def test_the_recorder_may_act_as_the_lead(policy: Policy) -> None:
    assert policy.role_constraints == []
    check_assignment(policy, incident_type(policy, None), {"recorder": "zack"}, "lead", "zack")

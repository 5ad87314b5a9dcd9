"""The status workflow as a state machine, and who may hold which incident roles."""

from __future__ import annotations

import pytest

from fireline.incidents.roles import (
    RoleConstraintBroken,
    UnknownIncidentType,
    UnknownRole,
    check_assignment,
    incident_type,
    lead_role,
)
from fireline.incidents.workflow import (
    TransitionRefused,
    UnknownState,
    allowed_next,
    check_move,
    initial_state,
    state,
)
from fireline.policy.load import load_preset, parse_policy
from fireline.policy.schema import Policy, Workflow

POLICY = """\
fireline: 1
name: flow
calendar: {timezone: UTC}
levels: [{name: SEV1, rank: 1, title: Critical}]
incidents:
  default_type: security
  types:
    - name: default
      roles: [commander, scribe, liaison]
    - name: security
      roles: [scribe, commander, investigator]
      lead_role: commander
      private: true
workflows:
  ticket:
    initial: [new, triaged]
    states:
      - {name: new}
      - {name: triaged}
      - {name: waiting, stops_clock: true}
      - {name: done, open: false}
      - {name: archived, open: false}
    transitions:
      - {from: new, to: [triaged, done]}
      - {from: triaged, to: [waiting, done]}
      - {from: waiting, to: triaged}
      - {from: new, to: [waiting, triaged]}
      - {from: done, to: [archived]}
  incident:
    initial: active
    states: [{name: active}, {name: resolved, open: false}]
    transitions: [{from: active, to: resolved}]
people:
  - {handle: ana, name: Ana}
  - {handle: bo, name: Bo}
roles:
  - {name: commander}
  - {name: scribe}
  - {name: liaison}
  - {name: investigator}
role_constraints:
  - distinct: [commander, scribe]
  - distinct: [commander, investigator]
"""


@pytest.fixture(scope="module")
def policy() -> Policy:
    return parse_policy(POLICY, "flow.yaml")


@pytest.fixture(scope="module")
def tickets(policy: Policy) -> Workflow:
    return policy.workflows.ticket


# -- allowed_next -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        pytest.param("new", ["triaged", "done", "waiting"], id="policy-order-without-repeats"),
        pytest.param("triaged", ["waiting", "done"], id="two-targets"),
        pytest.param("waiting", ["triaged"], id="single-target-written-as-text"),
        pytest.param("done", ["archived"], id="closed-state-may-move-on"),
        pytest.param("archived", [], id="no-way-out"),
    ],
)
def test_allowed_next_lists_one_move_targets_in_policy_order(
    tickets: Workflow, current: str, expected: list[str]
) -> None:
    assert allowed_next(tickets, current) == expected


# -- check_move ---------------------------------------------------------------------------------


def test_an_allowed_move_returns_the_target_state(tickets: Workflow) -> None:
    waiting = check_move(tickets, "triaged", "waiting")
    assert waiting.name == "waiting"
    assert waiting.stops_clock
    assert waiting.open


def test_a_move_into_a_closed_state_returns_it_closed(tickets: Workflow) -> None:
    assert not check_move(tickets, "triaged", "done").open


@pytest.mark.parametrize(
    ("current", "requested", "allowed"),
    [
        pytest.param("waiting", "done", ["triaged"], id="not-listed"),
        pytest.param("triaged", "triaged", ["waiting", "done"], id="no-implicit-self-move"),
        pytest.param("triaged", "new", ["waiting", "done"], id="no-way-back-unless-written"),
        pytest.param("archived", "new", [], id="terminal-state"),
    ],
)
def test_a_move_the_workflow_does_not_allow_is_refused_naming_the_allowed_ones(
    tickets: Workflow, current: str, requested: str, allowed: list[str]
) -> None:
    with pytest.raises(TransitionRefused) as refused:
        check_move(tickets, current, requested)
    assert refused.value.current == current
    assert refused.value.requested == requested
    assert refused.value.allowed == allowed
    expected_text = ", ".join(allowed) if allowed else "none"
    assert str(refused.value) == (
        f"cannot move from {current!r} to {requested!r}; allowed next: {expected_text}"
    )


def test_a_move_to_an_unknown_state_names_the_states_there_are(tickets: Workflow) -> None:
    with pytest.raises(UnknownState) as unknown:
        check_move(tickets, "new", "closed")
    assert unknown.value.state == "closed"
    assert unknown.value.known == ["new", "triaged", "waiting", "done", "archived"]
    assert "unknown state 'closed'" in str(unknown.value)


def test_state_looks_up_by_name(tickets: Workflow) -> None:
    assert state(tickets, "archived").name == "archived"
    with pytest.raises(UnknownState):
        state(tickets, "Archived")


def test_hail_tickets_can_be_reopened_but_not_skip_ahead_of_open() -> None:
    hail = load_preset("hail").workflows.ticket
    assert check_move(hail, "resolved", "open").open
    with pytest.raises(TransitionRefused):
        check_move(hail, "resolved", "in_progress")


# -- initial_state ------------------------------------------------------------------------------


def test_a_new_record_starts_in_the_first_initial_state(tickets: Workflow) -> None:
    assert initial_state(tickets, None).name == "new"


def test_a_new_record_may_start_in_another_initial_state(tickets: Workflow) -> None:
    assert initial_state(tickets, "triaged").name == "triaged"


def test_a_new_record_may_not_start_in_a_state_that_is_not_initial(tickets: Workflow) -> None:
    with pytest.raises(TransitionRefused) as refused:
        initial_state(tickets, "done")
    assert refused.value.current == "(new)"
    assert refused.value.allowed == ["new", "triaged"]


def test_a_new_record_may_not_start_in_an_unknown_state(tickets: Workflow) -> None:
    with pytest.raises(UnknownState):
        initial_state(tickets, "limbo")


# -- roles --------------------------------------------------------------------------------------


def test_incident_type_defaults_to_the_policy_default(policy: Policy) -> None:
    assert incident_type(policy, None).name == "security"
    assert incident_type(policy, "default").name == "default"


def test_incident_type_without_a_default_is_the_first() -> None:
    hail = load_preset("hail")
    assert hail.incidents.default_type is None
    assert incident_type(hail, None).name == hail.incidents.types[0].name


def test_an_unknown_incident_type_lists_the_known_ones(policy: Policy) -> None:
    with pytest.raises(UnknownIncidentType) as unknown:
        incident_type(policy, "outage")
    assert unknown.value.known == ["default", "security"]


def test_the_lead_role_is_named_or_else_the_first_role(policy: Policy) -> None:
    assert lead_role(incident_type(policy, "security")) == "commander"
    assert lead_role(incident_type(policy, "default")) == "commander"


@pytest.mark.parametrize(
    ("kind", "holders", "role", "person"),
    [
        pytest.param("default", {}, "commander", "ana", id="first-role-of-an-empty-incident"),
        pytest.param("default", {"commander": "ana"}, "scribe", "bo", id="someone-else"),
        pytest.param("default", {"commander": "ana"}, "liaison", "ana", id="unconstrained"),
        pytest.param("default", {"commander": "ana"}, "commander", "ana", id="same-role-again"),
        pytest.param(
            "default", {"scribe": "bo", "liaison": "ana"}, "commander", "ana", id="only-pairs"
        ),
    ],
)
def test_an_assignment_the_constraints_allow(
    policy: Policy, kind: str, holders: dict[str, str], role: str, person: str
) -> None:
    check_assignment(policy, incident_type(policy, kind), holders, role, person)


@pytest.mark.parametrize(
    ("kind", "holders", "role", "person", "conflicting"),
    [
        pytest.param("default", {"commander": "ana"}, "scribe", "ana", "commander", id="scribe"),
        pytest.param("default", {"scribe": "ana"}, "commander", "ana", "scribe", id="commander"),
        pytest.param(
            "security",
            {"investigator": "bo"},
            "commander",
            "bo",
            "investigator",
            id="second-constraint",
        ),
    ],
)
def test_an_assignment_breaking_a_distinct_role_constraint_is_refused(
    policy: Policy,
    kind: str,
    holders: dict[str, str],
    role: str,
    person: str,
    conflicting: str,
) -> None:
    with pytest.raises(RoleConstraintBroken) as broken:
        check_assignment(policy, incident_type(policy, kind), holders, role, person)
    assert (broken.value.person, broken.value.role, broken.value.conflicting) == (
        person,
        role,
        conflicting,
    )
    assert "hand" in str(broken.value) and "off first" in str(broken.value)


def test_a_role_the_incident_type_lacks_is_unknown(policy: Policy) -> None:
    with pytest.raises(UnknownRole) as unknown:
        check_assignment(policy, incident_type(policy, "security"), {}, "liaison", "ana")
    assert unknown.value.known == ["scribe", "commander", "investigator"]

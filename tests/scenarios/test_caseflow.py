"""Caseflow's Prod Squad, rule by rule.

Seed: shared/seeds/001_836eb98e23d17364.txt; preset: src/fireline/policy/presets/caseflow.yaml.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

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
from fireline.policy.schema import TECH_LEAD, Paging, Policy
from fireline.policy.targets import Target, TargetKind
from fireline.triage.classify import classify, incident_criteria_met, labels_from_list

NEW_YORK = ZoneInfo("America/New_York")
MAJOR = "data-corruption-or-major-stoppage"


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_preset("caseflow")


@pytest.fixture(scope="module")
def calendar(policy: Policy) -> BusinessCalendar:
    return BusinessCalendar.from_policy(policy.calendar)


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=NEW_YORK)


def tech_lead_of(policy: Policy, app: str) -> str | None:
    """The table "Responsibility for Errors": App → Team → Tech Lead."""
    teams = {team.name: team.tech_lead for team in policy.ownership.teams}
    for entry in policy.ownership.services:
        if entry.service == app:
            return teams[entry.team]
    return teams.get(policy.ownership.catch_all or "")


def contacts_for(policy: Policy, category: str, app: str) -> list[str | None]:
    chosen = next(c for c in policy.impact_categories if c.name == category)
    return [tech_lead_of(policy, app) if c == TECH_LEAD else c for c in chosen.contacts]


# -- impact triage as levels -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "rank", "title", "response"),
    [
        (
            MAJOR,
            1,
            "Potentially corrupting data or causing a major user work stoppage",
            Target(TargetKind.immediately),
        ),
        ("not-sure", 2, "You're not totally sure", Target(TargetKind.immediately)),
        (
            "annoying-to-users",
            3,
            "Obviously annoying to end users, but not corrupting data or causing a major user "
            "work stoppage",
            Target(TargetKind.business_days, 5),
        ),
    ],
)
def test_impact_triage_levels(
    policy: Policy, level: str, rank: int, title: str, response: Target
) -> None:
    chosen = policy.level(level)
    assert (chosen.rank, chosen.title, chosen.response) == (rank, title, response)


def test_the_procedure_only_needs_to_be_done_during_business_hours(policy: Policy) -> None:
    assert {level.paging for level in policy.levels} == {Paging.working_hours}


def test_calendar_is_eastern_with_us_holidays(policy: Policy) -> None:
    assert policy.calendar.timezone == "America/New_York"
    assert policy.calendar.holidays.country == "US"


@pytest.mark.parametrize(
    ("logged", "reviewed"),
    [
        pytest.param(at(2026, 3, 10, 22), at(2026, 3, 11, 9), id="after-close-of-business"),
        pytest.param(at(2026, 3, 13, 17, 30), at(2026, 3, 16, 9), id="friday-evening"),
        pytest.param(at(2026, 3, 11, 6), at(2026, 3, 11, 9), id="before-the-morning"),
        pytest.param(at(2026, 3, 11, 11), at(2026, 3, 11, 11), id="during-business-hours"),
        pytest.param(at(2026, 11, 25, 20), at(2026, 11, 27, 9), id="thanksgiving-eve"),
    ],
)
def test_errors_after_close_of_business_are_reviewed_next_morning(
    calendar: BusinessCalendar, logged: datetime, reviewed: datetime
) -> None:
    assert calendar.next_working_start(logged) == reviewed


def test_annoying_errors_reach_the_tech_leads_by_the_end_of_the_week(
    policy: Policy, calendar: BusinessCalendar
) -> None:
    response = policy.level("annoying-to-users").response
    assert response is not None
    # Friday 3 July 2026 is the observed Independence Day.
    assert calendar.due_by(response, at(2026, 7, 2, 16)) == at(2026, 7, 10, 16)


# -- classification --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "level", "rule"),
    [
        (["prod-alert", "impact=data-corruption"], MAJOR, "potentially-corrupting-data"),
        (["prod-alert", "impact=major-work-stoppage"], MAJOR, "potentially-corrupting-data"),
        (["prod-alert", "impact=not-sure"], "not-sure", "not-totally-sure"),
        (["prod-alert", "impact=annoying"], "annoying-to-users", "annoying-to-end-users"),
        (["prod-alert"], None, None),
        (["impact=noise"], None, None),
        (["post-mortem"], None, None),
    ],
)
def test_impact_labels_classify(
    policy: Policy, labels: list[str], level: str | None, rule: str | None
) -> None:
    verdict = classify(policy, {}, labels_from_list(labels))
    assert (verdict.level, verdict.rule) == (level, rule)


def test_an_error_whose_impact_is_not_yet_determined_counts_as_not_sure(policy: Policy) -> None:
    assert policy.classification.default_level == "not-sure"
    assert [t.name for t in policy.issue_types] == ["prod-alert", "post-mortem"]


def test_the_preset_passes_its_own_examples(policy: Policy) -> None:
    failing = [
        example.name
        for example in policy.classification.examples
        if classify(policy, example.signals, example.labels).level != example.expect
    ]
    assert failing == []


# -- major disruptions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "met"),
    [
        ({"impact": "data-corruption"}, ["major-disruption"]),
        ({"impact": "major-work-stoppage"}, ["major-disruption"]),
        ({"impact": "annoying"}, []),
        ({"impact": "not-sure"}, []),
        ({"prod-alert": ""}, []),
    ],
)
def test_major_disruptions_call_for_a_post_mortem(
    policy: Policy, labels: dict[str, str], met: list[str]
) -> None:
    assert [c.name for c in incident_criteria_met(policy, {}, labels)] == met


def test_a_major_disruption_is_declared_at_the_top_impact(policy: Policy) -> None:
    (criterion,) = policy.incidents.criteria
    assert criterion.severity == MAJOR
    assert policy.incidents.default_severity == MAJOR


# -- who to ping -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("app", "team", "tech_lead"),
    [
        ("Reader", "Whiskey", "mark"),
        ("Certification", "Foxtrot", "alex"),
        ("Certification v2", "Foxtrot", "alex"),
        ("eFolder", "Foxtrot", "alex"),
        ("Dispatch", "Tango", "sharon"),
        ("Hearings Prep", "Tango", "sharon"),
    ],
)
def test_responsibility_for_errors(policy: Policy, app: str, team: str, tech_lead: str) -> None:
    entry = next(e for e in policy.ownership.services if e.service == app)
    assert entry.team == team
    assert tech_lead_of(policy, app) == tech_lead


def test_an_app_missing_from_the_table_has_no_owner(policy: Policy) -> None:
    assert policy.ownership.catch_all is None
    assert tech_lead_of(policy, "Queue") is None


@pytest.mark.parametrize(
    ("app", "contacts"),
    [
        ("Reader", ["mark", "alan-ning", "nick-heiner", "raven", "sandra"]),
        ("eFolder", ["alex", "alan-ning", "nick-heiner", "raven", "sandra"]),
        ("Hearings Prep", ["sharon", "alan-ning", "nick-heiner", "raven", "sandra"]),
    ],
)
def test_data_corruption_pings_everyone_immediately(
    policy: Policy, app: str, contacts: list[str]
) -> None:
    category = next(c for c in policy.impact_categories if c.name == "data-corruption")
    assert category.all_at_once is True
    assert category.level == MAJOR
    assert contacts_for(policy, "data-corruption", app) == contacts


@pytest.mark.parametrize(
    ("handle", "name", "title"),
    [
        ("alan-ning", "Alan Ning", "DevOps lead"),
        ("nick-heiner", "Nick Heiner", "Project tech lead"),
        ("raven", "Raven", "Product Support Team"),
        ("sandra", "Sandra", "Product Support Team"),
    ],
)
def test_the_people_to_ping_are_named(policy: Policy, handle: str, name: str, title: str) -> None:
    person = next(p for p in policy.people if p.handle == handle)
    assert (person.name, person.title) == (name, title)


@pytest.mark.parametrize(
    ("category", "app", "contacts"),
    [("not-sure", "Dispatch", ["sharon"]), ("annoying-to-users", "Reader", ["mark"])],
)
def test_lesser_impacts_go_to_the_owning_tech_lead_only(
    policy: Policy, category: str, app: str, contacts: list[str]
) -> None:
    assert contacts_for(policy, category, app) == contacts


# -- tickets and post mortems ----------------------------------------------------------------


def test_labels_prod_alert_and_post_mortem_are_defined(policy: Policy) -> None:
    assert {"prod-alert", "post-mortem"} <= {label.name for label in policy.labels}


@pytest.mark.parametrize(
    ("current", "allowed"),
    [
        ("open", ["in_progress", "closed"]),
        ("in_progress", ["open", "closed"]),
        ("closed", ["open"]),
    ],
)
def test_post_mortem_issue_moves(policy: Policy, current: str, allowed: list[str]) -> None:
    assert allowed_next(policy.workflows.ticket, current) == allowed


def test_a_post_mortem_issue_is_moved_to_in_progress(policy: Policy) -> None:
    ticket = policy.workflows.ticket
    assert initial_state(ticket, None).name == "open"
    assert check_move(ticket, "open", "in_progress").title == "In Progress"
    assert check_move(ticket, "in_progress", "closed").open is False


def test_a_closed_issue_must_reopen_before_in_progress(policy: Policy) -> None:
    with pytest.raises(TransitionRefused) as refused:
        check_move(policy.workflows.ticket, "closed", "in_progress")
    assert refused.value.allowed == ["open"]


def test_nothing_lowers_an_impact(policy: Policy) -> None:
    assert [policy.downgrades_from(level.name) for level in policy.levels] == [[], [], []]


# -- prod squad ------------------------------------------------------------------------------


def test_two_people_are_on_prod_squad(policy: Policy) -> None:
    kind = incident_type(policy, None)
    holders = {"prod_squad_primary": "ana"}
    with pytest.raises(RoleConstraintBroken):
        check_assignment(policy, kind, holders, "prod_squad_secondary", "ana")
    check_assignment(policy, kind, holders, "prod_squad_secondary", "ben")


def test_the_prod_squad_member_may_lead_the_post_mortem(policy: Policy) -> None:
    kind = incident_type(policy, None)
    assert lead_role(kind) == "prod_squad_primary"
    assert kind.declarer_role == "post_mortem_lead"
    check_assignment(policy, kind, {"prod_squad_primary": "ana"}, "post_mortem_lead", "ana")


def test_a_role_the_seed_does_not_name_is_refused(policy: Policy) -> None:
    with pytest.raises(UnknownRole):
        check_assignment(policy, incident_type(policy, None), {}, "scribe", "ana")

"""Meltano's outages and escalation practice, rule by rule.

Seed: shared/seeds/004_5052860858eb7f21.txt; preset: src/fireline/policy/presets/meltano.yaml.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fireline.clock.business import BusinessCalendar
from fireline.incidents.roles import (
    UnknownIncidentType,
    check_assignment,
    incident_type,
    lead_role,
)
from fireline.policy.load import load_preset
from fireline.policy.schema import Paging, Policy
from fireline.policy.targets import Target, TargetKind
from fireline.triage.classify import classify, labels_from_list, level_from_labels

SPONSORS = {
    "sponsor_engineering": "seth-turner",
    "sponsor_legal": "richard-baum",
    "sponsor_hr": "nichole-garrett",
    "sponsor_marketing": "douwe-maan",
    "sponsor_c_suite": "douwe-maan",
}


@pytest.fixture(scope="module")
def policy() -> Policy:
    return load_preset("meltano")


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# -- priority labels -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "rank", "aliases"),
    [
        ("highest", 1, ["priority::highest", "urgency::highest"]),
        ("higher", 2, ["priority::higher"]),
        ("high", 3, ["priority::high"]),
    ],
)
def test_broadly_impacting_bugs_carry_a_priority_label(
    policy: Policy, level: str, rank: int, aliases: list[str]
) -> None:
    chosen = policy.level(level)
    assert (chosen.rank, chosen.aliases) == (rank, aliases)


@pytest.mark.parametrize(
    ("labels", "level"),
    [
        (["priority::highest"], "highest"),
        (["urgency::highest"], "highest"),
        (["priority::higher"], "higher"),
        (["priority::high"], "high"),
        (["priority::high", "priority::higher"], "higher"),
        (["priority::high", "urgency::highest"], "highest"),
        (["upstream"], None),
        (["priority::low"], None),
    ],
)
def test_the_label_names_the_level(policy: Policy, labels: list[str], level: str | None) -> None:
    assert level_from_labels(policy, labels) == level


def test_priority_highest_is_alerted_asap_and_resolved_within_24_hours(policy: Policy) -> None:
    highest = policy.level("highest")
    assert highest.response == Target(TargetKind.immediately)
    assert highest.resolution == Target(TargetKind.hours, 24)
    assert highest.paging is Paging.interrupt


@pytest.mark.parametrize(
    ("identified", "due"),
    [
        pytest.param(at(2026, 5, 15, 20), at(2026, 5, 16, 20), id="friday-night-into-saturday"),
        pytest.param(at(2026, 12, 24, 23, 30), at(2026, 12, 25, 23, 30), id="over-christmas"),
        pytest.param(at(2026, 3, 10, 9), at(2026, 3, 11, 9), id="working-day"),
    ],
)
def test_24_hours_is_wall_clock_time_not_business_time(
    policy: Policy, identified: datetime, due: datetime
) -> None:
    resolution = policy.level("highest").resolution
    assert resolution is not None
    assert BusinessCalendar.from_policy(policy.calendar).due_by(resolution, identified) == due


@pytest.mark.parametrize("level", ["higher", "high"])
def test_lower_priorities_have_no_target_in_the_seed(policy: Policy, level: str) -> None:
    chosen = policy.level(level)
    assert (chosen.response, chosen.resolution) == (None, None)


def test_nothing_lowers_a_priority(policy: Policy) -> None:
    assert all(policy.downgrades_from(level.name) == [] for level in policy.levels)


# -- classification --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "level", "rule"),
    [
        (["priority::highest"], "highest", "priority-highest"),
        (["urgency::highest"], "highest", "urgency-highest"),
        (["priority::higher"], "higher", "priority-higher"),
        (["priority::high"], "high", "priority-high"),
        (
            ["symptom::security-vulnerability", "release::latest"],
            "highest",
            "security-vulnerability-in-latest-release",
        ),
        (["symptom::security-vulnerability", "release::prior"], None, None),
        (
            ["symptom::pipelines-regressed", "release::latest"],
            "highest",
            "pipelines-fail-in-new-release",
        ),
        (
            ["priority::high", "symptom::pipelines-regressed", "release::latest"],
            "highest",
            "pipelines-fail-in-new-release",
        ),
        (["upstream"], None, None),
        (["type::bug"], None, None),
    ],
)
def test_critical_bugs_classify_as_highest(
    policy: Policy, labels: list[str], level: str | None, rule: str | None
) -> None:
    verdict = classify(policy, {}, labels_from_list(labels))
    assert (verdict.level, verdict.rule) == (level, rule)


def test_the_preset_passes_its_own_examples(policy: Policy) -> None:
    failing = [
        example.name
        for example in policy.classification.examples
        if classify(policy, example.signals, example.labels).level != example.expect
    ]
    assert failing == []


# -- outages and bugs ------------------------------------------------------------------------


def test_two_issue_types_outages_and_bugs(policy: Policy) -> None:
    assert [t.name for t in policy.issue_types] == ["outage", "bug"]


@pytest.mark.parametrize(
    "example",
    [
        "meltano.com website is down.",
        "hub.meltano.com website is down.",
        "discovery.yml web endpoint is down.",
        "Discovery API service is down.",
        "pipx install meltano is failing for any reason - including upstream package dependency "
        "breakages, PyPI outages, etc.",
    ],
)
def test_examples_of_outages(policy: Policy, example: str) -> None:
    assert example in next(t for t in policy.issue_types if t.name == "outage").examples


@pytest.mark.parametrize(
    ("issue_type", "notify", "default_level"),
    [("outage", True, "highest"), ("bug", False, None)],
)
def test_outages_notify_users_and_are_handled_like_critical_bugs(
    policy: Policy, issue_type: str, notify: bool, default_level: str | None
) -> None:
    chosen = next(t for t in policy.issue_types if t.name == issue_type)
    assert (chosen.notify_users, chosen.default_level) == (notify, default_level)


def test_a_bug_that_is_not_broadly_impacting_gets_no_level(policy: Policy) -> None:
    assert policy.classification.default_level is None


def test_upstream_failures_are_labelled(policy: Policy) -> None:
    assert "upstream" in {label.name for label in policy.labels}
    assert labels_from_list(["upstream"]) == {"upstream": ""}


def test_always_tag_taylor_and_will_when_a_critical_bug_is_identified(policy: Policy) -> None:
    (category,) = policy.impact_categories
    assert (category.level, category.contacts, category.all_at_once) == (
        "highest",
        ["taylor", "will-da-silva"],
        True,
    )
    names = {p.handle: p.name for p in policy.people}
    assert [names[c] for c in category.contacts] == ["Taylor", "Will Da Silva"]


# -- security incidents ----------------------------------------------------------------------


def test_security_incidents_are_private(policy: Policy) -> None:
    assert incident_type(policy, "security").private is True
    assert incident_type(policy, None).name == "production"
    assert incident_type(policy, None).private is False


def test_the_on_call_engineer_leads_a_security_incident(policy: Policy) -> None:
    kind = incident_type(policy, "security")
    assert lead_role(kind) == "on_call_engineer"
    assert "Information Security Manager (ISM)" in (
        next(r for r in policy.roles if r.name == "on_call_engineer").description
    )


@pytest.mark.parametrize(("role", "handle"), sorted(SPONSORS.items()))
def test_management_sponsors_are_assigned_at_declaration(
    policy: Policy, role: str, handle: str
) -> None:
    assert incident_type(policy, "security").assignees[role] == handle


@pytest.mark.parametrize(
    ("handle", "name", "title"),
    [
        ("seth-turner", "Seth Turner", "Senior Engineering Manager"),
        ("richard-baum", "Richard E. Baum", "Head of Operations"),
        ("nichole-garrett", "Nichole Garrett", "Senior Talent Partner"),
        ("douwe-maan", "Douwe Maan", "CEO"),
    ],
)
def test_sponsors_are_named_people(policy: Policy, handle: str, name: str, title: str) -> None:
    person = next(p for p in policy.people if p.handle == handle)
    assert (person.name, person.title) == (name, title)


def test_douwe_maan_may_be_both_marketing_and_c_suite_sponsor(policy: Policy) -> None:
    kind = incident_type(policy, "security")
    holders = {"sponsor_marketing": "douwe-maan"}
    check_assignment(policy, kind, holders, "sponsor_c_suite", "douwe-maan")


def test_sponsor_roles_belong_to_security_incidents_only(policy: Policy) -> None:
    assert "sponsor_legal" not in incident_type(policy, "production").roles
    with pytest.raises(UnknownIncidentType):
        incident_type(policy, "outage")

"""Classification: signals and labels → a level, naming the rule that fired."""

from __future__ import annotations

import math
from typing import Any

import pytest

from fireline.policy.load import load_preset, parse_policy, preset_names
from fireline.policy.schema import Condition, Policy
from fireline.triage.classify import (
    Verdict,
    classify,
    holds,
    incident_criteria_met,
    labels_from_list,
    level_from_labels,
    matches,
)

BASE = """\
fireline: 1
name: classify-me
calendar: {timezone: UTC}
levels:
  - {name: SEV1, rank: 1, title: Critical, aliases: ["priority::highest", critical]}
  - {name: SEV2, rank: 2, title: Major, aliases: ["priority::high"]}
  - {name: SEV3, rank: 3, title: Minor}
incidents:
  types: [{name: default, roles: [lead]}]
workflows:
  ticket:
    initial: open
    states: [{name: open}, {name: closed, open: false}]
    transitions: [{from: open, to: closed}]
  incident:
    initial: active
    states: [{name: active}, {name: resolved, open: false}]
    transitions: [{from: active, to: resolved}]
roles: [{name: lead}]
"""


def policy_with(section: str) -> Policy:
    """The base policy plus a `classification:` or `incidents:`-free extra section."""
    return parse_policy(BASE + section, "classify.yaml")


def condition(**fields: Any) -> Condition:
    return Condition.model_validate(fields)


# -- numeric conditions -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("test", "threshold", "value", "expected"),
    [
        ("gt", 5, 5.01, True),
        ("gt", 5, 5, False),
        ("gte", 5, 5, True),
        ("gte", 5, 4.99, False),
        ("lt", 0.5, 0.49, True),
        ("lt", 0.5, 0.5, False),
        ("lte", 0.5, 0.5, True),
        ("lte", 0.5, 0.51, False),
        ("eq", 3, 3.0, True),
        ("eq", 3, 3.5, False),
        ("gt", -1, 0, True),
        ("lt", 0, -0.5, True),
    ],
)
def test_signal_comparisons_at_their_boundaries(
    test: str, threshold: float, value: float, expected: bool
) -> None:
    assert holds(condition(signal="latency", **{test: threshold}), {"latency": value}, {}) is (
        expected
    )


@pytest.mark.parametrize("test", ["gt", "gte", "lt", "lte", "eq"])
def test_a_missing_signal_never_matches(test: str) -> None:
    assert not holds(condition(signal="latency", **{test: 0}), {"other": 0}, {})


@pytest.mark.parametrize("test", ["gt", "gte", "lt", "lte", "eq"])
def test_a_nan_signal_never_matches(test: str) -> None:
    assert not holds(condition(signal="latency", **{test: 0}), {"latency": math.nan}, {})


@pytest.mark.parametrize(
    ("signals", "expected"),
    [
        pytest.param({"now": 2.5, "then": 0.5}, True, id="five-times"),
        pytest.param({"now": 2.0, "then": 0.5}, False, id="four-times"),
        pytest.param({"now": 2.5, "then": 0}, False, id="zero-baseline"),
        pytest.param({"now": 2.5, "then": 0.0}, False, id="zero-float-baseline"),
        pytest.param({"now": 2.5}, False, id="missing-baseline"),
        pytest.param({"then": 0.5}, False, id="missing-numerator"),
        pytest.param({"now": 0, "then": 0.5}, False, id="zero-numerator-is-a-ratio-of-zero"),
        pytest.param({"now": -5, "then": -1}, True, id="negative-over-negative"),
    ],
)
def test_ratio_against_a_baseline(signals: dict[str, float], expected: bool) -> None:
    five_times = condition(ratio={"of": "now", "to": "then"}, gte=5)
    assert holds(five_times, signals, {}) is expected


def test_a_zero_numerator_does_meet_a_lower_bound_ratio() -> None:
    at_most_half = condition(ratio={"of": "errors", "to": "requests"}, lte=0.5)
    assert holds(at_most_half, {"errors": 0, "requests": 10}, {})


# -- label conditions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("test", "labels", "expected"),
    [
        pytest.param({"equals": "db"}, {"component": "db"}, True, id="equals"),
        pytest.param({"equals": "db"}, {"component": "dB"}, False, id="equals-is-case-sensitive"),
        pytest.param({"equals": "db"}, {}, False, id="equals-missing"),
        pytest.param({"one_of": ["db", "api"]}, {"component": "api"}, True, id="one-of"),
        pytest.param({"one_of": ["db", "api"]}, {"component": "web"}, False, id="none-of"),
        pytest.param({"one_of": ["db"]}, {}, False, id="one-of-missing"),
        pytest.param({"present": True}, {"component": ""}, True, id="present-bare"),
        pytest.param({"present": True}, {"component": "x"}, True, id="present-valued"),
        pytest.param({"present": True}, {"other": "x"}, False, id="present-missing"),
        pytest.param({"present": False}, {"component": "x"}, False, id="absent-but-there"),
        pytest.param({"present": False}, {"other": "x"}, True, id="absent"),
        pytest.param({"present": False}, {}, True, id="absent-no-labels"),
    ],
)
def test_label_conditions(test: dict[str, Any], labels: dict[str, str], expected: bool) -> None:
    assert holds(condition(label="component", **test), {}, labels) is expected


# -- rules --------------------------------------------------------------------------------------

RULES = """\
classification:
  rules:
    - name: slow
      level: SEV3
      when: [{signal: latency, gt: 1}]
    - name: slow-and-failing
      level: SEV2
      when: [{signal: latency, gt: 1}, {signal: errors, gt: 0.1}]
    - name: down-or-paged
      level: SEV1
      match: any
      when: [{signal: availability, lt: 0.5}, {label: page, present: true}]
    - name: very-slow
      level: SEV3
      when: [{signal: latency, gt: 10}]
    - name: errors-alone
      level: SEV2
      when: [{signal: errors, gt: 0.1}]
"""


@pytest.fixture(scope="module")
def ruled() -> Policy:
    return policy_with(RULES)


@pytest.mark.parametrize(
    ("signals", "labels", "level", "rule", "fired"),
    [
        pytest.param({}, {}, None, None, (), id="nothing-fires"),
        pytest.param({"latency": 2}, {}, "SEV3", "slow", ("slow",), id="one-rule"),
        pytest.param(
            {"latency": 2, "errors": 0.2},
            {},
            "SEV2",
            "slow-and-failing",
            ("slow", "slow-and-failing", "errors-alone"),
            id="all-conditions-and-the-higher-level-wins",
        ),
        pytest.param(
            {"latency": 20},
            {},
            "SEV3",
            "slow",
            ("slow", "very-slow"),
            id="tie-goes-to-the-rule-written-first",
        ),
        pytest.param(
            {"errors": 0.2},
            {},
            "SEV2",
            "errors-alone",
            ("errors-alone",),
            id="all-needs-every-condition",
        ),
        pytest.param(
            {"availability": 0.9},
            {"page": ""},
            "SEV1",
            "down-or-paged",
            ("down-or-paged",),
            id="any-needs-one-condition",
        ),
        pytest.param(
            {"availability": 0.1, "latency": 20, "errors": 1},
            {},
            "SEV1",
            "down-or-paged",
            ("slow", "slow-and-failing", "down-or-paged", "very-slow", "errors-alone"),
            id="most-severe-wins-though-written-later",
        ),
        pytest.param({"availability": 0.9}, {}, None, None, (), id="any-with-none-holding"),
    ],
)
def test_the_most_severe_matching_rule_wins(
    ruled: Policy,
    signals: dict[str, float],
    labels: dict[str, str],
    level: str | None,
    rule: str | None,
    fired: tuple[str, ...],
) -> None:
    assert classify(ruled, signals, labels) == Verdict(level, rule, fired)


def test_labels_are_optional_when_classifying(ruled: Policy) -> None:
    assert classify(ruled, {"latency": 2}).rule == "slow"


def test_a_verdict_explains_itself(ruled: Policy) -> None:
    assert classify(ruled, {"latency": 2}).explanation == "SEV3 by rule 'slow'"
    assert classify(ruled, {}).explanation == "no rule fired"


def test_matches_all_and_any(ruled: Policy) -> None:
    both = ruled.classification.rules[1]
    either = ruled.classification.rules[2]
    assert matches(both, {"latency": 2, "errors": 0.2}, {})
    assert not matches(both, {"latency": 2}, {})
    assert matches(either, {"availability": 0.1}, {})
    assert matches(either, {}, {"page": "yes"})
    assert not matches(either, {"availability": 0.6}, {"other": "x"})


def test_incident_criteria_met_lists_the_criteria_a_ticket_meets() -> None:
    policy = parse_policy(
        BASE.replace(
            "  types: [{name: default, roles: [lead]}]\n",
            "  types: [{name: default, roles: [lead]}]\n"
            "  criteria:\n"
            "    - {name: users-locked-out, when: [{label: symptom, equals: login}]}\n"
            "    - {name: data-loss, match: any, when: [{signal: lost_rows, gt: 0},"
            " {label: symptom, equals: data-loss}], severity: SEV1}\n",
        ),
        "criteria.yaml",
    )
    met = incident_criteria_met(policy, {"lost_rows": 3}, {"symptom": "login"})
    assert [c.name for c in met] == ["users-locked-out", "data-loss"]
    assert incident_criteria_met(policy, {"lost_rows": 0}, {"symptom": "slow"}) == []


# -- every example a preset gives is a test ------------------------------------------------------


def _preset_examples() -> list[Any]:
    params = []
    for name in preset_names():
        for index, example in enumerate(load_preset(name).classification.examples):
            params.append(pytest.param(name, index, id=f"{name}-{index}-{example.name}"))
    return params


@pytest.mark.parametrize(("preset", "index"), _preset_examples())
def test_preset_examples_classify_as_their_policy_says(preset: str, index: int) -> None:
    policy = load_preset(preset)
    example = policy.classification.examples[index]
    verdict = classify(policy, example.signals, example.labels)
    assert verdict.level == example.expect, verdict.explanation
    if example.expect_rule is not None:
        assert verdict.rule == example.expect_rule


def test_hail_has_examples_to_check() -> None:
    assert len(load_preset("hail").classification.examples) >= 20


# -- labels -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        pytest.param(["team=payments"], {"team": "payments"}, id="key-equals-value"),
        pytest.param(["priority::high"], {"priority": "high"}, id="gitlab-scoped"),
        pytest.param(["flaky"], {"flaky": ""}, id="bare-label-is-present"),
        pytest.param([" team = payments "], {"team": "payments"}, id="spaces-trimmed"),
        pytest.param(["a::b::c"], {"a": "b::c"}, id="nested-scope-keeps-the-rest"),
        pytest.param(["url=a=b"], {"url": "a=b"}, id="first-equals-splits"),
        pytest.param(["team=a", "team=b"], {"team": "b"}, id="last-value-wins"),
        pytest.param([], {}, id="no-labels"),
    ],
)
def test_labels_from_list(labels: list[str], expected: dict[str, str]) -> None:
    assert labels_from_list(labels) == expected


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        pytest.param(["SEV2"], "SEV2", id="level-name"),
        pytest.param(["priority::high"], "SEV2", id="alias"),
        pytest.param(["priority::high", "critical"], "SEV1", id="most-severe-first"),
        pytest.param(["SEV3", "priority::highest"], "SEV1", id="alias-beats-less-severe-name"),
        pytest.param(["priority::low", "bug"], None, id="nothing-known"),
        pytest.param(["sev2"], None, id="names-are-case-sensitive"),
        pytest.param([], None, id="no-labels"),
    ],
)
def test_level_from_labels(labels: list[str], expected: str | None) -> None:
    assert level_from_labels(policy_with(""), labels) == expected

"""Signals and labels → a level, naming the rule that fired. The most severe match wins."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from fireline.policy.schema import Condition, Criterion, Policy, Rule

Signals = Mapping[str, float]
Labels = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Verdict:
    level: str | None
    rule: str | None
    fired: tuple[str, ...] = ()

    @property
    def explanation(self) -> str:
        if self.level is None:
            return "no rule fired"
        return f"{self.level} by rule {self.rule!r}"


def labels_from_list(labels: Iterable[str]) -> dict[str, str]:
    """Ticket labels as a mapping: `k=v`, GitLab's scoped `k::v`, or a bare `k` (present)."""
    mapping: dict[str, str] = {}
    for label in labels:
        # The separator that comes first wins: `k=v::w` is k → `v::w`.
        found = [(label.find(s), s) for s in ("::", "=") if s in label]
        if found:
            _, separator = min(found)
            key, _, value = label.partition(separator)
            mapping[key.strip()] = value.strip()
        else:
            mapping[label.strip()] = ""
    return mapping


def _compare(condition: Condition, value: float) -> bool:
    if math.isnan(value):
        return False
    if condition.gt is not None:
        return value > condition.gt
    if condition.gte is not None:
        return value >= condition.gte
    if condition.lt is not None:
        return value < condition.lt
    if condition.lte is not None:
        return value <= condition.lte
    return condition.eq is not None and value == condition.eq


def holds(condition: Condition, signals: Signals, labels: Labels) -> bool:
    """Whether one condition holds; a missing signal or a zero baseline never matches."""
    if condition.signal is not None:
        return condition.signal in signals and _compare(condition, signals[condition.signal])
    if condition.ratio is not None:
        numerator = signals.get(condition.ratio.of)
        baseline = signals.get(condition.ratio.to)
        if numerator is None or not baseline:
            return False
        return _compare(condition, numerator / baseline)
    assert condition.label is not None
    if condition.present is not None:
        return (condition.label in labels) == condition.present
    if condition.label not in labels:
        return False
    value = labels[condition.label]
    if condition.equals is not None:
        return value == condition.equals
    return condition.one_of is not None and value in condition.one_of


def matches(rule: Rule | Criterion, signals: Signals, labels: Labels) -> bool:
    results = (holds(condition, signals, labels) for condition in rule.when)
    return all(results) if rule.match == "all" else any(results)


def classify(policy: Policy, signals: Signals, labels: Labels | None = None) -> Verdict:
    """The most severe level whose rule matches; ties go to the rule written first."""
    labels = labels or {}
    ranks = {level.name: level.rank for level in policy.levels}
    fired = [rule for rule in policy.classification.rules if matches(rule, signals, labels)]
    if not fired:
        return Verdict(None, None)
    best = min(fired, key=lambda rule: ranks[rule.level])
    return Verdict(best.level, best.name, tuple(rule.name for rule in fired))


def incident_criteria_met(policy: Policy, signals: Signals, labels: Labels) -> list[Criterion]:
    """The policy's incident criteria that this ticket meets (2i2c: users can't log in)."""
    return [c for c in policy.incidents.criteria if matches(c, signals, labels)]


def level_from_labels(policy: Policy, labels: Iterable[str]) -> str | None:
    """A level named by a label or an alias (Meltano's `priority::highest`), most severe first."""
    named = set(labels)
    for level in sorted(policy.levels, key=lambda lv: lv.rank):
        if level.name in named or named.intersection(level.aliases):
            return level.name
    return None

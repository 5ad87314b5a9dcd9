"""Checks that need the whole policy: every name a policy uses must be one it defines."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import holidays

from fireline.policy.schema import TECH_LEAD, Condition, Policy, Workflow

Problem = tuple[tuple[str | int, ...], str]


def _duplicates(
    names: Iterable[str], path: tuple[str | int, ...], what: str, field: str = "name"
) -> Iterator[Problem]:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            yield (*path, index, field), f"duplicate {what} {name!r}"
        seen.add(name)


def _unknown(value: str, known: Iterable[str], what: str) -> str:
    return f"unknown {what} {value!r}; known: {', '.join(sorted(known)) or '(none)'}"


def _workflow_problems(workflow: Workflow, path: tuple[str | int, ...]) -> Iterator[Problem]:
    names = [s.name for s in workflow.states]
    yield from _duplicates(names, (*path, "states"), "state")
    for index, state in enumerate(workflow.initial):
        if state not in names:
            yield (*path, "initial", index), _unknown(state, names, "state")
    for index, transition in enumerate(workflow.transitions):
        if transition.source not in names:
            yield (*path, "transitions", index, "from"), _unknown(transition.source, names, "state")
        for target_index, target in enumerate(transition.targets):
            if target not in names:
                yield (
                    (*path, "transitions", index, "to", target_index),
                    _unknown(target, names, "state"),
                )
    if all(s.open for s in workflow.states):
        yield (*path, "states"), "a workflow needs at least one closed state (open: false)"


def _condition_problems(
    conditions: list[Condition], path: tuple[str | int, ...]
) -> Iterator[Problem]:
    for index, condition in enumerate(conditions):
        if condition.ratio is not None and condition.ratio.of == condition.ratio.to:
            yield (*path, index, "ratio"), "a ratio needs two different signals"


def find_reference_problems(policy: Policy) -> list[Problem]:
    return list(_problems(policy))


def _problems(policy: Policy) -> Iterator[Problem]:
    levels = [level.name for level in policy.levels]
    ranks = {level.name: level.rank for level in policy.levels}
    people = [person.handle for person in policy.people]
    roles = [role.name for role in policy.roles]

    holiday_rules = policy.calendar.holidays
    if holiday_rules.country is not None:
        supported = holidays.list_supported_countries()
        if holiday_rules.country not in supported:
            yield (
                ("calendar", "holidays", "country"),
                (f"unknown country {holiday_rules.country!r} for holidays (ISO 3166 alpha-2)"),
            )
        elif (
            holiday_rules.subdivision
            and holiday_rules.subdivision not in supported[holiday_rules.country]
        ):
            yield (
                ("calendar", "holidays", "subdivision"),
                (f"unknown subdivision {holiday_rules.subdivision!r} of {holiday_rules.country}"),
            )
    elif holiday_rules.subdivision is not None:
        yield ("calendar", "holidays", "subdivision"), "a subdivision needs a country"

    yield from _duplicates(levels, ("levels",), "level")
    yield from _duplicates(
        [str(level.rank) for level in policy.levels], ("levels",), "rank", "rank"
    )
    aliases = [alias for level in policy.levels for alias in level.aliases]
    if len(set(aliases)) != len(aliases):
        yield ("levels",), "a level alias is used by two levels"

    default_level = policy.classification.default_level
    if default_level is not None and default_level not in levels:
        yield ("classification", "default_level"), _unknown(default_level, levels, "level")
    rules = [rule.name for rule in policy.classification.rules]
    yield from _duplicates(rules, ("classification", "rules"), "rule")
    for index, rule in enumerate(policy.classification.rules):
        path = ("classification", "rules", index)
        if rule.level not in levels:
            yield (*path, "level"), _unknown(rule.level, levels, "level")
        yield from _condition_problems(rule.when, (*path, "when"))
    for index, example in enumerate(policy.classification.examples):
        path = ("classification", "examples", index)
        if example.expect is not None and example.expect not in levels:
            yield (*path, "expect"), _unknown(example.expect, levels, "level")
        if example.expect_rule is not None and example.expect_rule not in rules:
            yield (*path, "expect_rule"), _unknown(example.expect_rule, rules, "rule")

    yield from _duplicates([t.name for t in policy.issue_types], ("issue_types",), "issue type")
    for index, issue_type in enumerate(policy.issue_types):
        if issue_type.default_level is not None and issue_type.default_level not in levels:
            yield (
                ("issue_types", index, "default_level"),
                _unknown(issue_type.default_level, levels, "level"),
            )

    incidents = policy.incidents
    for index, criterion in enumerate(incidents.criteria):
        path = ("incidents", "criteria", index)
        if criterion.severity is not None and criterion.severity not in levels:
            yield (*path, "severity"), _unknown(criterion.severity, levels, "level")
        yield from _condition_problems(criterion.when, (*path, "when"))
    if incidents.default_severity is not None and incidents.default_severity not in levels:
        yield (
            ("incidents", "default_severity"),
            _unknown(incidents.default_severity, levels, "level"),
        )
    type_names = [t.name for t in incidents.types]
    yield from _duplicates(type_names, ("incidents", "types"), "incident type")
    if incidents.default_type is not None and incidents.default_type not in type_names:
        yield (
            ("incidents", "default_type"),
            _unknown(incidents.default_type, type_names, "incident type"),
        )
    distinct_sets = [set(c.distinct) for c in policy.role_constraints]
    for index, incident_type in enumerate(incidents.types):
        path = ("incidents", "types", index)
        for role_index, role in enumerate(incident_type.roles):
            if role not in roles:
                yield (*path, "roles", role_index), _unknown(role, roles, "role")
        if incident_type.lead_role is not None and incident_type.lead_role not in (
            incident_type.roles
        ):
            yield (
                (*path, "lead_role"),
                _unknown(incident_type.lead_role, incident_type.roles, "role of this type"),
            )
        if incident_type.declarer_role is not None and incident_type.declarer_role not in (
            incident_type.roles
        ):
            yield (
                (*path, "declarer_role"),
                _unknown(incident_type.declarer_role, incident_type.roles, "role of this type"),
            )
        for role, handle in incident_type.assignees.items():
            if role not in incident_type.roles:
                yield (
                    (*path, "assignees", role),
                    _unknown(role, incident_type.roles, "role of this type"),
                )
            if handle not in people:
                yield (*path, "assignees", role), _unknown(handle, people, "person")
        for distinct in distinct_sets:
            holders = [h for r, h in incident_type.assignees.items() if r in distinct]
            if len(holders) != len(set(holders)):
                yield (
                    (*path, "assignees"),
                    (f"one person holds roles that must be distinct: {sorted(distinct)}"),
                )

    yield from _workflow_problems(policy.workflows.ticket, ("workflows", "ticket"))
    yield from _workflow_problems(policy.workflows.incident, ("workflows", "incident"))

    for index, downgrade in enumerate(policy.mitigation.downgrades):
        path = ("mitigation", "downgrades", index)
        known = True
        for field, level in (("from", downgrade.source), ("to", downgrade.target)):
            if level not in levels:
                known = False
                yield (*path, field), _unknown(level, levels, "level")
        if known and ranks[downgrade.target] <= ranks[downgrade.source]:
            yield (
                (*path, "to"),
                (
                    f"mitigation lowers a priority: {downgrade.target} "
                    f"is not below {downgrade.source}"
                ),
            )

    yield from _duplicates(people, ("people",), "person", "handle")
    yield from _duplicates(roles, ("roles",), "role")
    for index, constraint in enumerate(policy.role_constraints):
        for role_index, role in enumerate(constraint.distinct):
            if role not in roles:
                yield (
                    ("role_constraints", index, "distinct", role_index),
                    _unknown(role, roles, "role"),
                )
    yield from _duplicates([label.name for label in policy.labels], ("labels",), "label")

    teams = [team.name for team in policy.ownership.teams]
    yield from _duplicates(teams, ("ownership", "teams"), "team")
    for index, team in enumerate(policy.ownership.teams):
        if team.tech_lead not in people:
            yield (
                ("ownership", "teams", index, "tech_lead"),
                _unknown(team.tech_lead, people, "person"),
            )
    services = [entry.service for entry in policy.ownership.services]
    yield from _duplicates(services, ("ownership", "services"), "service", "service")
    for index, entry in enumerate(policy.ownership.services):
        if entry.team not in teams:
            yield ("ownership", "services", index, "team"), _unknown(entry.team, teams, "team")
    if policy.ownership.catch_all is not None and policy.ownership.catch_all not in teams:
        yield ("ownership", "catch_all"), _unknown(policy.ownership.catch_all, teams, "team")

    categories = [category.name for category in policy.impact_categories]
    yield from _duplicates(categories, ("impact_categories",), "impact category")
    for index, category in enumerate(policy.impact_categories):
        for label_index, label in enumerate(category.labels):
            named = [c.name for c in policy.impact_categories if c.named_by(label)]
            if len(named) > 1:
                yield (
                    ("impact_categories", index, "labels", label_index),
                    f"impact {label!r} names two categories: {', '.join(named)}",
                )
        for contact_index, contact in enumerate(category.contacts):
            if contact != TECH_LEAD and contact not in people:
                yield (
                    ("impact_categories", index, "contacts", contact_index),
                    _unknown(contact, [*people, TECH_LEAD], "person"),
                )
        if category.level is not None and category.level not in levels:
            yield ("impact_categories", index, "level"), _unknown(category.level, levels, "level")

    yield from _alert_problems(policy)


FINGERPRINT_FIELDS = ("service", "title", "source", "severity", "labels")


def _alert_problems(policy: Policy) -> Iterator[Problem]:
    alerts = policy.alerts
    for index, name in enumerate(alerts.fingerprint):
        if name not in FINGERPRINT_FIELDS and not name.startswith("labels."):
            yield (
                ("alerts", "fingerprint", index),
                _unknown(name, [*FINGERPRINT_FIELDS, "labels.NAME"], "alert field"),
            )
    levels = [level.name for level in policy.levels]
    for severity, level in alerts.levels_by_severity.items():
        if level not in levels:
            yield ("alerts", "levels_by_severity", severity), _unknown(level, levels, "level")
    states = {state.name: state for state in policy.workflows.ticket.states}
    if alerts.on_resolved == "resolve" and alerts.resolve_to is None:
        yield ("alerts", "resolve_to"), "on_resolved: resolve needs resolve_to, a closed state"
    if alerts.resolve_to is not None:
        state = states.get(alerts.resolve_to)
        if state is None:
            yield ("alerts", "resolve_to"), _unknown(alerts.resolve_to, states, "ticket state")
        elif state.open:
            yield ("alerts", "resolve_to"), f"{state.name!r} is an open state; name a closed one"

"""Loading a policy: every problem names the file, the line and the field it is about."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from fireline.policy.errors import PolicyInvalid, PolicyProblem, UnknownPreset
from fireline.policy.load import (
    load_policy_file,
    load_preset,
    parse_policy,
    preset_names,
    preset_text,
)
from fireline.policy.schema import Policy
from fireline.policy.targets import Target, TargetKind

# A small valid policy; the tests below each break one numbered line of it.
TINY = """\
fireline: 1
name: tiny
calendar:
  timezone: Europe/Berlin
  working_hours: {start: "09:00", end: "17:00"}
  holidays: {country: DE, subdivision: BY}
levels:
  - {name: P1, rank: 1, title: Urgent, response: immediately}
  - {name: P2, rank: 2, title: Soon, response: 3 business days}
  - {name: P3, rank: 3, title: Later, resolution: 20 business days}
classification:
  rules:
    - name: big
      level: P1
      when: [{signal: errors, gt: 100}]
incidents:
  types:
    - name: default
      roles: [commander, scribe]
      assignees: {}
workflows:
  ticket:
    initial: open
    states: [{name: open}, {name: closed, open: false}]
    transitions: [{from: open, to: closed}]
  incident:
    initial: active
    states: [{name: active}, {name: resolved, open: false}]
    transitions: [{from: active, to: resolved}]
mitigation:
  downgrades: [{from: P1, to: P2}]
people:
  - {handle: ana, name: Ana}
  - {handle: bo, name: Bo}
roles:
  - {name: commander}
  - {name: scribe}
role_constraints:
  - distinct: [commander, scribe]
"""


def tiny_with(line: int, expected: str, replacement: str) -> str:
    """TINY with its `line` (1-based, which must read `expected`) replaced."""
    lines = TINY.splitlines()
    assert lines[line - 1].strip() == expected.strip(), lines[line - 1]
    lines[line - 1] = replacement
    return "\n".join(lines) + "\n"


def only_problem(text: str, file: str = "team.yaml") -> PolicyProblem:
    with pytest.raises(PolicyInvalid) as raised:
        parse_policy(text, file)
    problems = raised.value.problems
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def assert_problem(problem: PolicyProblem, line: int, field: str, message: str) -> None:
    assert (problem.file, problem.line, problem.field) == ("team.yaml", line, field)
    assert str(problem).startswith(f"team.yaml:{line}: {field}: "), str(problem)
    assert message in str(problem)


def test_the_tiny_policy_is_valid() -> None:
    policy = parse_policy(TINY, "team.yaml")
    assert policy.name == "tiny"
    assert policy.calendar.working_hours.start == time(9, 0)
    assert policy.level("P2").response == Target(TargetKind.business_days, 3)


# -- one broken line each ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "original", "broken", "field", "message"),
    [
        pytest.param(
            20,
            "assignees: {}",
            "      assignee: {}",
            "incidents.types[0].assignee",
            "Extra inputs are not permitted",
            id="unknown-field",
        ),
        pytest.param(
            9,
            "- {name: P2, rank: 2, title: Soon, response: 3 business days}",
            "  - {name: P2, rank: first, title: Soon, response: 3 business days}",
            "levels[1].rank",
            "valid integer",
            id="wrong-type",
        ),
        pytest.param(
            9,
            "- {name: P2, rank: 2, title: Soon, response: 3 business days}",
            "  - {name: P2, rank: 2, title: Soon, response: 3 bizness days}",
            "levels[1].response",
            "'3 bizness days' is not a target",
            id="bad-target-string",
        ),
        pytest.param(
            10,
            "- {name: P3, rank: 3, title: Later, resolution: 20 business days}",
            "  - {name: P3, rank: 3, title: Later, resolution: 0 business days}",
            "levels[2].resolution",
            "a target of zero is written 'immediately'",
            id="zero-target",
        ),
        pytest.param(
            5,
            'working_hours: {start: "09:00", end: "17:00"}',
            '  working_hours: {start: "09:00", end: 17:00}',
            "calendar.working_hours.end",
            "quote the time of day",
            id="unquoted-17-00-is-sexagesimal-1020",
        ),
        pytest.param(
            5,
            'working_hours: {start: "09:00", end: "17:00"}',
            '  working_hours: {start: 9:00, end: "17:00"}',
            "calendar.working_hours.start",
            "quote the time of day",
            id="unquoted-9-00-is-sexagesimal-540",
        ),
        pytest.param(
            5,
            'working_hours: {start: "09:00", end: "17:00"}',
            '  working_hours: {start: "17:00", end: "09:00"}',
            "calendar.working_hours",
            "working hours must end after they start",
            id="hours-backwards",
        ),
        pytest.param(
            4,
            "timezone: Europe/Berlin",
            "  timezone: Europe/Berlinn",
            "calendar.timezone",
            "unknown time zone 'Europe/Berlinn'",
            id="unknown-time-zone",
        ),
        pytest.param(
            6,
            "holidays: {country: DE, subdivision: BY}",
            "  timezone: UTC",
            "calendar.timezone",
            "duplicate key",
            id="duplicate-key-names-the-second",
        ),
        pytest.param(
            14,
            "level: P1",
            "      level: P9",
            "classification.rules[0].level",
            "unknown level 'P9'; known: P1, P2, P3",
            id="rule-names-unknown-level",
        ),
        pytest.param(
            15,
            "when: [{signal: errors, gt: 100}]",
            "      when: [{signal: errors, gt: 100, lt: 3}]",
            "classification.rules[0].when[0]",
            "exactly one of gt, gte, lt, lte, eq",
            id="condition-with-two-tests",
        ),
        pytest.param(
            25,
            "transitions: [{from: open, to: closed}]",
            "    transitions: [{from: open, to: [closed, archived]}]",
            "workflows.ticket.transitions[0].to[1]",
            "unknown state 'archived'; known: closed, open",
            id="transition-to-unknown-state",
        ),
        pytest.param(
            29,
            "transitions: [{from: active, to: resolved}]",
            "    transitions: [{from: paused, to: resolved}]",
            "workflows.incident.transitions[0].from",
            "unknown state 'paused'",
            id="transition-from-unknown-state",
        ),
        pytest.param(
            31,
            "downgrades: [{from: P1, to: P2}]",
            "  downgrades: [{from: P2, to: P1}]",
            "mitigation.downgrades[0].to",
            "P1 is not below P2",
            id="mitigation-raises-a-priority",
        ),
        pytest.param(
            20,
            "assignees: {}",
            "      assignees: {commander: ana, scribe: ana}",
            "incidents.types[0].assignees",
            "one person holds roles that must be distinct: ['commander', 'scribe']",
            id="assignees-break-distinct-roles",
        ),
        pytest.param(
            20,
            "assignees: {}",
            "      assignees: {commander: cy}",
            "incidents.types[0].assignees.commander",
            "unknown person 'cy'; known: ana, bo",
            id="assignee-not-a-person",
        ),
        pytest.param(
            6,
            "holidays: {country: DE, subdivision: BY}",
            "  holidays: {country: XX}",
            "calendar.holidays.country",
            "unknown country 'XX'",
            id="unknown-holiday-country",
        ),
        pytest.param(
            6,
            "holidays: {country: DE, subdivision: BY}",
            "  holidays: {country: DE, subdivision: XX}",
            "calendar.holidays.subdivision",
            "unknown subdivision 'XX' of DE",
            id="unknown-holiday-subdivision",
        ),
        pytest.param(
            39,
            "- distinct: [commander, scribe]",
            "  - distinct: [commander, medic]",
            "role_constraints[0].distinct[1]",
            "unknown role 'medic'",
            id="constraint-names-unknown-role",
        ),
    ],
)
def test_a_broken_line_is_reported_with_file_line_and_field(
    line: int, original: str, broken: str, field: str, message: str
) -> None:
    problem = only_problem(tiny_with(line, original, broken))
    assert_problem(problem, line, field, message)


def test_invalid_yaml_names_the_line() -> None:
    problem = only_problem(tiny_with(2, "name: tiny", "name: tiny: oops"))
    assert (problem.file, problem.line, problem.field) == ("team.yaml", 2, "")
    assert str(problem) == (
        "team.yaml:2: (policy): invalid YAML: mapping values are not allowed here"
    )


def test_a_control_character_is_invalid_yaml_on_its_line() -> None:
    problem = only_problem(tiny_with(2, "name: tiny", "name: ti\x96ny"))
    assert (problem.file, problem.line, problem.field) == ("team.yaml", 2, "")
    assert "invalid YAML: the character U+0096 is not allowed" in str(problem)


def test_unquoted_09_00_is_read_as_the_text_09_00_and_accepted() -> None:
    # YAML 1.1 reads 9:00 and 17:00 as base-60 numbers, but not 09:00: a leading zero keeps it
    # a string, so this is the one unquoted time that means what it says.
    text = tiny_with(
        5,
        'working_hours: {start: "09:00", end: "17:00"}',
        '  working_hours: {start: 09:00, end: "17:00"}',
    )
    assert parse_policy(text).calendar.working_hours.start == time(9, 0)


def test_every_problem_is_reported_at_once() -> None:
    text = tiny_with(14, "level: P1", "      level: P9")
    text = text.replace("to: closed}", "to: archived}")
    with pytest.raises(PolicyInvalid) as raised:
        parse_policy(text, "team.yaml")
    places = [(p.line, p.field) for p in raised.value.problems]
    assert (14, "classification.rules[0].level") in places
    assert (25, "workflows.ticket.transitions[0].to[0]") in places
    # The exception's text lists them all, one a line.
    assert str(raised.value).count("team.yaml:") == len(raised.value.problems) == 2


def test_every_duplicate_key_is_reported() -> None:
    text = tiny_with(2, "name: tiny", "name: tiny\nname: again")
    text = text.replace("      roles: [commander, scribe]\n", "      roles: [commander]\n" * 2)
    with pytest.raises(PolicyInvalid) as raised:
        parse_policy(text, "team.yaml")
    assert [(p.line, p.field, p.message) for p in raised.value.problems] == [
        (3, "name", "duplicate key"),
        (21, "incidents.types[0].roles", "duplicate key"),
    ]


def test_a_missing_required_section_is_reported_on_the_first_line() -> None:
    lines = TINY.splitlines(keepends=True)
    assert lines[6] == "levels:\n"
    without_levels = "".join(lines[:6] + lines[10:])
    problem = only_problem(without_levels)
    assert_problem(problem, 1, "levels", "Field required")


def test_an_optional_section_may_be_left_out() -> None:
    text = TINY.replace("mitigation:\n  downgrades: [{from: P1, to: P2}]\n", "")
    assert parse_policy(text).mitigation.downgrades == []


def test_a_policy_must_be_a_mapping() -> None:
    problem = only_problem("- just\n- a list\n")
    assert str(problem) == "team.yaml:1: (policy): a policy is a YAML mapping"


# -- files and presets ---------------------------------------------------------------------------


def test_a_policy_file_names_its_path_in_problems(tmp_path: Path) -> None:
    path = tmp_path / "team.yaml"
    path.write_text(tiny_with(14, "level: P1", "      level: P9"), encoding="utf-8")
    with pytest.raises(PolicyInvalid) as raised:
        load_policy_file(path)
    assert str(raised.value.problems[0]).startswith(
        f"{path}:14: classification.rules[0].level: unknown level 'P9'"
    )


def test_a_missing_policy_file_is_a_problem_without_a_line(tmp_path: Path) -> None:
    path = tmp_path / "absent.yaml"
    with pytest.raises(PolicyInvalid) as raised:
        load_policy_file(path)
    (problem,) = raised.value.problems
    assert (problem.file, problem.line) == (str(path), None)
    assert str(problem).startswith(f"{path}: (policy): ")


def test_a_valid_policy_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "team.yaml"
    path.write_text(TINY, encoding="utf-8")
    assert isinstance(load_policy_file(path), Policy)


def test_there_are_presets_and_hail_is_one() -> None:
    assert "hail" in preset_names()
    assert preset_names() == sorted(preset_names())


@pytest.mark.parametrize("name", preset_names())
def test_every_preset_loads(name: str) -> None:
    policy = load_preset(name)
    assert isinstance(policy, Policy)
    assert policy.name == name
    assert parse_policy(preset_text(name), f"{name}.yaml") == policy


def test_an_unknown_preset_lists_the_known_ones() -> None:
    with pytest.raises(UnknownPreset) as raised:
        load_preset("hale")
    assert raised.value.name == "hale"
    assert raised.value.known == preset_names()
    assert "hale" in str(raised.value)
    for known in preset_names():
        assert known in str(raised.value)


def test_an_impact_label_naming_two_categories_is_reported_where_it_is_given() -> None:
    text = TINY + (
        "impact_categories:\n"
        "  - {name: data-loss, contacts: [ana]}\n"
        "  - {name: outage, contacts: [bo], labels: [down, data-loss]}\n"
    )
    problem = only_problem(text)
    assert_problem(
        problem,
        42,
        "impact_categories[1].labels[1]",
        "impact 'data-loss' names two categories: data-loss, outage",
    )

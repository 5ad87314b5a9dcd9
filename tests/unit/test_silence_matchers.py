"""Silences and routing, pure: Alertmanager-style matchers, a silence's window, which silence
covers an alert, and which owning team's tech lead answers for a service."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fireline.policy.load import load_preset
from fireline.policy.schema import OwningTeam, Policy
from fireline.triage.route import Owner, owner_of
from fireline.triage.silence import (
    FIELDS,
    Matcher,
    MatcherInvalid,
    Op,
    Silence,
    facts_of,
    silencing,
)

# --------------------------------------------------------------------------------------------
# Matchers


@pytest.mark.parametrize(
    ("name", "op", "value", "facts", "expected"),
    [
        # =
        ("service", Op.equal, "Reader", {"service": "Reader"}, True),
        ("service", Op.equal, "Reader", {"service": "reader"}, False),
        ("service", Op.equal, "Reader", {"service": "Reader "}, False),
        ("service", Op.equal, "Reader", {}, False),
        ("env", Op.equal, "", {}, True),  # a missing label reads as ""
        ("env", Op.equal, "", {"env": ""}, True),
        ("env", Op.equal, "", {"env": "prod"}, False),
        # !=
        ("env", Op.not_equal, "prod", {"env": "prod"}, False),
        ("env", Op.not_equal, "prod", {"env": "dev"}, True),
        ("env", Op.not_equal, "prod", {}, True),
        ("env", Op.not_equal, "", {}, False),
        # =~, anchored at both ends
        ("service", Op.regex, "Read.*", {"service": "Reader"}, True),
        ("service", Op.regex, "ead", {"service": "Reader"}, False),
        ("service", Op.regex, "Read", {"service": "Reader"}, False),
        ("service", Op.regex, "eader", {"service": "Reader"}, False),
        ("service", Op.regex, ".*ead.*", {"service": "Reader"}, True),
        ("service", Op.regex, "Reader|Dispatch", {"service": "Dispatch"}, True),
        ("service", Op.regex, "Reader|Dispatch", {"service": "ReaderDispatch"}, False),
        ("service", Op.regex, "Reader|Dispatch", {"service": "xDispatch"}, False),
        ("env", Op.regex, "", {}, True),
        ("env", Op.regex, "", {"env": "prod"}, False),
        ("env", Op.regex, "prod|", {}, True),
        ("env", Op.regex, ".+", {}, False),
        ("env", Op.regex, ".*", {}, True),
        ("env", Op.regex, "prod", {"env": "prod\n"}, False),  # `$` would allow a final newline
        # !~
        ("service", Op.not_regex, "Read.*", {"service": "Reader"}, False),
        ("service", Op.not_regex, "ead", {"service": "Reader"}, True),
        ("env", Op.not_regex, "", {}, False),
        ("env", Op.not_regex, ".+", {}, True),
        ("env", Op.not_regex, "dev|staging", {"env": "prod"}, True),
    ],
)
def test_matcher(name: str, op: Op, value: str, facts: dict[str, str], expected: bool) -> None:
    assert Matcher(name, op, value).matches(facts) is expected


@pytest.mark.parametrize("op", [Op.regex, Op.not_regex])
@pytest.mark.parametrize("pattern", ["[", "(", "*", "a{2,1}", "(?P<x>a)(?P=y)", "\\"])
def test_bad_regular_expressions_are_refused(op: Op, pattern: str) -> None:
    with pytest.raises(MatcherInvalid, match="bad regular expression"):
        Matcher("service", op, pattern)


@pytest.mark.parametrize(
    "pattern",
    [
        "a{4294967296}",  # OverflowError from re, not re.error
        "x{1,99999999999999999999}",
        "(" * 1000 + ")" * 1000,  # RecursionError from re's parser
    ],
    ids=["repeat-overflow", "range-overflow", "deep-nesting"],
)
def test_regular_expressions_re_cannot_compile_are_refused(pattern: str) -> None:
    # create_silence only turns MatcherInvalid into a 4xx; anything else is a 500.
    with pytest.raises(MatcherInvalid):
        Matcher("service", Op.regex, pattern)


@pytest.mark.parametrize("op", [Op.equal, Op.not_equal])
@pytest.mark.parametrize("value", ["[", "(", "*"])
def test_equality_values_are_not_regular_expressions(op: Op, value: str) -> None:
    matcher = Matcher("service", op, value)
    assert matcher.matches({"service": value}) is (op is Op.equal)


def test_a_matcher_needs_a_name() -> None:
    with pytest.raises(MatcherInvalid):
        Matcher("", Op.equal, "x")


@given(
    labels=st.dictionaries(st.text(min_size=1, max_size=10), st.text(max_size=10), min_size=1),
    data=st.data(),
)
@settings(max_examples=200)
def test_a_matcher_built_from_an_alerts_own_label(
    labels: dict[str, str], data: st.DataObject
) -> None:
    name = data.draw(st.sampled_from(sorted(labels)))
    value = labels[name]
    assert Matcher(name, Op.equal, value).matches(labels)
    assert not Matcher(name, Op.not_equal, value).matches(labels)


@given(
    labels=st.dictionaries(st.text(min_size=1, max_size=10), st.text(max_size=10)),
    name=st.text(min_size=1, max_size=10),
    value=st.text(max_size=10),
)
@settings(max_examples=200)
def test_each_operator_and_its_negation_disagree(
    labels: dict[str, str], name: str, value: str
) -> None:
    equal = Matcher(name, Op.equal, value).matches(labels)
    assert Matcher(name, Op.not_equal, value).matches(labels) is not equal
    assert equal is (labels.get(name, "") == value)
    try:
        regex = Matcher(name, Op.regex, value)
    except MatcherInvalid:
        return
    assert Matcher(name, Op.not_regex, value).matches(labels) is not regex.matches(labels)


@given(
    labels=st.dictionaries(st.text(min_size=1, max_size=10), st.text(max_size=10)),
    name=st.text(min_size=1, max_size=10),
    value=st.text(max_size=10),
)
@settings(max_examples=200)
def test_an_escaped_value_as_regex_is_equality(
    labels: dict[str, str], name: str, value: str
) -> None:
    escaped = Matcher(name, Op.regex, re.escape(value))
    assert escaped.matches(labels) is Matcher(name, Op.equal, value).matches(labels)


REGEX_TOKENS = [
    *["a", ".", "*", "+", "?", "(", ")", "[", "]", "|", "\\", "^", "$", "(?:", "(?=", "(?i)"],
    *["{2}", "{2,1}", "{1,3}", "{4294967296}", "(?P<n>", "(?P=n)", "\\d", "\\1", "[^a]"],
]

patterns = st.text(max_size=12) | st.lists(st.sampled_from(REGEX_TOKENS), max_size=8).map("".join)


@given(pattern=patterns)
@settings(max_examples=200)
def test_any_pattern_is_a_matcher_or_matcher_invalid(pattern: str) -> None:
    try:
        matcher = Matcher("service", Op.regex, pattern)
    except MatcherInvalid:
        return
    assert isinstance(matcher.matches({"service": pattern}), bool)


# --------------------------------------------------------------------------------------------
# Silences

START = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
END = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)
NEW_YORK = ZoneInfo("America/New_York")


def silence(
    *matchers: Matcher, id: int = 1, start: datetime = START, end: datetime = END
) -> Silence:
    return Silence(id=id, matchers=matchers, starts_at=start, ends_at=end)


@pytest.mark.parametrize(
    ("at", "active"),
    [
        (START - timedelta(days=1), False),
        (START - TICK, False),
        (START, True),  # starts_at inclusive
        (START + TICK, True),
        (START + timedelta(hours=1), True),
        (END - TICK, True),
        (END, False),  # ends_at exclusive
        (END + TICK, False),
        (START.astimezone(NEW_YORK), True),  # the same instant, another zone
        (END.astimezone(NEW_YORK), False),
        (datetime(2026, 11, 25, 5, 59, 59, tzinfo=NEW_YORK), True),
    ],
)
def test_silence_window(at: datetime, active: bool) -> None:
    assert silence().active(at) is active


def test_an_empty_window_is_never_active() -> None:
    empty = silence(start=START, end=START)
    assert not empty.active(START)
    assert not empty.active(START - TICK)


READER = facts_of(
    {"env": "prod", "region": "us"},
    service="Reader",
    fingerprint="alertmanager:98a374897dac15c8",
    title="Disk full",
    source="alertmanager",
)
INSIDE = START + timedelta(minutes=30)


@pytest.mark.parametrize(
    ("matchers", "covers"),
    [
        ((Matcher("service", Op.equal, "Reader"),), True),
        ((Matcher("service", Op.equal, "Reader"), Matcher("env", Op.equal, "prod")), True),
        ((Matcher("service", Op.equal, "Reader"), Matcher("env", Op.equal, "dev")), False),
        ((Matcher("env", Op.equal, "dev"), Matcher("service", Op.equal, "Reader")), False),
        (
            (
                Matcher("service", Op.regex, "Read.*"),
                Matcher("env", Op.not_equal, "dev"),
                Matcher("region", Op.not_regex, "eu-.*"),
                Matcher("source", Op.equal, "alertmanager"),
            ),
            True,
        ),
        ((Matcher("fingerprint", Op.equal, "alertmanager:98a374897dac15c8"),), True),
        ((Matcher("title", Op.regex, "Disk.*"),), True),
        ((Matcher("zone", Op.equal, "a"),), False),
    ],
)
def test_covers_requires_every_matcher(matchers: tuple[Matcher, ...], covers: bool) -> None:
    assert silence(*matchers).covers(READER, INSIDE) is covers


def test_a_matching_silence_outside_its_window_covers_nothing() -> None:
    matching = silence(Matcher("service", Op.equal, "Reader"))
    assert matching.covers(READER, START)
    assert not matching.covers(READER, START - TICK)
    assert not matching.covers(READER, END)


def test_silencing_returns_the_first_covering_silence() -> None:
    other = silence(Matcher("service", Op.equal, "Dispatch"), id=1)
    expired = silence(Matcher("service", Op.equal, "Reader"), id=2, end=START + TICK)
    first = silence(Matcher("env", Op.equal, "prod"), id=3)
    second = silence(Matcher("service", Op.equal, "Reader"), id=4)
    assert silencing([other, expired, first, second], READER, INSIDE) is first
    assert silencing([other, expired, second, first], READER, INSIDE) is second
    assert silencing([other, expired, first, second], READER, START) is expired


def test_silencing_returns_none_when_nothing_covers() -> None:
    other = silence(Matcher("service", Op.equal, "Dispatch"))
    later = silence(Matcher("service", Op.equal, "Reader"), start=END, end=END + timedelta(1))
    assert silencing([other, later], READER, INSIDE) is None
    assert silencing([], READER, INSIDE) is None


def test_facts_of_adds_the_alerts_own_fields() -> None:
    facts = facts_of(
        {"env": "prod"}, service="Reader", fingerprint="fp", title="Disk full", source="generic"
    )
    assert facts == {
        "env": "prod",
        "service": "Reader",
        "fingerprint": "fp",
        "title": "Disk full",
        "source": "generic",
    }
    assert set(FIELDS) <= set(facts)


def test_facts_of_fields_win_over_labels_of_the_same_name() -> None:
    facts = facts_of(
        {"service": "from-label", "title": "t", "env": "prod"},
        service=None,
        fingerprint="fp",
        title="Disk full",
        source="generic",
    )
    assert facts["service"] == ""  # no service reads as "", like a missing label
    assert facts["title"] == "Disk full"
    assert facts["env"] == "prod"
    assert Matcher("service", Op.equal, "").matches(facts)
    assert not Matcher("service", Op.equal, "from-label").matches(facts)


# --------------------------------------------------------------------------------------------
# Routing: owner_of with the caseflow preset


@pytest.fixture(scope="module")
def caseflow() -> Policy:
    return load_preset("caseflow")


@pytest.mark.parametrize(
    ("service", "team", "lead"),
    [
        ("Reader", "Whiskey", "mark"),
        ("Dispatch", "Tango", "sharon"),
        ("Hearings Prep", "Tango", "sharon"),
        ("Certification", "Foxtrot", "alex"),
        ("Certification v2", "Foxtrot", "alex"),
        ("eFolder", "Foxtrot", "alex"),
    ],
)
def test_caseflow_owners(caseflow: Policy, service: str, team: str, lead: str) -> None:
    owner = owner_of(caseflow, service)
    assert (owner.team, owner.tech_lead) == (team, lead)
    assert team in owner.why
    assert service in owner.why


@pytest.mark.parametrize("service", ["Unknown", "reader", "Reader ", "", None])
def test_caseflow_has_no_catch_all(caseflow: Policy, service: str | None) -> None:
    assert caseflow.ownership.catch_all is None
    owner = owner_of(caseflow, service)
    assert owner.team is None
    assert owner.tech_lead is None
    assert repr(service) in owner.why
    assert "no catch-all" in owner.why


def with_catch_all(policy: Policy) -> Policy:
    ownership = policy.ownership.model_copy(
        update={
            "teams": [*policy.ownership.teams, OwningTeam(name="Platform", tech_lead="pat")],
            "catch_all": "Platform",
        }
    )
    return policy.model_copy(update={"ownership": ownership})


@pytest.mark.parametrize("service", ["Unknown", "reader", None])
def test_catch_all_answers_for_unknown_services(caseflow: Policy, service: str | None) -> None:
    owner = owner_of(with_catch_all(caseflow), service)
    assert owner == Owner("Platform", "pat", owner.why)
    assert "catch-all" in owner.why
    assert "Platform" in owner.why


def test_catch_all_does_not_take_known_services(caseflow: Policy) -> None:
    policy = with_catch_all(caseflow)
    assert (owner_of(policy, "Reader").team, owner_of(policy, "Reader").tech_lead) == (
        "Whiskey",
        "mark",
    )


def test_catch_all_can_be_an_owning_team(caseflow: Policy) -> None:
    ownership = caseflow.ownership.model_copy(update={"catch_all": "Tango"})
    policy = caseflow.model_copy(update={"ownership": ownership})
    assert owner_of(policy, "Unknown") == Owner("Tango", "sharon", owner_of(policy, "x").why)
    assert owner_of(policy, "Reader").tech_lead == "mark"

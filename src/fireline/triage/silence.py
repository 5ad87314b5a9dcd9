"""Silences and maintenance windows, pure: does a silence cover an alert at an instant?

Matchers follow Alertmanager's: `name op value` with `=`, `!=`, `=~`, `!~`, regular
expressions anchored at both ends; all matchers of a silence must match. Besides labels, a
matcher may name `service`, `fingerprint`, `title` or `source`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from functools import lru_cache

FIELDS = ("service", "fingerprint", "title", "source")


class Op(StrEnum):
    equal = "="
    not_equal = "!="
    regex = "=~"
    not_regex = "!~"


class MatcherInvalid(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Matcher:
    name: str
    op: Op
    value: str

    def __post_init__(self) -> None:
        if not self.name:
            raise MatcherInvalid("a matcher needs a name")
        if self.op in (Op.regex, Op.not_regex):
            try:
                _compiled(self.value)
            except (re.error, OverflowError, RecursionError, FutureWarning) as error:
                raise MatcherInvalid(f"{self.name}: bad regular expression: {error}") from None

    def matches(self, facts: Mapping[str, str]) -> bool:
        # A label the alert lacks reads as "", as in Alertmanager.
        value = facts.get(self.name, "")
        if self.op is Op.equal:
            return value == self.value
        if self.op is Op.not_equal:
            return value != self.value
        found = _compiled(self.value).fullmatch(value) is not None
        return found if self.op is Op.regex else not found


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str]:
    with warnings.catch_warnings():
        # A pattern whose meaning Python says will change (`[[`) is refused, not guessed at.
        warnings.simplefilter("error", FutureWarning)
        return re.compile(pattern)


@dataclass(frozen=True, slots=True)
class Silence:
    id: int
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime

    def active(self, at: datetime) -> bool:
        return self.starts_at <= at < self.ends_at

    def covers(self, facts: Mapping[str, str], at: datetime) -> bool:
        return self.active(at) and all(m.matches(facts) for m in self.matchers)


def facts_of(
    labels: Mapping[str, str], service: str | None, fingerprint: str, title: str, source: str
) -> dict[str, str]:
    """What matchers see: the alert's labels, then its service, fingerprint, title, source."""
    return {
        **labels,
        "service": service or "",
        "fingerprint": fingerprint,
        "title": title,
        "source": source,
    }


def silencing(
    silences: Sequence[Silence], facts: Mapping[str, str], at: datetime
) -> Silence | None:
    """The first silence that covers the alert at `at`, if any."""
    return next((s for s in silences if s.covers(facts, at)), None)

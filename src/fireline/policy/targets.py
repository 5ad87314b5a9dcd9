"""Response and resolution targets as a policy writes them: `immediately`, `3 business days`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema


class TargetKind(StrEnum):
    immediately = "immediately"
    business_days = "business days"
    business_hours = "business hours"
    hours = "hours"
    minutes = "minutes"


@dataclass(frozen=True, slots=True)
class Target:
    kind: TargetKind
    amount: int = 0

    def __str__(self) -> str:
        if self.kind is TargetKind.immediately:
            return "immediately"
        unit = self.kind.value
        return f"{self.amount} {unit[:-1] if self.amount == 1 else unit}"


_TARGET = re.compile(
    r"^\s*(?P<amount>\d+)\s+(?P<unit>business\s+days?|business\s+hours?|hours?|minutes?)\s*$",
    re.IGNORECASE,
)


def parse_target(value: object) -> object:
    """Read a target string; anything else is left for pydantic to reject."""
    if value is None or isinstance(value, Target):
        return value
    if not isinstance(value, str):
        raise ValueError(
            "a target is 'immediately', 'N business days', 'N business hours', "
            "'N hours' or 'N minutes'"
        )
    if value.strip().lower() == "immediately":
        return Target(TargetKind.immediately)
    match = _TARGET.match(value)
    if not match:
        raise ValueError(
            f"{value!r} is not a target: use 'immediately', 'N business days', "
            "'N business hours', 'N hours' or 'N minutes'"
        )
    unit = " ".join(match.group("unit").lower().split())
    if not unit.endswith("s"):
        unit += "s"
    amount = int(match.group("amount"))
    if amount == 0:
        raise ValueError("a target of zero is written 'immediately'")
    return Target(TargetKind(unit), amount)


TargetField = Annotated[
    Target,
    BeforeValidator(parse_target),
    PlainSerializer(str, return_type=str),
    WithJsonSchema({"type": "string", "examples": ["immediately", "3 business days", "24 hours"]}),
]

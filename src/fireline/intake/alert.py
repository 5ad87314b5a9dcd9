"""What every source's payload becomes: one alert event, independent of who sent it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from fireline.intake.wire import pickled_as_values


class Action(StrEnum):
    trigger = "trigger"
    acknowledge = "acknowledge"
    resolve = "resolve"


class PayloadInvalid(ValueError):
    """A payload that parsed as JSON but does not follow its source's schema."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail


@pickled_as_values
@dataclass(frozen=True, slots=True)
class IncomingAlert:
    source: str
    action: Action
    title: str
    key: str | None = None  # the source's own deduplication key, when it has one
    service: str | None = None
    description: str = ""
    severity: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    signals: dict[str, float] = field(default_factory=dict)
    links: tuple[str, ...] = ()
    occurred_at: datetime | None = None

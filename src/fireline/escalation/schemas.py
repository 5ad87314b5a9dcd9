"""API shapes for escalation policies and running escalations."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from fireline.escalation.plan import TargetKind


class TargetSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: TargetKind
    name: str = Field(
        default="",
        description="schedule slug, person handle, impact category; unused for tech_lead",
    )
    layer: str | None = Field(
        default=None, description="a schedule layer instead of the schedule's responder"
    )


class StepSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    targets: list[TargetSpec] = Field(min_length=1, description="notified at once")
    delay_minutes: int = Field(ge=0, le=7 * 24 * 60, description="before the next step")


class NewEscalationPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    name: str = Field(min_length=1)
    repeat: int = Field(default=0, ge=0, le=20, description="extra rounds after the last step")
    steps: list[StepSpec] = Field(min_length=1)
    teams: list[str] = Field(default_factory=list, description="teams whose pages it drives")


class EscalationPolicyView(BaseModel):
    slug: str
    name: str
    repeat: int
    steps: list[StepSpec]
    teams: list[str]


class EscalationView(BaseModel):
    ticket_id: int
    policy: str
    state: str
    epoch: int
    step: int
    cycle: int
    acknowledged_at: datetime | None
    acknowledged_by: str | None

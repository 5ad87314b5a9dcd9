"""API shapes for integrations, alert outcomes and silences."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Kind = Literal["alertmanager", "sentry", "pagerduty", "generic", "heartbeat"]


class NewIntegration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team: str = Field(description="team slug: its policy judges the alerts")
    kind: Kind
    name: str = Field(min_length=1, max_length=120)
    signing_secret: str | None = Field(
        default=None, max_length=200, description="Sentry: the integration's client secret"
    )
    interval_minutes: int | None = Field(
        default=None, ge=1, le=7 * 24 * 60, description="heartbeat: check in at least this often"
    )


class HeartbeatView(BaseModel):
    interval_minutes: int
    last_seen_at: datetime | None
    due_at: datetime
    late: bool


class IntegrationView(BaseModel):
    id: int
    team: str
    kind: str
    name: str
    created_at: datetime
    revoked_at: datetime | None
    heartbeat: HeartbeatView | None = None


class IntegrationCreated(IntegrationView):
    key: str = Field(description="shown once; Fireline keeps only its hash")


class AlertOutcome(BaseModel):
    fingerprint: str
    action: str
    outcome: str = Field(
        description="opened, repeat, grouped, acknowledged, resolved, annotated, silenced or "
        "dropped"
    )
    ticket_id: int | None
    silence_id: int | None


class Accepted(BaseModel):
    status: Literal["accepted", "spooled"] = Field(
        default="accepted",
        description="spooled: the database was unreachable; kept on local disk, taken in "
        "when it is back",
    )
    alerts: list[AlertOutcome]


class MatcherSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    op: Literal["=", "!=", "=~", "!~"] = "="
    value: str = Field(max_length=1000)


class NewSilence(BaseModel):
    model_config = ConfigDict(extra="forbid")

    matchers: list[MatcherSpec] = Field(min_length=1, max_length=50)
    starts_at: AwareDatetime | None = Field(default=None, description="default: now")
    ends_at: AwareDatetime
    reason: str = Field(min_length=1, max_length=2000)
    kind: Literal["silence", "maintenance"] = "silence"


class SilenceView(BaseModel):
    id: int
    kind: str
    matchers: list[dict[str, Any]]
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_by: str | None
    state: Literal["pending", "active", "expired"]
    alerts_silenced: int

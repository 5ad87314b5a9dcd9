"""API shapes of the status page."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from fireline.storable import Integer


class ComponentState(StrEnum):
    operational = "operational"
    degraded_performance = "degraded_performance"
    partial_outage = "partial_outage"
    major_outage = "major_outage"
    under_maintenance = "under_maintenance"

    @property
    def words(self) -> str:
        return self.value.replace("_", " ").capitalize()


class NewComponent(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    position: Integer = 0


class ComponentView(BaseModel):
    slug: str
    name: str
    description: str
    state: ComponentState
    updated_at: datetime


class NewStatusUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1, max_length=5000, description="what the public reads")
    components: dict[str, ComponentState] = Field(
        default_factory=dict, description="component slug → the state it is in from now"
    )


class StatusUpdateView(BaseModel):
    id: int
    incident_id: int
    status: str
    body: str
    components: dict[str, ComponentState]
    published_by: str | None
    published_at: datetime


class PublicIncident(BaseModel):
    id: int
    title: str
    status: str
    open: bool
    started_at: datetime
    resolved_at: datetime | None
    updates: list[StatusUpdateView]


class PublicNotice(BaseModel):
    """A notice that is not an incident of ours: an upstream outage users are told about."""

    id: int
    title: str
    body: str
    open: bool
    opened_at: datetime
    closed_at: datetime | None


class PublicStatus(BaseModel):
    organisation: str
    name: str
    components: list[ComponentView]
    notices: list[PublicNotice] = Field(
        description="open notices first, then those closed in the last 90 days"
    )
    active: list[PublicIncident]
    history: list[PublicIncident]
    generated_at: datetime

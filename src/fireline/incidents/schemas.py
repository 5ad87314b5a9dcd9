"""API shapes for incidents and timelines."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from fireline.storable import RowIdField


class NewIncident(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team: str
    title: str = Field(min_length=1, max_length=300)
    summary: str = ""
    severity: str | None = None
    type: str | None = None
    status: str | None = None
    private: bool | None = Field(default=None, description="default: the incident type's")
    commander: str | None = Field(default=None, description="handle for the lead role")
    members: list[str] = Field(default_factory=list)
    tickets: list[RowIdField] = Field(default_factory=list)


class RoleHolder(BaseModel):
    role: str
    person: str | None
    since: datetime | None


class RoleSpell(BaseModel):
    role: str
    person: str
    assigned_at: datetime
    relieved_at: datetime | None


class IncidentView(BaseModel):
    id: int
    team: str
    title: str
    summary: str
    type: str
    severity: str
    status: str
    open: bool
    private: bool
    allowed_next: list[str]
    lead_role: str
    roles: list[RoleHolder]
    role_history: list[RoleSpell]
    members: list[str]
    tickets: list[int]
    declared_by: str | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    policy_version: int


class IncidentSummary(BaseModel):
    id: int
    team: str
    title: str
    type: str
    severity: str
    status: str
    open: bool
    private: bool
    created_at: datetime


class IncidentPage(BaseModel):
    items: list[IncidentSummary]
    total: int
    limit: int
    offset: int


class RoleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person: str | None = Field(description="handle; null tags the holder out, leaving it vacant")
    note: str = ""


class UpdateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1)


class MemberRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person: str


class LinkTicketRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ticket: RowIdField


class SeverityRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: str
    note: str = Field(min_length=1)

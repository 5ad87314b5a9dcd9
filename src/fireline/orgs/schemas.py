"""API shapes for organisations, teams and policies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class OrganisationView(BaseModel):
    id: int
    slug: str
    name: str


class NewTeam(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    name: str = Field(min_length=1)
    preset: str | None = Field(default=None, description="start from a shipped preset")
    source: str | None = Field(default=None, description="or from this policy YAML")


class TeamView(BaseModel):
    id: int
    slug: str
    name: str


class PolicySource(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(description="the policy as YAML text")
    file: str = Field(default="<upload>", description="a name for error messages")


class PolicyVersionView(BaseModel):
    version: int
    name: str
    content_sha256: str
    created_at: datetime
    source: str | None = None
    policy: dict[str, Any] | None = None


class ValidationReport(BaseModel):
    valid: bool
    name: str
    levels: list[str]
    examples: int
    failures: list[str]


class ClassifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    signals: dict[str, float] = Field(default_factory=dict)
    labels: list[str] = Field(default_factory=list)


class ClassifyView(BaseModel):
    level: str | None
    rule: str | None
    fired: list[str]
    incident_criteria: list[str]


class DueRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    level: str
    opened: datetime


class DueView(BaseModel):
    level: str
    opened: datetime
    response: str | None
    response_due: datetime | None
    resolution: str | None
    resolution_due: datetime | None
    paging: str

"""API shapes for tickets, apart from the tables."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class NewTicket(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team: str = Field(description="team slug; its policy in force judges the ticket")
    title: str = Field(min_length=1, max_length=300)
    description: str = ""
    service: str | None = None
    type: str | None = Field(default=None, description="an issue type of the policy")
    priority: str | None = Field(default=None, description="a level; else the policy classifies")
    signals: dict[str, float] = Field(default_factory=dict)
    labels: list[str] = Field(default_factory=list)
    status: str | None = Field(default=None, description="an initial state; else the first")
    assignee: str | None = None
    links: list[str] = Field(default_factory=list)


class CommentView(BaseModel):
    id: int
    author: str | None
    body: str
    via: str
    created_at: datetime


# How many of its latest comments a ticket shows; older ones are paged through by id.
COMMENTS_SHOWN = 50


class CommentPage(BaseModel):
    """A ticket's comments before a given one, oldest first."""

    items: list[CommentView]
    older: bool = Field(description="whether comments before the first of these exist")


class LinkView(BaseModel):
    id: int
    url: str
    title: str


class PriorityChangeView(BaseModel):
    kind: str
    from_level: str | None
    to_level: str
    note: str
    actor: str | None
    at: datetime


class TicketView(BaseModel):
    id: int
    team: str
    title: str
    description: str
    service: str | None
    type: str | None
    priority: str | None
    priority_source: str
    classification_rule: str | None
    signals: dict[str, float]
    labels: list[str]
    status: str
    open: bool
    allowed_next: list[str]
    reporter: str | None
    assignee: str | None
    incident_id: int | None
    incident_criteria: list[str]
    created_at: datetime
    updated_at: datetime
    clock_started_at: datetime
    response_due_at: datetime | None
    resolution_due_at: datetime | None
    responded_at: datetime | None
    resolved_at: datetime | None
    paused_at: datetime | None
    policy_version: int
    fingerprint: str | None = Field(default=None, description="of the alerts it gathers")
    alert_count: int = 0
    last_alert_at: datetime | None = None
    comments: list[CommentView] = Field(
        default_factory=list, description=f"the latest {COMMENTS_SHOWN}, oldest first"
    )
    older_comments: bool = Field(
        default=False,
        description="whether comments before the first shown exist: "
        "`GET /api/v1/tickets/{id}/comments?before=` its id",
    )
    links: list[LinkView] = Field(default_factory=list)
    priority_changes: list[PriorityChangeView] = Field(default_factory=list)


class TicketPage(BaseModel):
    items: list[TicketView]
    total: int
    limit: int
    offset: int


class PriorityChangeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: str = Field(description="the new level")
    note: str = ""


class MoveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: str
    note: str = ""


class CommentRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: str = Field(min_length=1)


class LinkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1)
    title: str = ""


class UpstreamRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    upstream: str = Field(min_length=1, max_length=80, description="who is down: PyPI, GitLab…")
    note: str = ""


class AssignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assignee: str | None


class DeclareFromTicket(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str | None = None
    severity: str | None = None
    type: str | None = None
    commander: str | None = Field(default=None, description="handle of the incident's lead")
    private: bool | None = None

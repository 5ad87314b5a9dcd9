"""Sentry's integration-platform webhooks: issue alerts (`Sentry-Hook-Resource: event_alert`),
issue changes (`issue`: created, resolved, unresolved, …) and metric alerts (`metric_alert`:
critical, warning, resolved), signed by Sentry with the integration's client secret
(`Sentry-Hook-Signature`: hex HMAC-SHA256 of the body)."""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from fireline.intake.alert import Action, IncomingAlert, PayloadInvalid
from fireline.intake.sources import validated

SOURCE = "sentry"
RESOURCES = ("event_alert", "issue", "metric_alert")


def signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signed_by(secret: str, body: bytes, claimed: str | None) -> bool:
    if claimed is None or not claimed.isascii():
        return False
    return hmac.compare_digest(signature(secret, body), claimed.strip())


class _Project(BaseModel):
    model_config = ConfigDict(extra="allow")

    slug: str = ""
    name: str = ""


class _Issue(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str | int
    title: str = ""
    culprit: str | None = None
    level: str | None = None
    status: str | None = None
    shortId: str = ""
    web_url: str | None = None
    permalink: str | None = None
    project: _Project | None = None
    lastSeen: datetime | None = None


class _Event(BaseModel):
    model_config = ConfigDict(extra="allow")

    event_id: str = ""
    issue_id: str | int | None = None
    title: str = ""
    message: str | None = None
    culprit: str | None = None
    level: str | None = None
    web_url: str | None = None
    url: str | None = None
    project: Any = None
    tags: list[Any] = Field(default_factory=list)
    timestamp: float | str | None = None
    datetime_: datetime | None = Field(default=None, alias="datetime")


class _EventData(BaseModel):
    model_config = ConfigDict(extra="allow")

    event: _Event
    triggered_rule: str = ""


class _IssueData(BaseModel):
    model_config = ConfigDict(extra="allow")

    issue: _Issue


class _AlertRule(BaseModel):
    model_config = ConfigDict(extra="allow")

    name: str = ""
    projects: list[str] = Field(default_factory=list)
    aggregate: str = ""
    query: str = ""


class _MetricIncident(BaseModel):
    """Sentry's incident of a metric alert rule: one from its first threshold crossed to its
    resolution, whatever warnings and criticals it went through between."""

    model_config = ConfigDict(extra="allow")

    id: str | int
    title: str = ""
    projects: list[str] = Field(default_factory=list)
    alert_rule: _AlertRule = Field(default_factory=_AlertRule)
    date_started: datetime | None = None


class _MetricAlertData(BaseModel):
    model_config = ConfigDict(extra="allow")

    metric_alert: _MetricIncident
    description_title: str = ""
    description_text: str = ""
    web_url: str | None = None


class _Hook(BaseModel):
    model_config = ConfigDict(extra="allow")

    action: str
    data: dict[str, Any]


_METRIC_ACTIONS = ("critical", "warning", "resolved")
_ISSUE_ACTIONS = {
    "created": Action.trigger,
    "unresolved": Action.trigger,
    "resolved": Action.resolve,
}


def parse(resource: str | None, body: Any) -> list[IncomingAlert]:
    """The alerts a hook carries; none for resources and actions that change nothing here
    (installation hooks, assignment, …)."""
    hook = validated(_Hook, body)
    if resource == "event_alert":
        return [_event_alert(validated(_EventData, hook.data))]
    if resource == "issue":
        action = _ISSUE_ACTIONS.get(hook.action)
        return [] if action is None else [_issue(validated(_IssueData, hook.data).issue, action)]
    if resource == "metric_alert":
        if hook.action not in _METRIC_ACTIONS:
            raise PayloadInvalid("action", "a metric alert is critical, warning or resolved")
        return [_metric_alert(validated(_MetricAlertData, hook.data), hook.action)]
    if resource is None:
        raise PayloadInvalid("Sentry-Hook-Resource", "the header naming the resource is missing")
    return []


def _tags(event: _Event) -> dict[str, str]:
    tags: dict[str, str] = {}
    for tag in event.tags:
        if isinstance(tag, list | tuple) and len(tag) == 2:
            tags[str(tag[0])] = str(tag[1])
        elif isinstance(tag, dict) and "key" in tag:
            tags[str(tag["key"])] = str(tag.get("value", ""))
    return tags


# An issue alert names its project by number only; its event's API URL has the slug, as
# issue hooks (`project.slug`) and metric alerts name it: …/projects/<org>/<project>/events/…
_PROJECT_IN_URL = re.compile(r"/projects/[^/]+/([^/]+)/events/")


def _project_slug(event: _Event) -> str | None:
    found = _PROJECT_IN_URL.search(event.url or "")
    return found.group(1) if found else None


def _project_id(event: _Event) -> str | None:
    return str(event.project) if event.project else None


def _event_alert(data: _EventData) -> IncomingAlert:
    event = data.event
    tags = _tags(event)
    labels = {**tags, "level": event.level or "error"}
    if data.triggered_rule:
        labels["sentry_rule"] = data.triggered_rule
    return IncomingAlert(
        source=SOURCE,
        action=Action.trigger,
        title=(event.title or event.message or "Sentry event")[:300],
        key=f"issue:{event.issue_id}" if event.issue_id is not None else None,
        service=tags.get("service") or _project_slug(event) or _project_id(event),
        description=event.culprit or "",
        severity=event.level,
        labels=labels,
        links=tuple(link for link in (event.web_url,) if link),
        occurred_at=event.datetime_,
    )


def _issue(issue: _Issue, action: Action) -> IncomingAlert:
    project = issue.project.slug if issue.project else None
    return IncomingAlert(
        source=SOURCE,
        action=action,
        title=(issue.title or issue.shortId or f"Sentry issue {issue.id}")[:300],
        key=f"issue:{issue.id}",
        service=project or None,
        description=issue.culprit or "",
        severity=issue.level,
        labels={"level": issue.level or "error"},
        links=tuple(link for link in (issue.web_url or issue.permalink,) if link),
        occurred_at=issue.lastSeen,
    )


def _metric_alert(data: _MetricAlertData, action: str) -> IncomingAlert:
    incident = data.metric_alert
    rule = incident.alert_rule
    projects = incident.projects or rule.projects
    labels = {"level": action, "alert_rule": rule.name} if rule.name else {"level": action}
    return IncomingAlert(
        source=SOURCE,
        action=Action.resolve if action == "resolved" else Action.trigger,
        title=(rule.name or data.description_title or incident.title or "Sentry metric alert")[
            :300
        ],
        # The incident, not the rule: a rule that fires again after its resolution is a new
        # incident, and a new ticket.
        key=f"metric_alert:{incident.id}",
        service=projects[0] if projects else None,
        description=data.description_text,
        severity=None if action == "resolved" else action,
        labels=labels,
        links=tuple(link for link in (data.web_url,) if link),
        occurred_at=incident.date_started,
    )

"""PagerDuty Events API v2 (`POST /v2/enqueue`): anything that can page PagerDuty can page
Fireline by changing the URL. The routing key is the integration key."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from fireline.intake.alert import Action, IncomingAlert, PayloadInvalid
from fireline.intake.sources import numbers, validated

SOURCE = "pagerduty"
TITLE, SERVICE = 300, 200  # what a ticket keeps of them


class _Payload(BaseModel):
    model_config = ConfigDict(extra="allow")

    summary: str = Field(min_length=1, max_length=1024)
    source: str = Field(min_length=1)  # PagerDuty sets no limit: a URL, an ARN
    severity: Literal["critical", "error", "warning", "info"]
    timestamp: datetime | None = None
    component: str | None = None
    group: str | None = None
    class_: str | None = Field(default=None, alias="class")
    custom_details: Any = None


class _Link(BaseModel):
    href: str
    text: str = ""


class _Image(BaseModel):
    src: str
    href: str = ""
    alt: str = ""


class _Event(BaseModel):
    model_config = ConfigDict(extra="allow")

    routing_key: str = Field(min_length=1)
    event_action: Literal["trigger", "acknowledge", "resolve"]
    dedup_key: str | None = Field(default=None, max_length=255)
    payload: _Payload | None = None
    links: list[_Link] = Field(default_factory=list)
    images: list[_Image] = Field(default_factory=list)
    client: str | None = None
    client_url: str | None = None


class Event:
    """A parsed event: the routing key names the integration; the alert is what it says."""

    def __init__(self, routing_key: str, alert: IncomingAlert) -> None:
        self.routing_key = routing_key
        self.alert = alert


def parse(body: Any) -> Event:
    event = validated(_Event, body)
    action = Action(event.event_action)
    if action is Action.trigger and event.payload is None:
        raise PayloadInvalid("payload", "a trigger event needs a payload")
    if action is not Action.trigger and not event.dedup_key:
        raise PayloadInvalid("dedup_key", f"an {action} event needs the dedup_key of its alert")
    payload = event.payload
    details = payload.custom_details if payload is not None else None
    flat = (
        {str(k): str(v) for k, v in details.items() if not isinstance(v, dict | list)}
        if isinstance(details, dict)
        else {}
    )
    labels = {
        k: v
        for k, v in {
            "severity": payload.severity if payload else None,
            "component": payload.component if payload else None,
            "group": payload.group if payload else None,
            "class": payload.class_ if payload else None,
            "source": payload.source if payload else None,
        }.items()
        if v
    }
    description = (
        "" if details is None else (details if isinstance(details, str) else _pretty(details))
    )
    summary = payload.summary if payload is not None else ""
    if len(summary) > TITLE:
        # PagerDuty takes 1,024 characters, a ticket's title 300: the rest is not lost.
        description = summary + ("\n\n" + description if description else "")
    links = [link.href for link in event.links] + ([event.client_url] if event.client_url else [])
    links += [image.href or image.src for image in event.images]
    return Event(
        event.routing_key,
        IncomingAlert(
            source=SOURCE,
            action=action,
            title=(summary or event.dedup_key or "")[:TITLE],
            key=event.dedup_key,
            service=(payload.component or payload.source)[:SERVICE] if payload else None,
            description=description,
            severity=payload.severity if payload else None,
            labels=labels,
            signals=numbers(flat),
            links=tuple(link for link in links if link),
            occurred_at=payload.timestamp if payload else None,
        ),
    )


def _pretty(details: Any) -> str:
    return json.dumps(details, indent=2, sort_keys=True, default=str)

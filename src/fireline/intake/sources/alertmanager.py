"""Prometheus Alertmanager's webhook (payload version 4): a group of alerts, each firing or
resolved, each with Alertmanager's own fingerprint of its labels."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from fireline.intake.alert import Action, IncomingAlert, PayloadInvalid
from fireline.intake.sources import numbers, validated

SOURCE = "alertmanager"
log = logging.getLogger("fireline.intake")


class _Alert(BaseModel):
    model_config = ConfigDict(extra="allow")

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime | None = None
    endsAt: datetime | None = None
    generatorURL: str = ""
    fingerprint: str = ""


class _Message(BaseModel):
    model_config = ConfigDict(extra="allow")

    version: str
    status: Literal["firing", "resolved"]
    groupKey: str = ""
    truncatedAlerts: int = 0
    commonLabels: dict[str, str] = Field(default_factory=dict)
    externalURL: str = ""
    alerts: list[_Alert]


def parse(body: Any) -> list[IncomingAlert]:
    message = validated(_Message, body)
    if message.version != "4":
        raise PayloadInvalid(
            "version", f"Alertmanager payload version 4 expected, not {message.version!r}"
        )
    if message.truncatedAlerts > 0:
        # Alertmanager left these out of the group (the receiver's `max_alerts`): they never
        # reach us, so an operator must hear of it.
        log.warning(
            "Alertmanager group %s left out %d alerts (the receiver's max_alerts): "
            "they are not taken in; raise max_alerts or split the route",
            message.groupKey or "(no group key)",
            message.truncatedAlerts,
        )
    return [_alert(alert) for alert in message.alerts]


def _alert(alert: _Alert) -> IncomingAlert:
    labels, notes = alert.labels, alert.annotations
    name = labels.get("alertname", "alert")
    resolved = alert.status == "resolved"
    links = tuple(link for link in (alert.generatorURL,) if link)
    return IncomingAlert(
        source=SOURCE,
        action=Action.resolve if resolved else Action.trigger,
        title=(notes.get("summary") or name)[:300],
        key=alert.fingerprint or None,
        service=labels.get("service") or labels.get("job"),
        description=notes.get("description", ""),
        severity=labels.get("severity"),
        labels=dict(labels),
        signals=numbers(notes),
        links=links,
        occurred_at=(alert.endsAt if resolved else alert.startsAt),
    )

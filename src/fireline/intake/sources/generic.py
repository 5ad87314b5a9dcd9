"""Fireline's own JSON alert: for scripts and tools with no better-known format. It carries
structured signals (Hail's `cost_usd_per_hour`, …) for the policy's classification rules.

One alert, or a list of them:

    {"title": "Cloud spend over budget", "service": "batch",
     "signals": {"cost_usd_per_hour": 120},
     "labels": {"region": "us-central1"},
     "dedup_key": "spend-batch",             # optional: else a hash of service, title, labels
     "action": "trigger",                    # or "acknowledge", "resolve"
     "description": "…", "severity": "…", "links": ["https://…"],
     "occurred_at": "2026-11-25T10:00:00Z"}
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from fireline.intake.alert import Action, IncomingAlert
from fireline.intake.sources import validated

SOURCE = "generic"


class GenericAlert(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    title: str = Field(min_length=1, max_length=300)
    action: Literal["trigger", "acknowledge", "resolve"] = "trigger"
    dedup_key: str | None = Field(default=None, min_length=1, max_length=200)
    service: str | None = Field(default=None, max_length=200)
    description: str = Field(default="", max_length=20_000)
    severity: str | None = Field(default=None, max_length=40)
    labels: dict[str, str] = Field(default_factory=dict)
    signals: dict[str, float] = Field(default_factory=dict)
    links: list[str] = Field(default_factory=list, max_length=20)
    occurred_at: datetime | None = None


class GenericBatch(BaseModel):
    alerts: list[GenericAlert] = Field(min_length=1, max_length=1000)


def parse(body: Any) -> list[IncomingAlert]:
    alerts = validated(GenericBatch, {"alerts": body if isinstance(body, list) else [body]})
    return [_alert(alert) for alert in alerts.alerts]


def _alert(alert: GenericAlert) -> IncomingAlert:
    return IncomingAlert(
        source=SOURCE,
        action=Action(alert.action),
        title=alert.title,
        key=alert.dedup_key,
        service=alert.service,
        description=alert.description,
        severity=alert.severity,
        labels=dict(alert.labels),
        signals=dict(alert.signals),
        links=tuple(link for link in alert.links if link),
        occurred_at=alert.occurred_at,
    )

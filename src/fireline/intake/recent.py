"""The latest alerts received, for the dashboard: what came in, from where, what became of it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from fireline.auth.actor import Actor
from fireline.intake.models import AlertRow, Integration
from fireline.store.db import Database


@dataclass(frozen=True, slots=True)
class RecentAlert:
    id: int
    title: str
    service: str | None
    source: str
    action: str
    outcome: str
    ticket_id: int | None
    received_at: datetime


def recent_alerts(db: Database, actor: Actor, limit: int = 10) -> list[RecentAlert]:
    with db.reading() as session:
        rows = session.execute(
            select(AlertRow, Integration.name)
            .join(Integration, Integration.id == AlertRow.integration_id)
            .where(AlertRow.org_id == actor.org_id)
            .order_by(AlertRow.id.desc())
            .limit(limit)
        ).all()
        return [
            RecentAlert(
                id=a.id,
                title=a.title,
                service=a.service,
                source=name,
                action=a.action,
                outcome=a.outcome,
                ticket_id=a.ticket_id,
                received_at=a.received_at,
            )
            for a, name in rows
        ]

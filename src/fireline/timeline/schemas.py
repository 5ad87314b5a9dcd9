"""API shape of a timeline event."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class EventView(BaseModel):
    id: int
    kind: str
    summary: str
    data: dict[str, Any]
    actor: str | None
    via: str
    at: datetime
    ticket_id: int | None
    incident_id: int | None

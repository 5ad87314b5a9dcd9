"""Engine instances and their last completed cycle: what /health/engine reads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from fireline.store.base import Base


class EngineInstance(Base):
    __tablename__ = "engine_instances"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[datetime]
    last_cycle_at: Mapped[datetime | None]
    cycles: Mapped[int]

"""The paging engine as the settings configure it, for `fireline serve` and `fireline worker`
alike; apart from the web app, so a worker starts without importing it."""

from __future__ import annotations

from datetime import timedelta

from fireline.clock.now import Clock
from fireline.engine.cycle import Engine
from fireline.notify.channels.registry import Channels
from fireline.settings import Settings
from fireline.store.db import Database


def paging_engine(
    settings: Settings, db: Database, clock: Clock, instance: str | None = None
) -> Engine:
    channels = Channels(
        db,
        clock,
        settings.webhook_secret,
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_sender,
    )
    return Engine(
        db,
        clock,
        channels,
        instance=instance,
        lease=timedelta(seconds=settings.engine_lease_seconds),
        batch=settings.engine_batch,
    )

"""Deployment settings from FIRELINE_* environment variables; team behaviour lives in policies."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///var/fireline.db"
DEFAULT_WEBHOOK_SECRET = "change-me"


class UnsafeSettings(RuntimeError):
    """Settings fit for trying Fireline out, not for production: it refuses to start."""


class ClientSettings(BaseSettings):
    """What the CLI needs to talk to a server; the server's own settings are not its business."""

    model_config = SettingsConfigDict(env_prefix="FIRELINE_", extra="ignore")

    url: str = "http://127.0.0.1:8000"
    token: str | None = None


class Settings(ClientSettings):
    database_url: str = DEFAULT_DATABASE_URL
    # production: refuse settings only fit for trying Fireline out (the default webhook secret)
    env: Literal["development", "production"] = "development"
    host: str = "127.0.0.1"
    port: int = 8000
    # One line per request, in uvicorn's format (fireline.access_log); none for an alert
    # taken in (202), which is a row of the `alerts` table anyway.
    access_log: bool = True
    engine: bool = True
    # Where `serve` runs its engine: a process of its own keeps the engine's Python off the
    # event loop's interpreter lock (docs/operations.md); a thread keeps all in one process.
    engine_mode: Literal["process", "thread"] = "process"
    # Where intake's group commit runs: a process of its own overlaps its Python with the
    # server's (docs/alerts.md); a thread keeps everything in one process.
    intake_writer: Literal["process", "thread"] = "process"
    # Writer processes. Two on PostgreSQL take more alerts a second (one commits while the
    # other runs its Python) but leave less CPU to paging on a small machine (docs/alerts.md);
    # on SQLite they would only take turns on its single write lock.
    intake_writers: int = Field(default=1, ge=1, le=16)
    # A writer's statement that has run, or waited for a lock (on SQLite, the write lock),
    # this long is cancelled and its batch answered 503 with Retry-After: senders retry
    # rather than wait on a database that hangs.
    intake_statement_timeout_seconds: float = Field(default=10.0, ge=0.001, le=3600)
    # A writer process that leaves a request unanswered this long (hung in its Python,
    # stopped) is killed and replaced; what it held is answered 503.
    intake_writer_stuck_seconds: float = Field(default=60.0, ge=0.5, le=86400)
    engine_interval: float = 1.0
    engine_lease_seconds: float = 60.0
    engine_batch: int = 200
    # Signs webhooks of contact methods made before they had their own secret (migration 0005).
    webhook_secret: str = DEFAULT_WEBHOOK_SECRET
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_sender: str = "fireline@localhost"
    spool_dir: str = "var/spool"

    @model_validator(mode="after")
    def _fit_for_production(self) -> Settings:
        # Not a ValueError: pydantic would fold it into a validation error report; this
        # should reach the operator as the one sentence it is.
        if self.env == "production" and self.webhook_secret in (DEFAULT_WEBHOOK_SECRET, ""):
            raise UnsafeSettings(
                "FIRELINE_ENV is production but FIRELINE_WEBHOOK_SECRET is the default "
                f"{DEFAULT_WEBHOOK_SECRET!r}: anyone could sign pages as Fireline. Set it to a "
                "long random value, e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`."
            )
        return self

"""Deployment settings from FIRELINE_* environment variables; team behaviour lives in policies."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite:///var/fireline.db"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FIRELINE_", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    host: str = "127.0.0.1"
    port: int = 8000
    url: str = "http://127.0.0.1:8000"
    token: str | None = None
    engine: bool = True
    engine_interval: float = 1.0
    engine_lease_seconds: float = 60.0
    engine_batch: int = 200
    webhook_secret: str = "change-me"
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_sender: str = "fireline@localhost"
    spool_dir: str = "var/spool"

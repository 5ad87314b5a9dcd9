"""API shapes for contact methods and the notification log."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class NewContactMethod(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    kind: Literal["email", "webhook", "inbox", "apprise"]
    target: str = Field(min_length=1, max_length=2000, description="address or URL")
    delay_minutes: int = Field(
        default=0, ge=0, le=24 * 60, description="notify this way this long after a page starts"
    )


class ContactMethodView(BaseModel):
    id: int
    name: str
    kind: str
    target: str
    delay_minutes: list[int]
    signed_with: Literal["own-secret", "deployment-secret"] | None = Field(
        default=None,
        description="webhooks: the method's own HMAC key, or (methods made before they had "
        "one) the deployment's FIRELINE_WEBHOOK_SECRET",
    )
    secret: str | None = Field(
        default=None,
        description="a new webhook's HMAC key: in the response that creates it, and never again",
    )


class NotificationView(BaseModel):
    id: int
    person: str | None
    kind: str
    target: str
    subject: str
    status: str
    attempts: int
    last_error: str | None
    deliver_after: datetime
    sent_at: datetime | None
    idempotency_key: str


class InboxView(BaseModel):
    id: int
    subject: str
    body: str
    created_at: datetime

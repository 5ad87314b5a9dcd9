"""What every channel is handed, and how it says it failed."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    key: str
    kind: str
    target: str
    subject: str
    body: str
    user_id: int | None
    ticket_id: int | None
    # The contact method's own webhook key; None: the deployment's (FIRELINE_WEBHOOK_SECRET).
    secret: str | None = None


class DeliveryFailed(Exception):
    def __init__(self, message: str, *, retry: bool = True) -> None:
        super().__init__(message)
        self.retry = retry

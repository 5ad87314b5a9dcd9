"""The local inbox: a page stored for the person, once per idempotency key."""

from __future__ import annotations

from datetime import datetime

from fireline.notify.channels.delivery import Delivery
from fireline.notify.models import InboxMessage
from fireline.store.db import Database
from fireline.store.upsert import insert_new


def send(delivery: Delivery, db: Database, now: datetime) -> None:
    assert delivery.user_id is not None
    with db.transaction() as session:
        insert_new(
            session,
            InboxMessage,
            [
                {
                    "user_id": delivery.user_id,
                    "idempotency_key": delivery.key,
                    "subject": delivery.subject,
                    "body": delivery.body,
                    "created_at": now,
                }
            ],
            "idempotency_key",
        )

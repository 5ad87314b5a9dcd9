"""Signed outgoing webhooks: JSON, an Idempotency-Key, and an HMAC-SHA256 signature header.

`X-Fireline-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with the
deployment's webhook secret; receivers recompute it and reject stale timestamps.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx

from fireline.notify.channels.delivery import Delivery, DeliveryFailed

SIGNATURE = "X-Fireline-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def send(delivery: Delivery, secret: str, client: httpx.Client) -> None:
    body = json.dumps(
        {
            "idempotency_key": delivery.key,
            "subject": delivery.subject,
            "body": delivery.body,
            "ticket_id": delivery.ticket_id,
        }
    ).encode()
    headers = {
        "Content-Type": "application/json",
        "Idempotency-Key": delivery.key,
        SIGNATURE: sign(secret, int(time.time()), body),
    }
    try:
        response = client.post(delivery.target, content=body, headers=headers)
    except httpx.HTTPError as error:
        raise DeliveryFailed(f"webhook {delivery.target}: {error}") from None
    if response.status_code >= 300:
        retry = response.status_code >= 500 or response.status_code == 429
        raise DeliveryFailed(f"webhook {delivery.target}: HTTP {response.status_code}", retry=retry)

"""Signed outgoing webhooks: JSON, an Idempotency-Key, and an HMAC-SHA256 signature header.

`X-Fireline-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with the
contact method's own secret (the deployment's for methods made before they had one);
receivers recompute it and reject stale timestamps (docs/paging.md shows how).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import urllib3

from fireline.notify.channels.delivery import Delivery, DeliveryFailed

SIGNATURE = "X-Fireline-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def connection_pool() -> urllib3.PoolManager:
    """Kept-alive connections shared by the engine's sender threads. urllib3 rather than
    httpx: a webhook is the engine's hot path, and urllib3 costs about half the CPU per
    request. No retries here: the outbox retries, with back-off, and records each try."""
    return urllib3.PoolManager(
        maxsize=8, timeout=urllib3.Timeout(connect=5, read=10), retries=False
    )


def send(delivery: Delivery, secret: str, pool: urllib3.PoolManager) -> None:
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
        response = pool.request("POST", delivery.target, body=body, headers=headers)
    except (urllib3.exceptions.HTTPError, ValueError) as error:
        raise DeliveryFailed(f"webhook {delivery.target}: {error}") from None
    if response.status >= 300:
        retry = response.status >= 500 or response.status == 429
        raise DeliveryFailed(f"webhook {delivery.target}: HTTP {response.status}", retry=retry)

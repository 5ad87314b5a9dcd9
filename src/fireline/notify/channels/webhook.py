"""Signed outgoing webhooks: JSON, an Idempotency-Key, and an HMAC-SHA256 signature header.

`X-Fireline-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with the
contact method's own secret (the deployment's for methods made before they had one);
receivers recompute it and reject stale timestamps (docs/paging.md shows how).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from functools import lru_cache
from http.client import HTTPConnection, HTTPException, HTTPSConnection, RemoteDisconnected
from typing import Any
from urllib.parse import urlsplit

from fireline.notify.channels.delivery import Delivery, DeliveryFailed

SIGNATURE = "X-Fireline-Signature"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


class _HTTP(HTTPConnection):
    """Sends a request's head and body in one write. The standard library writes them apart,
    and with Nagle's algorithm off that is two packets and two wake-ups of the receiver for
    every webhook: a good part of the CPU a page costs on both sides."""

    _held: list[bytes] | None = None

    def send(self, data: Any) -> None:
        if self._held is not None and isinstance(data, bytes):
            self._held.append(data)
            return
        super().send(data)

    def post_at_once(self, path: str, body: bytes, headers: dict[str, str]) -> None:
        self._held = []
        try:
            self.request("POST", path, body=body, headers=headers)
            held = b"".join(self._held)
        finally:
            self._held = None
        self.send(held)


class _HTTPS(_HTTP, HTTPSConnection):
    pass


@lru_cache(maxsize=1024)
def _where(url: str) -> tuple[tuple[str, str, int | None], str]:
    """(scheme, host, port) and the path of a webhook URL, parsed once per URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return (parts.scheme, parts.hostname, parts.port), path


class KeepAlive:
    """Kept-alive HTTP connections, one set per sender thread (a connection is not shared
    while a request is on it). The standard library's client rather than urllib3 or httpx: a
    webhook is the engine's hot path, and it costs half urllib3's CPU per request. No retries
    of a request that may have arrived: the outbox retries, with back-off, and records each
    try; only a kept-alive connection the receiver had already closed is opened anew."""

    def __init__(self, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self._local = threading.local()

    def _connection(self, scheme: str, host: str, port: int | None) -> _HTTP | _HTTPS:
        held: dict[tuple[str, str, int | None], _HTTP | _HTTPS] = self._local.__dict__.setdefault(
            "connections", {}
        )
        key = (scheme, host, port)
        if key not in held:
            kind = _HTTPS if scheme == "https" else _HTTP
            held[key] = kind(host, port, timeout=self.timeout)
        return held[key]

    def _forget(self, scheme: str, host: str, port: int | None) -> None:
        connection = self._local.__dict__.get("connections", {}).pop((scheme, host, port), None)
        if connection is not None:
            connection.close()

    def close(self) -> None:
        """Close the calling thread's connections."""
        for connection in self._local.__dict__.pop("connections", {}).values():
            connection.close()

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """POST and read the answer; its status. Raises OSError or HTTPException."""
        where, path = _where(url)
        for attempt in (1, 2):
            connection = self._connection(*where)
            reused = connection.sock is not None
            try:
                connection.post_at_once(path, body, headers)
                response = connection.getresponse()
                response.read(MAX_ANSWER)
                if response.will_close or not response.isclosed():
                    self._forget(*where)
                return response.status
            except (RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self._forget(*where)
                if not reused or attempt == 2:
                    raise
            except (OSError, HTTPException):
                self._forget(*where)
                raise
        raise AssertionError("unreachable")


# A receiver's answer is read (to keep the connection) up to this much; a longer one closes it.
MAX_ANSWER = 64 * 1024


def send(delivery: Delivery, secret: str, connections: KeepAlive) -> None:
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
        status = connections.post(delivery.target, body, headers)
    except (OSError, HTTPException, ValueError) as error:
        raise DeliveryFailed(f"webhook {delivery.target}: {error}") from None
    if status >= 300:
        retry = status >= 500 or status == 429
        raise DeliveryFailed(f"webhook {delivery.target}: HTTP {status}", retry=retry)

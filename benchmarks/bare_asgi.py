"""The issue's yardstick for this machine: a bare ASGI app (no framework) under uvicorn that
does one asyncpg statement per request. The issue measured about 5,000 requests/s for one
INSERT a request and about 2,600/s for one UPSERT of a single hot row "on this machine";
measured here in the same run as Fireline, it says how fast today's machine is against the
one the targets were set on.

    FIRELINE_BARE_URL=postgresql://127.0.0.1/db FIRELINE_BARE_STATEMENT=insert \\
        .venv/bin/uvicorn --app-dir benchmarks bare_asgi:app --no-access-log

`intake.py` starts it itself (`bare_peer`); this module is only the app.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

POOL_SIZE = 16
STATEMENTS = {
    "insert": "INSERT INTO bare_alerts (title) VALUES ($1)",
    "upsert": (
        "INSERT INTO bare_hot (id, title, hits) VALUES (1, $1, 1) "
        "ON CONFLICT (id) DO UPDATE SET hits = bare_hot.hits + 1, title = excluded.title"
    ),
}
TABLES = (
    "CREATE TABLE IF NOT EXISTS bare_alerts (id bigserial PRIMARY KEY, title text NOT NULL)",
    "CREATE TABLE IF NOT EXISTS bare_hot (id int PRIMARY KEY, title text, hits bigint)",
)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_pool: asyncpg.Pool | None = None
_statement = STATEMENTS[os.environ.get("FIRELINE_BARE_STATEMENT", "insert")]
_ACCEPTED = {
    "type": "http.response.start",
    "status": 202,
    "headers": [(b"content-type", b"application/json"), (b"content-length", b"2")],
}
_BODY = {"type": "http.response.body", "body": b"{}"}


async def _lifespan(receive: Receive, send: Send) -> None:
    global _pool
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            _pool = await asyncpg.create_pool(
                os.environ["FIRELINE_BARE_URL"], min_size=POOL_SIZE, max_size=POOL_SIZE
            )
            async with _pool.acquire() as connection:
                for table in TABLES:
                    await connection.execute(table)
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            if _pool is not None:
                await _pool.close()
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    title = json.loads(body)[0]["labels"]["alertname"] if body else "ready"
    assert _pool is not None
    await _pool.execute(_statement, title)
    await send(_ACCEPTED)
    await send(_BODY)

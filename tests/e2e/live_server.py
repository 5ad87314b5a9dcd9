"""Fireline served by a real uvicorn on a free loopback port, in a thread: for peers and
clients that must reach it over HTTP (Alertmanager, PagerDuty's client, the CLI)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from fireline.app import create_app
from fireline.clock.now import Clock
from fireline.store.db import Database


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def live_server(db: Database, clock: Clock, *, engine: bool | None = None) -> Iterator[str]:
    """The base URL of Fireline serving `db` on `clock`, until the block ends."""
    port = free_port()
    config = uvicorn.Config(
        create_app(db=db, clock=clock, engine=engine),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        ws="none",
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="fireline-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "the server stopped while starting"
        assert time.monotonic() < deadline, "the server did not start within 10 s"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
    assert not thread.is_alive(), "the server did not stop"

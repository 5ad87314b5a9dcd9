"""A fast local webhook peer for benchmarks: HTTP/1.1 keep-alive on asyncio, in its own
process, so that the receiver is not what a delivery benchmark measures.

    with webhook_receiver() as (url, count): ...  # count.value: requests answered
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.sharedctypes import Synchronized
from typing import Any

ANSWER = b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n"


async def _serve_connection(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    count: Synchronized[int],
    arrivals: Any,
) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            body = await reader.readexactly(length)
            if arrivals is not None:
                arrivals.put((time.time(), json.loads(body).get("ticket_id")))
            with count.get_lock():
                count.value += 1
            writer.write(ANSWER)
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


def _run(listener: socket.socket, count: Synchronized[int], arrivals: Any) -> None:
    async def main() -> None:
        server = await asyncio.start_server(
            lambda r, w: _serve_connection(r, w, count, arrivals), sock=listener
        )
        await server.serve_forever()

    asyncio.run(main())


@contextmanager
def webhook_receiver(arrivals: Any = None) -> Iterator[tuple[str, Synchronized[int]]]:
    """`arrivals`, a multiprocessing queue, receives (arrival time, ticket id) per request."""
    listener = socket.create_server(("127.0.0.1", 0))
    count: Synchronized[int] = multiprocessing.Value("q", 0)  # type: ignore[assignment]
    process = multiprocessing.get_context("fork").Process(
        target=_run, args=(listener, count, arrivals), daemon=True
    )
    process.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/hook", count
    finally:
        process.terminate()
        process.join()
        listener.close()

"""A bounded HTTP/1.1 load generator on asyncio: keep-alive connections, pre-built requests,
no client library in the way. Closed loop (each connection sends its next request when the
last is answered) for throughput; open loop (a fixed rate) for latency at a given load.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Result:
    sent: int
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]

    @property
    def rate(self) -> float:
        return self.sent / self.seconds

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0

    def summary(self) -> str:
        codes = ", ".join(f"{code}: {n:,}" for code, n in sorted(self.statuses.items()))
        return (
            f"{self.sent:,} in {self.seconds:.1f} s = {self.rate:,.0f}/s; latency p50 "
            f"{self.percentile(0.5) * 1000:.1f} ms, p99 {self.percentile(0.99) * 1000:.1f} ms "
            f"(status {codes})"
        )


def request(path: str, body: bytes, headers: dict[str, str]) -> bytes:
    head = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {len(body)}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, payload: bytes
) -> int:
    writer.write(payload)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    await reader.readexactly(length)
    return status


async def closed_loop(
    port: int, make: Callable[[int], bytes], total: int, connections: int
) -> Result:
    """Send `total` requests over `connections` kept-alive connections, as fast as answered."""
    counter = iter(range(total))
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for n in counter:
            began = time.perf_counter()
            status = await _exchange(reader, writer, make(n))
            latencies.append(time.perf_counter() - began)
            statuses[status] = statuses.get(status, 0) + 1
        writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(connections)))
    return Result(total, time.perf_counter() - began, latencies, statuses)


async def open_loop(
    port: int, make: Callable[[int], bytes], rate: float, seconds: float, connections: int
) -> Result:
    """Offer `rate` requests per second for `seconds`, whatever the answers' pace; latency is
    counted from each request's scheduled instant, so queueing shows (no coordinated omission)."""
    total = int(rate * seconds)
    queue: asyncio.Queue[tuple[int, float] | None] = asyncio.Queue()
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def connection() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        while (item := await queue.get()) is not None:
            n, due = item
            status = await _exchange(reader, writer, make(n))
            latencies.append(time.perf_counter() - due)
            statuses[status] = statuses.get(status, 0) + 1
        writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    began = time.perf_counter()
    for n in range(total):
        due = began + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        queue.put_nowait((n, due))
    for _ in workers:
        queue.put_nowait(None)
    await asyncio.gather(*workers)
    return Result(total, time.perf_counter() - began, latencies, statuses)

"""The live pages' event stream: what it tells, and when."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

from fireline.web.live import events


def stream(newest: Iterator[int], known: int | None, polls: int) -> list[str]:
    async def latest() -> int:
        return next(newest)

    async def disconnected() -> bool:
        return False

    async def run() -> list[str]:
        poll = 0.001  # seconds
        return [e async for e in events(latest, known, disconnected, poll, polls * poll)]

    return asyncio.run(run())


def test_a_change_made_before_the_stream_started_is_told_at_once() -> None:
    # The page showed event 7; event 9 came before its stream started.
    told = stream(iter([9]), known=7, polls=0)
    assert told == [
        "retry: 3000\nid: 7\nevent: hello\ndata: 7\n\n",
        "id: 9\nevent: changed\ndata: 9\n\n",
    ]


def test_without_a_known_event_the_stream_starts_from_the_newest() -> None:
    told = stream(iter([9, 9, 12]), known=None, polls=2)
    assert told == [
        "retry: 3000\nid: 9\nevent: hello\ndata: 9\n\n",
        ": still here\n\n",
        "id: 12\nevent: changed\ndata: 12\n\n",
    ]


def test_nothing_new_is_told_as_a_keepalive_only() -> None:
    told = stream(iter([5, 5, 5]), known=5, polls=2)
    assert told[1:] == [": still here\n\n", ": still here\n\n"]

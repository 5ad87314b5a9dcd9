"""Live pages: a server-sent event whenever the organisation's timeline moves on.

Each open page holds one stream that looks at the newest timeline event every few seconds; the
page's script then reloads its main content. The stream ends after a while and the browser's
EventSource reconnects by itself, so no connection lives forever."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from fireline.context import DB
from fireline.web.render import newest_event
from fireline.web.session import User

router = APIRouter(include_in_schema=False)

POLL_SECONDS = 2.0
STREAM_SECONDS = 300.0


@router.get("/app/live")
async def live(request: Request, db: DB, user: User, since: int | None = None) -> StreamingResponse:
    """`since`: the newest event the page showed (`data-live`). A change made between the
    page's rendering and this stream's start is then told at once, not missed; on a
    reconnection the browser's Last-Event-ID says the newest it was told of."""
    org_id = user.actor.org_id
    last_told = request.headers.get("last-event-id", "")
    known = int(last_told) if last_told.isdigit() else since

    async def latest() -> int:
        return await run_in_threadpool(newest_event, db, org_id)

    return StreamingResponse(
        events(latest, known, request.is_disconnected),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def events(
    latest: Callable[[], Awaitable[int]],
    known: int | None,
    disconnected: Callable[[], Awaitable[bool]],
    poll_seconds: float = POLL_SECONDS,
    stream_seconds: float = STREAM_SECONDS,
) -> AsyncIterator[str]:
    """The stream: hello (with the newest event known), then `changed` whenever the newest
    event is another than the last told, at once if it already is."""
    now = await latest()
    seen = now if known is None else known
    yield f"retry: 3000\nid: {seen}\nevent: hello\ndata: {seen}\n\n"
    waited = 0.0
    while True:
        if now != seen:
            seen = now
            yield f"id: {seen}\nevent: changed\ndata: {seen}\n\n"
        elif waited:
            yield ": still here\n\n"
        if waited >= stream_seconds or await disconnected():
            return
        await asyncio.sleep(poll_seconds)
        waited += poll_seconds
        now = await latest()

"""Live pages: a server-sent event whenever the organisation's timeline moves on.

Each open page holds one stream that looks at the newest timeline event every few seconds; the
page's script then reloads its main content. The stream ends after a while and the browser's
EventSource reconnects by itself, so no connection lives forever."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from fireline.context import DB
from fireline.store.db import Database
from fireline.timeline.service import latest_event_id
from fireline.web.session import User

router = APIRouter(include_in_schema=False)

POLL_SECONDS = 2.0
STREAM_SECONDS = 300.0


def _latest(db: Database, org_id: int) -> int:
    with db.transaction() as session:
        return latest_event_id(session, org_id)


@router.get("/app/live")
async def live(request: Request, db: DB, user: User) -> StreamingResponse:
    org_id = user.actor.org_id

    async def changes() -> AsyncIterator[str]:
        seen = await run_in_threadpool(_latest, db, org_id)
        yield f"retry: 3000\nevent: hello\ndata: {seen}\n\n"
        waited = 0.0
        while waited < STREAM_SECONDS and not await request.is_disconnected():
            await asyncio.sleep(POLL_SECONDS)
            waited += POLL_SECONDS
            latest = await run_in_threadpool(_latest, db, org_id)
            if latest != seen:
                seen = latest
                yield f"event: changed\ndata: {latest}\n\n"
            else:
                yield ": still here\n\n"

    return StreamingResponse(
        changes(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )

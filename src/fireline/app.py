"""Builds the ASGI app: routers, problem+json error handlers, shared database and clock."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy import text

from fireline import problems
from fireline.auth.api import router as auth_router
from fireline.clock.now import Clock, SystemClock
from fireline.incidents.api import router as incidents_router
from fireline.oncall.api import router as oncall_router
from fireline.orgs.api import router as orgs_router
from fireline.settings import Settings
from fireline.store.db import Database
from fireline.tickets.api import router as tickets_router
from fireline.web.pages import router as pages_router


class RedactTokens(logging.Filter):
    """Keep tokens that had to travel in a URL (calendar feeds) out of the access log."""

    _TOKEN = re.compile(r"(token=)[^&\s\"]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(
                self._TOKEN.sub(r"\1[redacted]", a) if isinstance(a, str) else a
                for a in record.args
            )
        record.msg = self._TOKEN.sub(r"\1[redacted]", str(record.msg))
        return True


def create_app(
    settings: Settings | None = None, db: Database | None = None, clock: Clock | None = None
) -> FastAPI:
    settings = settings or Settings()
    database = db or Database(settings.database_url)
    owns_database = db is None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        if owns_database:
            database.dispose()

    app = FastAPI(
        title="Fireline",
        version="0.1.0",
        summary="Your written incident process, executable.",
        lifespan=lifespan,
    )
    access_log = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactTokens) for f in access_log.filters):
        access_log.addFilter(RedactTokens())
    app.state.db = database
    app.state.clock = clock or SystemClock()
    problems.install(app)
    for router in (
        auth_router,
        orgs_router,
        tickets_router,
        incidents_router,
        oncall_router,
        pages_router,
    ):
        app.include_router(router)

    @app.get("/health", tags=["operations"])
    def health() -> dict[str, str]:
        with database.transaction() as session:
            session.execute(text("SELECT 1"))
        return {"status": "ok", "database": database.dialect}

    return app

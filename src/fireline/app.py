"""Builds the ASGI app: routers, problem+json error handlers, shared database and clock."""

from __future__ import annotations

import gc
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from starlette.types import Receive, Scope, Send

from fireline import openapi, problems
from fireline.access_log import logging_send
from fireline.auth.api import router as auth_router
from fireline.clock.now import Clock, SystemClock
from fireline.context import StorableInput
from fireline.engine.configured import paging_engine
from fireline.engine.cycle import Engine, last_cycle
from fireline.engine.process import EngineProcess
from fireline.escalation.api import router as escalation_router
from fireline.incidents.api import router as incidents_router
from fireline.intake.api import LANE_ROUTES, take_spooled
from fireline.intake.api import router as intake_router
from fireline.intake.group_commit import GroupCommit
from fireline.intake.lane import IntakeLane
from fireline.intake.spool import Drainer, Spool
from fireline.intake.writer_process import WriterPool
from fireline.notify.api import router as notify_router
from fireline.oncall.api import router as oncall_router
from fireline.orgs.api import router as orgs_router
from fireline.settings import Settings
from fireline.statuspage.api import router as statuspage_router
from fireline.store.db import Database, in_memory
from fireline.store.statistics import GrowthWatch
from fireline.tickets.api import router as tickets_router
from fireline.web import session as web_session
from fireline.web.actions import router as actions_router
from fireline.web.live import router as live_router
from fireline.web.pages import router as pages_router
from fireline.web.status import router as status_router

ENGINE_STALE = timedelta(seconds=30)
ENGINE_STALLED = {503: "No engine has completed a cycle within the last 30 seconds"}


class _WithIntakeLane(FastAPI):
    """FastAPI with `IntakeLane` ahead of everything it does per request, even its native
    telemetry's check (which reads the environment and looks up tracers every time) and its
    error middleware. The lane's errors are problem+json too, an unexpected one a 500 whose
    exception is logged."""

    lane: IntakeLane
    access_log: bool

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self  # as Starlette sets it: the endpoints find their state there
        if await self.lane.take(scope, receive, send):
            return
        if self.access_log and scope["type"] == "http":
            send = logging_send(scope, send)
        await super().__call__(scope, receive, send)


def create_app(
    settings: Settings | None = None,
    db: Database | None = None,
    clock: Clock | None = None,
    *,
    engine: bool | None = None,
) -> FastAPI:
    """The app; it runs the engine in a thread when `engine` (default: settings.engine, and
    never for a database passed in, as tests do)."""
    settings = settings or Settings()
    database = db or Database(settings.database_url)
    owns_database = db is None
    the_clock = clock or SystemClock()
    run_engine = (settings.engine and owns_database) if engine is None else engine
    # The intake's writer and the engine get processes of their own when a child can open
    # the same database with the same clock (not for a database or clock handed in, as
    # tests do).
    children_can = owns_database and clock is None and not in_memory(settings.database_url)
    writer_process = children_can and settings.intake_writer == "process"
    engine_process = children_can and run_engine and settings.engine_mode == "process"

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        worker: threading.Thread | None = None
        background: Engine | EngineProcess | None = None
        if run_engine:
            engine = paging_engine(settings, database, the_clock)
            engine.register()  # refuses a second engine on SQLite, before serving
            if engine_process:
                background = EngineProcess(settings, engine.instance)
                background.start()
            else:
                background = engine
                worker = threading.Thread(
                    target=engine.run,
                    args=(stop, settings.engine_interval),
                    name="fireline-engine",
                    daemon=True,
                )
                worker.start()
        _app.state.engine = background
        statistics = GrowthWatch(database, ("tickets", "alerts"))

        def committed(alerts: int) -> None:
            statistics.grew(alerts)
            if background is not None:
                background.wake()

        intake: GroupCommit | WriterPool
        if writer_process:
            intake = await WriterPool.started(
                settings.database_url,
                settings.intake_writers,
                committed=committed,
                statement_timeout=settings.intake_statement_timeout_seconds,
                stuck_after=settings.intake_writer_stuck_seconds,
            )
        else:
            intake = GroupCommit(database, the_clock, committed=committed)
        _app.state.intake, _app.state.statistics = intake, statistics
        _app.state.spool = spool = Spool(settings.spool_dir)
        drainer = Drainer(spool, take_spooled(database, the_clock), interval=2.0)
        # What is loaded by now (modules, routes, compiled queries) lives as long as the
        # process: out of the collector's sight, full collections stop walking it again and
        # again (pauses of 60-70 ms under load before).
        gc.collect()
        gc.freeze()
        yield
        drainer.close()
        await intake.aclose()
        statistics.wait(timeout=10)
        stop.set()
        if worker is not None:
            worker.join(timeout=10)
        if isinstance(background, EngineProcess):
            background.close()
        if owns_database:
            database.dispose()

    app = _WithIntakeLane(
        title="Fireline",
        version="0.1.0",
        summary="Your written incident process, executable.",
        lifespan=lifespan,
    )
    app.lane = IntakeLane(LANE_ROUTES, access_log=settings.access_log)
    app.access_log = settings.access_log
    app.state.db = database
    app.state.clock = the_clock
    problems.install(app)
    # FastAPI tries the included routers in order, each route by its regex: the alert
    # endpoints, the busiest by far, go first.
    for router in (
        intake_router,
        auth_router,
        orgs_router,
        tickets_router,
        incidents_router,
        oncall_router,
        escalation_router,
        notify_router,
        statuspage_router,
        pages_router,
        actions_router,
        live_router,
        status_router,
    ):
        # Intake checks its own input: an alert's NUL is kept as U+FFFD, not refused.
        checked = [] if router is intake_router else [StorableInput]
        app.include_router(router, dependencies=checked)
    web_session.install(app)
    app.mount("/static", StaticFiles(directory=Path(web_session.__file__).parent / "static"))

    @app.get(
        "/health/engine",
        tags=["operations"],
        responses=openapi.refusals(503, described=ENGINE_STALLED, retry_after=False),
    )
    def engine_health() -> JSONResponse:
        """Fails (503) unless some engine completed a full cycle within the last 30 seconds."""
        last = last_cycle(database)
        now = app.state.clock.now()
        if last is None or now - last > ENGINE_STALE:
            return JSONResponse(
                {
                    "type": problems.TYPE_BASE + "engine-stalled",
                    "title": "Engine stalled",
                    "status": 503,
                    "instance": "/health/engine",
                    "detail": "no engine has completed a cycle"
                    if last is None
                    else f"the last engine cycle completed at {last.isoformat()}",
                },
                status_code=503,
                media_type=problems.PROBLEM,
            )
        return JSONResponse({"status": "ok", "last_cycle_at": last.isoformat()})

    @app.get("/health", tags=["operations"])
    def health() -> dict[str, str]:
        with database.transaction() as session:
            session.execute(text("SELECT 1"))
        return {"status": "ok", "database": database.dialect}

    openapi.document_refusals(app)
    return app

"""The `fireline` command."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from fireline.cli import alerts, escalation, incidents, oncall, policy, tickets
from fireline.settings import Settings, UnsafeSettings

app = typer.Typer(help="Fireline: your written incident process, executable.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
app.add_typer(policy.app, name="policy")
app.add_typer(tickets.app, name="ticket")
app.add_typer(incidents.app, name="incident")
app.add_typer(oncall.app, name="oncall")
app.add_typer(escalation.app, name="escalation")
app.add_typer(alerts.integrations, name="integration")
app.add_typer(alerts.silences, name="silence")
app.add_typer(db_app, name="db")
app.command("init")(policy.init)
out = Console()


def _settings() -> Settings:
    """The deployment's settings; unfit for production ones stop here, in one sentence."""
    try:
        return Settings()
    except UnsafeSettings as unsafe:
        Console(stderr=True).print(
            f"Fireline refuses to start: {unsafe}", style="red", markup=False, soft_wrap=True
        )
        raise typer.Exit(1) from None


@db_app.command()
def upgrade() -> None:
    """Migrate the database at FIRELINE_DATABASE_URL to the newest schema."""
    from fireline.store.migrate import upgrade as run_upgrade

    url = _settings().database_url
    run_upgrade(url)
    out.print(f"database at {_redacted(url)} is up to date")


@db_app.command()
def check() -> None:
    """Check the references PostgreSQL leaves to Fireline (on the intake's tables): exits 1,
    naming them, if any row refers to a row that does not exist."""
    from fireline.store.db import Database
    from fireline.store.loose_keys import orphans

    db = Database(_settings().database_url)
    try:
        with db.engine.connect() as connection:
            found = orphans(connection)
    finally:
        db.dispose()
    for orphan in found:
        out.print(f"[red]refers to nothing[/]: {orphan}")
    if found:
        raise typer.Exit(1)
    out.print("every reference holds")


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


@app.command()
def demo() -> None:
    """Migrate, then load the demo organisation (once) and print how to log in."""
    from fireline.clock.now import SystemClock
    from fireline.orgs.demo import load_demo
    from fireline.store.db import Database
    from fireline.store.migrate import upgrade as run_upgrade

    settings = _settings()
    run_upgrade(settings.database_url)
    db = Database(settings.database_url)
    try:
        login = load_demo(db, SystemClock())
    finally:
        db.dispose()
    state = "created" if login.created else "already there"
    out.print(f"Demo organisation {state}.")
    out.print(f"  Fireline: {settings.url}/")
    out.print(f"  Log in to the API at {settings.url}/docs: press Authorize, paste the token")
    out.print(f"  Token of [bold]{login.handle}[/]: {login.token}", soft_wrap=True)
    out.print(f"  For the CLI: export FIRELINE_TOKEN={login.token}", soft_wrap=True)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option("--host")] = None,
    port: Annotated[int | None, typer.Option("--port")] = None,
    engine: Annotated[
        bool, typer.Option("--engine/--no-engine", help="run the paging engine in this process")
    ] = True,
    access_log: Annotated[
        bool | None,
        typer.Option("--access-log/--no-access-log", help="log each request (FIRELINE_ACCESS_LOG)"),
    ] = None,
) -> None:
    """Serve the API and pages (and, by default, the engine that pages people)."""
    import uvicorn

    from fireline.access_log import uvicorn_logging
    from fireline.app import create_app

    settings = _settings()
    if access_log is not None:
        settings = settings.model_copy(update={"access_log": access_log})
    out.print(f"Fireline on http://{host or settings.host}:{port or settings.port}/")
    uvicorn.run(
        create_app(settings, engine=engine and settings.engine),
        host=host or settings.host,
        port=port or settings.port,
        # The app writes the access log (fireline.access_log), in uvicorn's format.
        access_log=False,
        log_config=uvicorn_logging(),
    )


@app.command()
def worker(
    interval: Annotated[
        float | None, typer.Option("--interval", help="seconds between idle cycles")
    ] = None,
) -> None:
    """Run the engine alone: due escalations and the outbox. Run several on PostgreSQL."""
    import gc
    import signal
    import threading

    # First, so that a worker stopped while it starts (imports take seconds) stops cleanly.
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    from fireline.clock.now import SystemClock
    from fireline.engine.configured import paging_engine
    from fireline.engine.cycle import EngineRefused
    from fireline.store.db import Database

    settings = _settings()
    # A worker frozen inside a transaction loses its session after one lease: its locks go.
    db = Database(settings.database_url, settings.engine_lease_seconds)
    engine = paging_engine(settings, db, SystemClock())
    # As `serve` does: what startup loaded stays out of the collector's full collections.
    gc.collect()
    gc.freeze()
    out.print(f"engine {engine.instance} on {_redacted(settings.database_url)}")
    try:
        engine.run(stop, interval or settings.engine_interval)
    except EngineRefused as refused:
        out.print(f"[red]{refused}[/]")
        raise typer.Exit(1) from None
    finally:
        db.dispose()


def main() -> None:
    app()

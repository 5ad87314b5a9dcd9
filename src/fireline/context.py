"""What every HTTP handler needs: the database, the clock and the acting user."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from fireline.auth.actor import Actor, Via
from fireline.auth.service import authenticate
from fireline.clock.now import Clock
from fireline.errors import Unauthorized
from fireline.store.db import Database


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def clock(request: Request) -> Clock:
    found: Clock = request.app.state.clock
    return found


def actor(request: Request, db: Annotated[Database, Depends(database)]) -> Actor:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header and request.url.path.endswith(".ics"):
        # Calendar apps subscribe by URL and cannot send headers; the access log redacts it.
        scheme, token = "bearer", request.query_params.get("token", "")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("send an API token as 'Authorization: Bearer fl_…'")
    via = Via.cli if request.headers.get("x-fireline-client") == "cli" else Via.api
    return authenticate(db, token.strip(), via)


DB = Annotated[Database, Depends(database)]
ClockDep = Annotated[Clock, Depends(clock)]
ActorDep = Annotated[Actor, Depends(actor)]

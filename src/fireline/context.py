"""What every HTTP handler needs: the database, the clock and the acting user; and input the
database can take."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from fireline.auth.actor import Actor, Via
from fireline.auth.service import authenticate
from fireline.clock.now import Clock
from fireline.errors import Unauthorized
from fireline.storable import INTEGER_MAX, NUL_REFUSED, beyond_row_ids, nul_in
from fireline.store.db import Database

# A row's id (or number) in the path; a larger one names no row, and the database would
# refuse to compare it (a 500). The body field's is `storable.RowIdField`.
RowId = Annotated[int, Path(ge=1, le=INTEGER_MAX)]


def database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def clock(request: Request) -> Clock:
    found: Clock = request.app.state.clock
    return found


# Declared so that the OpenAPI document says which operations need a token.
bearer = HTTPBearer(auto_error=False, description="an API token: `Authorization: Bearer fl_…`")


def actor(
    request: Request,
    db: Annotated[Database, Depends(database)],
    sent: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor:
    token = sent.credentials if sent is not None else ""
    if not request.headers.get("authorization") and request.url.path.endswith(".ics"):
        # Calendar apps subscribe by URL and cannot send headers; the access log redacts it.
        token = request.query_params.get("token", "")
    if not token:
        raise Unauthorized("send an API token as 'Authorization: Bearer fl_…'")
    via = Via.cli if request.headers.get("x-fireline-client") == "cli" else Via.api
    return authenticate(db, token.strip(), via)


async def storable_input(request: Request) -> None:
    """Refuse (422, naming the field) what the database could neither store nor compare,
    before a handler passes it on: NUL in the path, the declared query parameters or the
    JSON body, and an `…_id` path parameter beyond the row ids. Checked here once for every
    route (the alert intake's, which keep an alert's NUL as U+FFFD, aside), so that no field
    can forget it."""
    refused: list[dict[str, Any]] = []

    def refuse(place: tuple[str | int, ...], message: str) -> None:
        refused.append({"type": "value_error", "loc": place, "msg": message, "input": None})

    for name, value in request.path_params.items():
        if not isinstance(value, str):
            continue
        why = NUL_REFUSED if "\x00" in value else None
        if why is None and name.endswith("_id"):
            why = beyond_row_ids(value)
        if why is not None:
            refuse(("path", name), why)
    route = request.scope.get("route")
    if isinstance(route, APIRoute):
        for parameter in route.dependant.query_params:
            if any("\x00" in v for v in request.query_params.getlist(parameter.alias)):
                refuse(("query", parameter.alias), NUL_REFUSED)
        if route.body_field is not None:
            for place in await _nul_in_json_body(request):
                refuse(("body", *place), NUL_REFUSED)
    if refused:
        raise RequestValidationError(refused)


async def _nul_in_json_body(request: Request) -> list[tuple[str | int, ...]]:
    raw = await request.body()  # already read, and kept, by FastAPI
    if b"\\u0000" not in raw:  # a NUL in JSON text is always escaped
        return []
    try:
        body = json.loads(raw)
    except ValueError:
        return []  # FastAPI refuses it as the body's own error
    return list(nul_in(body))


DB = Annotated[Database, Depends(database)]
ClockDep = Annotated[Clock, Depends(clock)]
ActorDep = Annotated[Actor, Depends(actor)]
StorableInput = Depends(storable_input)

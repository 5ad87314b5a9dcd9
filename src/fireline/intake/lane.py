"""The alert endpoints' own lane, ahead of everything FastAPI does per request: an intake
POST goes straight to its endpoint function.

In an alert storm these few routes take nearly every request. Through FastAPI each one also
went through its error, telemetry, exception and exit-stack middlewares, the router's regex
matching, the dependency solver and the response model's validation: about half of the event
loop's time per alert (py-spy: 413 → 225 µs). Here a POST to an intake path calls the same
endpoint function directly and its errors become the same problem+json. FastAPI still
declares the routes, which gives the OpenAPI document and the answers to any other method.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from fireline.access_log import log_request
from fireline.errors import FirelineError
from fireline.problems import internal_error, of_error

ACCEPTED = 202
log = logging.getLogger("fireline.intake")
Endpoint = Callable[..., Awaitable[BaseModel | Response]]


@dataclass(frozen=True, slots=True)
class LaneRoute:
    endpoint: Endpoint
    status: int
    # The name of the one path parameter the endpoint takes from the rest of the path after
    # `path`, or None when the path must match exactly.
    tail: str | None = None


def lane_routes(router: APIRouter, endpoints: Collection[Endpoint]) -> dict[str, LaneRoute]:
    """The POST routes of `endpoints` as `router` declares them (paths, status codes), so
    the lane serves exactly what the OpenAPI document says. A path may end in one
    `{parameter}`, which the lane takes from the rest of the path."""
    routes: dict[str, LaneRoute] = {}
    for route in router.routes:
        if not isinstance(route, APIRoute) or route.endpoint not in endpoints:
            continue
        assert route.methods is not None and "POST" in route.methods, route.path
        path, brace, parameter = route.path.partition("{")
        assert "{" not in path and (not brace or parameter.endswith("}")), route.path
        tail = parameter.removesuffix("}") if brace else None
        routes[path] = LaneRoute(route.endpoint, route.status_code or 200, tail)
    return routes


class IntakeLane:
    """Answers the lane's requests; `take` says whether a request is one of them."""

    def __init__(self, routes: Mapping[str, LaneRoute], access_log: bool = True) -> None:
        """`access_log`: write a line for each refusal (an alert taken in gets none)."""
        self.access_log = access_log
        self.exact = {path: route for path, route in routes.items() if route.tail is None}
        self.prefixed = [(path, route) for path, route in routes.items() if route.tail]

    async def take(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """Answer the request if it is an intake POST (True); else leave it (False)."""
        if scope["type"] != "http" or scope["method"] != "POST":
            return False
        found = self._route(scope["path"])
        if found is None:
            return False
        route, arguments = found
        await self._answer(route, arguments, scope, receive, send)
        return True

    def _route(self, path: str) -> tuple[LaneRoute, dict[str, str]] | None:
        route = self.exact.get(path)
        if route is not None:
            return route, {}
        for prefix, route in self.prefixed:
            rest = path[len(prefix) :]
            if path.startswith(prefix) and rest and "/" not in rest:
                assert route.tail is not None
                return route, {route.tail: rest}
        return None

    async def _answer(
        self,
        route: LaneRoute,
        arguments: dict[str, Any],
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        request = Request(scope, receive)
        response: Response
        try:
            answer = await route.endpoint(request, **arguments)
        except FirelineError as error:
            response = of_error(request, error)
        except Exception:
            log.exception("%s %s failed", scope["method"], scope["path"])
            response = internal_error(request)
        else:
            if not isinstance(answer, Response):
                # The answer's two messages as they are: a Response object would build and
                # check the same two headers again for every alert.
                body = answer.model_dump_json().encode()
                length = str(len(body)).encode()
                headers = [(b"content-type", b"application/json"), (b"content-length", length)]
                await send(
                    {"type": "http.response.start", "status": route.status, "headers": headers}
                )
                await send({"type": "http.response.body", "body": body})
                return
            response = answer
        if self.access_log and response.status_code != ACCEPTED:
            log_request(scope, response.status_code)
        await response(scope, receive, send)

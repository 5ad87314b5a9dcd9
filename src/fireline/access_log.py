"""The access log: one line per request in uvicorn's format, written by the app, not by
uvicorn, so that an alert taken in costs no line at all.

uvicorn builds each line's record before any filter can drop it: 55,000 instructions an
alert in a storm (benchmarks/intake_instructions.py), an eighth of the server's work, for
lines a filter then dropped. Here the intake lane writes a line only for what it refuses,
and every other request gets its line as uvicorn would have written it. `fireline serve`
sends the `fireline.access` logger to uvicorn's access handler and turns uvicorn's own off.
"""

from __future__ import annotations

import copy
import logging
import re
from typing import TYPE_CHECKING, Any, cast

from starlette.types import Message, Scope, Send
from uvicorn.config import LOGGING_CONFIG
from uvicorn.protocols.utils import get_client_addr, get_path_with_query_string

if TYPE_CHECKING:
    from uvicorn._types import HTTPScope

ACCESS = logging.getLogger("fireline.access")


class RedactTokens(logging.Filter):
    """Keep secrets that had to travel in a URL (calendar feed tokens, Sentry hook keys) out of
    the access log."""

    _TOKEN = re.compile(r"(token=|/alerts/sentry/)[^&\s\"/?]+")

    def filter(self, record: logging.LogRecord) -> bool:
        if record.args:
            record.args = tuple(
                self._TOKEN.sub(r"\1[redacted]", a) if isinstance(a, str) else a
                for a in record.args
            )
        record.msg = self._TOKEN.sub(r"\1[redacted]", str(record.msg))
        return True


if not any(isinstance(f, RedactTokens) for f in ACCESS.filters):
    ACCESS.addFilter(RedactTokens())


def log_request(scope: Scope, status: int) -> None:
    """The request's line, with uvicorn's message and arguments (its formatter reads them)."""
    http = cast("HTTPScope", scope)
    ACCESS.info(
        '%s - "%s %s HTTP/%s" %d',
        get_client_addr(http),
        scope["method"],
        get_path_with_query_string(http),
        scope["http_version"],
        status,
    )


def logging_send(scope: Scope, send: Send) -> Send:
    """`send`, writing the request's line as its answer starts."""

    async def logged(message: Message) -> None:
        if message["type"] == "http.response.start":
            log_request(scope, message["status"])
        await send(message)

    return logged


def uvicorn_logging() -> dict[str, Any]:
    """uvicorn's logging configuration, with `fireline.access` on its access handler."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"][ACCESS.name] = {"handlers": ["access"], "level": "INFO", "propagate": False}
    return config

"""HTTP: alert intake endpoints, integrations and silences.

Intake answers 2xx only after the alerts are committed; a database outage answers 503 with
Retry-After, which Alertmanager and PagerDuty senders honour by retrying.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool

from fireline.clock.now import Clock
from fireline.context import DB, ActorDep, ClockDep, RowId, StorableInput
from fireline.errors import FirelineError, Invalid, Unauthorized
from fireline.intake import service
from fireline.intake.alert import IncomingAlert, PayloadInvalid
from fireline.intake.group_commit import StorageDown
from fireline.intake.lane import lane_routes
from fireline.intake.schemas import (
    API_REFUSALS,
    INTAKE_REFUSALS,
    SENTRY_HEADER_PARAMETERS,
    Accepted,
    IntegrationCreated,
    IntegrationView,
    NewIntegration,
    NewSilence,
    PagerDutyAccepted,
    SilenceView,
    alertmanager_body,
    generic_body,
    pagerduty_body,
    sentry_body,
)
from fireline.intake.sources import alertmanager, generic, pagerduty, sentry
from fireline.intake.spool import Spool, Spooled
from fireline.openapi import refusals
from fireline.store.db import Database, is_outage

router = APIRouter(tags=["alert intake"])
log = logging.getLogger("fireline.intake")

MAX_BODY = 1024 * 1024  # bytes; PagerDuty's own limit is 512 KB per event
# Alertmanager retries only a 5xx: a group refused 413 is lost, and so are its next
# notifications, as large or larger, for the whole storm. A group of a few thousand alerts
# fits (about 1-2 KB each); past that, set `max_alerts` on the webhook receiver.
ALERTMANAGER_MAX_BODY = 16 * 1024 * 1024
RETRY_AFTER_SECONDS = 5
# The escapes of a surrogate or of NUL, rare in a body: one regex scan finds them faster
# than bytes searches would.
_SURROGATE_OR_NUL = re.compile(rb"\\u(?:[dD]|0000)")


class BodyTooLarge(FirelineError):
    status = 413
    title = "Body too large"


class MalformedJSON(FirelineError):
    title = "Malformed JSON"


class InvalidEvent(Invalid):
    """PagerDuty's answer to an event that breaks its schema: 400, with PagerDuty's
    `message` and `errors` beside the problem's own members, so that a PagerDuty client
    reads it as the bad request it is (not to be retried)."""

    status = 400
    title = "Invalid event"

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(
            field, detail, message="Event object is invalid", errors=[f"{field}: {detail}"]
        )


class Unavailable(FirelineError):
    status = 503
    title = "Storage unavailable"


async def _json_body(request: Request, limit: int = MAX_BODY) -> tuple[bytes, Any]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyTooLarge(f"the body is {declared} bytes; the limit is {limit}", limit=limit)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"the body exceeds the limit of {limit} bytes", limit=limit)
        chunks.append(chunk)
    raw = b"".join(chunks)
    return raw, decoded(raw)


def decoded(raw: bytes) -> Any:
    """The body's JSON value, as either database can store it."""
    try:
        body = json.loads(raw)
        if _SURROGATE_OR_NUL.search(raw):
            # JSON may escape a lone surrogate, which is no text at all: refuse it here
            # rather than fail when storing it.
            json.dumps(body, ensure_ascii=False).encode()
            if b"\\u0000" in raw:
                # NUL is text, but PostgreSQL cannot store it: keep the alert, with U+FFFD.
                body = _without_nul(body)
    except (UnicodeError, json.JSONDecodeError) as error:
        raise MalformedJSON(f"the body is not JSON text: {error}") from None
    return body


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, list):
        return [_without_nul(item) for item in value]
    if isinstance(value, dict):
        return {_without_nul(key): _without_nul(item) for key, item in value.items()}
    return value


def _header_key(request: Request) -> str:
    """The integration key: `Authorization: Bearer <key>` (Alertmanager's http_config), or
    `X-Fireline-Key`."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    key = token.strip() if scheme.lower() == "bearer" else ""
    key = key or request.headers.get("x-fireline-key", "").strip()
    if not key:
        raise Unauthorized("send the integration key as 'Authorization: Bearer <key>'")
    return key


def _payload(parse: Any, *args: Any, refusal: type[Invalid] = Invalid) -> Any:
    try:
        return parse(*args)
    except PayloadInvalid as error:
        raise refusal(error.field, error.detail) from None


@contextmanager
def _unless_storage_is_down(what: str) -> Iterator[None]:
    """A database outage becomes 503 with Retry-After: the senders that retry, retry."""
    try:
        yield
    except (StorageDown, DBAPIError) as error:
        if isinstance(error, StorageDown) or is_outage(error):
            raise Unavailable(f"{what}; retry", retry_after=RETRY_AFTER_SECONDS) from None
        raise


async def _accept(
    request: Request, source: service.Source, alerts: list[IncomingAlert]
) -> Accepted:
    with _unless_storage_is_down("the alert was not stored"):
        outcomes = await request.app.state.intake.accept(source, alerts)
    return Accepted(alerts=outcomes)


async def _source(request: Request, key: str, kind: str) -> service.Source:
    remembered = service.remembered_source(key, kind)
    if remembered is not None:
        return remembered
    with _unless_storage_is_down("cannot check the key"):
        return await run_in_threadpool(service.source_for_key, request.app.state.db, key, kind)


@router.post(
    "/api/v1/alerts/alertmanager",
    status_code=status.HTTP_202_ACCEPTED,
    responses=refusals(400, 401, 404, 413, 422, 503, described=INTAKE_REFUSALS),
    openapi_extra={"requestBody": alertmanager_body()},
)
async def alertmanager_webhook(request: Request) -> Accepted:
    """Prometheus Alertmanager's webhook receiver (payload version 4). Configure a
    `webhook_configs` entry with `http_config.authorization.credentials: <key>`."""
    source = await _source(request, _header_key(request), "alertmanager")
    _, body = await _json_body(request, ALERTMANAGER_MAX_BODY)
    return await _accept(request, source, _payload(alertmanager.parse, body))


@router.post(
    "/api/v1/alerts/generic",
    status_code=status.HTTP_202_ACCEPTED,
    responses=refusals(400, 401, 404, 413, 422, 503, described=INTAKE_REFUSALS),
    openapi_extra={"requestBody": generic_body()},
)
async def generic_alert(request: Request) -> Accepted:
    """Fireline's JSON alert (one, or a list): title, service, signals, labels, dedup_key,
    action. See docs/alerts.md."""
    source = await _source(request, _header_key(request), "generic")
    _, body = await _json_body(request)
    return await _accept(request, source, _payload(generic.parse, body))


@router.post(
    "/api/v1/alerts/heartbeat",
    status_code=status.HTTP_202_ACCEPTED,
    responses=refusals(401, 404, 503, described=INTAKE_REFUSALS),
)
async def heartbeat_check_in(request: Request) -> Accepted:
    """A heartbeat's check-in (`curl -fsS -X POST -H 'Authorization: Bearer <key>' …`). Silent
    past its interval, the heartbeat raises an alert; the next check-in resolves it."""
    source = await _source(request, _header_key(request), "heartbeat")
    app = request.app
    with _unless_storage_is_down("the check-in was not stored"):
        outcomes = await run_in_threadpool(service.check_in, app.state.db, app.state.clock, source)
    return Accepted(alerts=outcomes)


@router.post(
    "/api/v1/alerts/sentry/{key}",
    status_code=status.HTTP_202_ACCEPTED,
    responses=refusals(400, 401, 404, 413, 422, described=INTAKE_REFUSALS),
    openapi_extra={"requestBody": sentry_body(), "parameters": SENTRY_HEADER_PARAMETERS},
)
async def sentry_webhook(request: Request, key: str) -> Accepted:
    """Sentry's integration webhooks. Sentry cannot send our key in a header, so it sits in
    the URL (kept out of the access log); every hook must carry Sentry's signature. Sentry
    never retries: while the database is down, hooks are spooled to local disk. Sentry also
    gives a hook one second, and unsubscribes an integration after 1,000 timeouts a day: a
    hook not committed within SENTRY_ANSWER_SECONDS is spooled too, and answered; its
    spooled copy is withdrawn if the commit under way goes through."""
    raw, body = await _json_body(request)
    headers = {name: request.headers.get(name, "") for name in SENTRY_HEADERS}
    try:
        source = await _source(request, key, "sentry")
        alerts = sentry_alerts(source, headers, raw, body)
        accepting = asyncio.ensure_future(_accept(request, source, alerts))
        try:
            return await asyncio.wait_for(asyncio.shield(accepting), SENTRY_ANSWER_SECONDS)
        except TimeoutError:
            # Spooled now, and held from the drain until the commit under way ends: withdrawn
            # if it goes through, else drained as any other spooled hook.
            spool: Spool = request.app.state.spool
            path = await run_in_threadpool(spool.put, Spooled("sentry", key, headers, raw))
            spool.hold(path)
            accepting.add_done_callback(partial(_late_sentry_hook, spool, path))
            return Accepted(status="spooled", alerts=[])
    except Unavailable:
        spool = request.app.state.spool
        await run_in_threadpool(spool.put, Spooled("sentry", key, headers, raw))
        return Accepted(status="spooled", alerts=[])


SENTRY_HEADERS = ("sentry-hook-resource", "sentry-hook-signature")
SENTRY_ANSWER_SECONDS = 0.8


def _late_sentry_hook(spool: Spool, path: Path, accepting: asyncio.Future[Accepted]) -> None:
    """A hook spooled for want of time whose own commit then ended: its spooled copy is
    withdrawn if the commit took it in, else left for the drain."""
    failed = accepting.cancelled() or accepting.exception() is not None
    if failed and not accepting.cancelled():
        log.info("a slow Sentry hook failed after it was spooled: %s", accepting.exception())
    spool.release(path, taken_in=not failed)


def sentry_alerts(
    source: service.Source, headers: dict[str, str], raw: bytes, body: Any
) -> list[IncomingAlert]:
    """A Sentry hook's alerts, once its signature is checked against the raw body."""
    claimed = headers.get("sentry-hook-signature") or None
    if source.signing_secret is None or not sentry.signed_by(source.signing_secret, raw, claimed):
        raise Unauthorized("the Sentry-Hook-Signature does not match the body")
    alerts: list[IncomingAlert] = _payload(
        sentry.parse, headers.get("sentry-hook-resource") or None, body
    )
    return alerts


def take_spooled(db: Database, clock: Clock) -> Callable[[Spooled], None]:
    """What the drainer does with a spooled hook: what the endpoint would have done. A hook
    that turns out unknown, badly signed or malformed is dropped (logged), as the endpoint
    would have refused it; a database still down raises, and the hook waits."""

    def take(item: Spooled) -> None:
        try:
            source = service.source_for_key(db, item.key, item.kind)
            alerts = sentry_alerts(source, item.headers, item.body, decoded(item.body))
        except FirelineError as refused:
            log.warning("dropping a spooled %s hook: %s", item.kind, refused.detail)
            return
        service.accept(db, clock, source, alerts)

    return take


PAGERDUTY_DOCUMENTED: dict[str, Any] = {
    "status_code": status.HTTP_202_ACCEPTED,
    "response_model": PagerDutyAccepted,
    "responses": refusals(
        400,
        404,
        413,
        503,
        described={
            **INTAKE_REFUSALS,
            400: "Malformed JSON, or an event that breaks PagerDuty's schema: PagerDuty's "
            "`message` and `errors`, and `field` naming the first wrong field",
        },
    ),
    "openapi_extra": {"requestBody": pagerduty_body()},
}


@router.post("/v2/enqueue", **PAGERDUTY_DOCUMENTED)
@router.post("/api/v1/alerts/pagerduty/v2/enqueue", **PAGERDUTY_DOCUMENTED)
async def pagerduty_event(request: Request) -> JSONResponse:
    """PagerDuty Events API v2: point a PagerDuty client's base URL at
    `http://<fireline>/api/v1/alerts/pagerduty` (or at Fireline itself) and use the
    integration key as routing key. Answers as PagerDuty does: 202 with the dedup_key, 400
    for an event that breaks the schema (with PagerDuty's `message` and `errors`)."""
    _, body = await _json_body(request, 512 * 1024)
    event = _payload(pagerduty.parse, body, refusal=InvalidEvent)
    alert = event.alert
    if alert.key is None:
        alert = replace(alert, key=uuid.uuid4().hex)  # PagerDuty makes one up, so do we
    source = await _source(request, event.routing_key, "pagerduty")
    await _accept(request, source, [alert])
    return JSONResponse(
        {"status": "success", "message": "Event processed", "dedup_key": alert.key},
        status_code=status.HTTP_202_ACCEPTED,
    )


@router.post(
    "/api/v1/integrations",
    status_code=status.HTTP_201_CREATED,
    tags=["integrations"],
    responses=refusals(400, 401, 403, 404, 422, described=API_REFUSALS),
    dependencies=[StorableInput],
)
def create_integration(
    body: NewIntegration, db: DB, clock: ClockDep, actor: ActorDep
) -> IntegrationCreated:
    return service.create_integration(db, clock, actor, body)


@router.get(
    "/api/v1/integrations",
    tags=["integrations"],
    responses=refusals(401, described=API_REFUSALS),
)
def list_integrations(db: DB, actor: ActorDep) -> list[IntegrationView]:
    return service.list_integrations(db, actor)


@router.delete(
    "/api/v1/integrations/{integration_id}",
    tags=["integrations"],
    responses=refusals(401, 403, 404, 422, described=API_REFUSALS),
)
def revoke_integration(
    integration_id: RowId, db: DB, clock: ClockDep, actor: ActorDep
) -> IntegrationView:
    return service.revoke_integration(db, clock, actor, integration_id)


@router.post(
    "/api/v1/silences",
    status_code=status.HTTP_201_CREATED,
    tags=["silences"],
    responses=refusals(400, 401, 403, 422, described=API_REFUSALS),
    dependencies=[StorableInput],
)
def create_silence(body: NewSilence, db: DB, clock: ClockDep, actor: ActorDep) -> SilenceView:
    return service.create_silence(db, clock, actor, body)


@router.get(
    "/api/v1/silences",
    tags=["silences"],
    responses=refusals(401, 422, described=API_REFUSALS),
)
def list_silences(
    db: DB, clock: ClockDep, actor: ActorDep, expired: bool = False
) -> list[SilenceView]:
    return service.list_silences(db, clock, actor, include_expired=expired)


@router.delete(
    "/api/v1/silences/{silence_id}",
    tags=["silences"],
    responses=refusals(401, 403, 404, 409, 422, described=API_REFUSALS),
)
def expire_silence(silence_id: RowId, db: DB, clock: ClockDep, actor: ActorDep) -> SilenceView:
    return service.expire_silence(db, clock, actor, silence_id)


# The alert endpoints as `IntakeLane` serves them, ahead of FastAPI's routing.
LANE_ROUTES = lane_routes(
    router,
    {alertmanager_webhook, generic_alert, heartbeat_check_in, sentry_webhook, pagerduty_event},
)

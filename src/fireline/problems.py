"""Every error leaves as RFC 9457 problem+json, mapped here once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from fireline.errors import FirelineError
from fireline.incidents.roles import RoleConstraintBroken, UnknownIncidentType, UnknownRole
from fireline.incidents.workflow import TransitionRefused, UnknownState
from fireline.policy.errors import PolicyInvalid, UnknownPreset
from fireline.policy.schema import UnknownLevel

PROBLEM = "application/problem+json"
TYPE_BASE = "https://fireline.dev/problems/"


def problem(
    request: Request, status: int, kind: str, title: str, detail: str, **extensions: Any
) -> JSONResponse:
    body = {
        "type": TYPE_BASE + kind,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
        **extensions,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status == 503 and "retry_after" in extensions:
        headers = {"Retry-After": str(extensions["retry_after"])}
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def kind_of(title: str) -> str:
    return title.lower().replace(" ", "-")


def of_error(request: Request, error: FirelineError) -> JSONResponse:
    return problem(
        request, error.status, kind_of(error.title), error.title, error.detail, **error.extensions
    )


def internal_error(request: Request) -> JSONResponse:
    """What an unexpected failure answers: the error itself goes to the log, not the client."""
    return problem(
        request,
        500,
        "internal-error",
        "Internal error",
        "Fireline failed to answer this request; the error is in its log",
    )


def install(app: FastAPI) -> None:
    # Starlette hands this to its outermost middleware: the answer is problem+json, and the
    # exception still goes on to the server, which logs it with its traceback.
    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> JSONResponse:
        return internal_error(request)

    @app.exception_handler(FirelineError)
    async def fireline_error(request: Request, error: FirelineError) -> JSONResponse:
        return of_error(request, error)

    @app.exception_handler(TransitionRefused)
    async def transition_refused(request: Request, error: TransitionRefused) -> JSONResponse:
        return problem(
            request,
            409,
            "transition-refused",
            "Transition refused",
            str(error),
            current=error.current,
            requested=error.requested,
            allowed=error.allowed,
        )

    @app.exception_handler(RoleConstraintBroken)
    async def role_constraint(request: Request, error: RoleConstraintBroken) -> JSONResponse:
        return problem(
            request,
            409,
            "role-constraint",
            "Role constraint broken",
            str(error),
            role=error.role,
            conflicting=error.conflicting,
        )

    @app.exception_handler(PolicyInvalid)
    async def policy_invalid(request: Request, error: PolicyInvalid) -> JSONResponse:
        return problem(
            request,
            422,
            "policy-invalid",
            "Invalid policy",
            f"{len(error.problems)} problem(s) in the policy",
            errors=[
                {"file": p.file, "line": p.line, "field": p.field, "message": p.message}
                for p in error.problems
            ],
        )

    async def unknown_name(request: Request, error: Exception) -> JSONResponse:
        known = getattr(error, "known", [])
        return problem(request, 422, "unknown-name", "Unknown name", str(error), known=known)

    for kind in (UnknownState, UnknownLevel, UnknownRole, UnknownIncidentType, UnknownPreset):
        app.add_exception_handler(kind, unknown_name)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field(e["loc"]), "message": e["msg"]} for e in error.errors()]
        detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return problem(request, 422, "invalid-input", "Invalid input", detail, errors=errors)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> JSONResponse:
        title = {404: "Not found", 405: "Method not allowed"}.get(error.status_code, "Error")
        return problem(request, error.status_code, kind_of(title), title, str(error.detail))


def _field(location: Sequence[str | int]) -> str:
    """A validation error's field: its location, less the leading "body" (a field may be
    called `body` too)."""
    parts = list(location)
    if parts[:1] == ["body"]:
        parts = parts[1:]
    return ".".join(str(part) for part in parts)

"""Who a browser is: the session cookie, the redirect to sign in, and the CSRF check on forms."""

from __future__ import annotations

import contextlib
import hmac
from collections.abc import Mapping
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from fireline import problems
from fireline.auth.sessions import SignedIn, signed_in
from fireline.context import DB, ClockDep
from fireline.errors import FirelineError, Forbidden, Invalid, Unauthorized
from fireline.storable import NUL_REFUSED
from fireline.web import render

COOKIE = "fireline_session"


class SignInRequired(Exception):
    def __init__(self, then: str) -> None:
        super().__init__(then)
        self.then = then


def current_user(request: Request, db: DB, clock: ClockDep) -> SignedIn:
    token = request.cookies.get(COOKIE)
    if token:
        try:
            return signed_in(db, clock, token)
        except Unauthorized:
            pass
    then = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    raise SignInRequired(then)


User = Annotated[SignedIn, Depends(current_user)]


async def checked_form(request: Request, user: User) -> dict[str, str]:
    """The posted form, once its CSRF token matches the session's (a forged post has none)."""
    form = await request.form()
    sent = form.get("csrf_token")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, user.csrf_token):
        raise Forbidden("the form's CSRF token is missing or stale; reload the page")
    return storable_form(form)


def storable_form(form: Mapping[str, object]) -> dict[str, str]:
    """A form's text fields; text with NUL, which PostgreSQL cannot store, is refused."""
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    for name, value in fields.items():
        if "\x00" in value or "\x00" in name:
            raise Invalid(name, NUL_REFUSED)
    return fields


Form = Annotated[dict[str, str], Depends(checked_form)]


def set_cookie(response: Response, token: str, secure: bool) -> None:
    response.set_cookie(
        COOKIE, token, httponly=True, samesite="lax", secure=secure, path="/", max_age=12 * 3600
    )


def _for_a_person(request: Request) -> bool:
    path = request.url.path
    return path.startswith("/app") or (path.startswith("/status/") and "." not in path)


def install(app: FastAPI) -> None:
    """Pages answer people: sign-in redirects, and errors as a page rather than problem+json."""

    @app.exception_handler(SignInRequired)
    async def sign_in_first(_request: Request, error: SignInRequired) -> Response:
        return RedirectResponse(f"/login?then={quote(error.then, safe='')}", status_code=303)

    @app.exception_handler(FirelineError)
    async def fireline_error(request: Request, error: FirelineError) -> Response:
        if not _for_a_person(request):
            return problems.problem(
                request,
                error.status,
                problems.kind_of(error.title),
                error.title,
                error.detail,
                **error.extensions,
            )
        user = None
        token = request.cookies.get(COOKIE)
        if token:
            with contextlib.suppress(FirelineError):
                user = signed_in(request.app.state.db, request.app.state.clock, token)
        return render.page(
            request,
            "error.html",
            user,
            status_code=error.status,
            title=error.title,
            detail=error.detail,
        )

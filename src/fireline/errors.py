"""Service-level error families; `app.py` maps each once to RFC 9457 problem+json.

Pure modules raise their own small exceptions (TransitionRefused, PolicyInvalid, …); these are
the ones the services add.
"""

from __future__ import annotations

from typing import Any


class FirelineError(Exception):
    status = 400
    title = "Bad request"

    def __init__(self, detail: str, **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extensions = extensions

    def __reduce__(self) -> tuple[Any, ...]:
        # Errors cross from the intake's writer process; subclasses take other arguments
        # than `args`, so rebuild from the state instead of calling the constructor.
        return (_restored, (type(self), self.args, self.__dict__))


def _restored(cls: type[FirelineError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class NotFound(FirelineError):
    status = 404
    title = "Not found"


class Unauthorized(FirelineError):
    status = 401
    title = "Unauthorized"


class Forbidden(FirelineError):
    status = 403
    title = "Forbidden"


class Conflict(FirelineError):
    status = 409
    title = "Conflict"


class Invalid(FirelineError):
    """Input that names its field: `field` is always set."""

    status = 422
    title = "Invalid input"

    def __init__(self, field: str, detail: str, **extensions: Any) -> None:
        super().__init__(detail, field=field, **extensions)
        self.field = field

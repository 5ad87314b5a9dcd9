"""One parser per source: its payload (already JSON-decoded) → IncomingAlerts. Pure."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from fireline.intake.alert import PayloadInvalid

Model = TypeVar("Model", bound=BaseModel)


def validated(model: type[Model], data: Any) -> Model:
    """`data` as `model`, or PayloadInvalid naming the first wrong field."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "body"
        raise PayloadInvalid(field, first["msg"]) from None


def numbers(values: dict[str, str]) -> dict[str, float]:
    """The values that read as numbers: structured signals for the policy's rules."""
    found: dict[str, float] = {}
    for name, value in values.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if number == number and abs(number) != float("inf"):  # NaN and infinities are no signal
            found[name] = number
    return found

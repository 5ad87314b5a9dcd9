"""Input the database can store and compare: row ids within SQL INTEGER, text without NUL.

Both databases would fail on the rest with a server error (PostgreSQL's INTEGER is 32-bit and
its text cannot hold NUL; SQLite's integers stop at 2**63 - 1), so it is refused as input
instead, a 422 naming the field, on either database alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from pydantic import Field

INTEGER_MAX = 2**31 - 1  # PostgreSQL's INTEGER; SQLite's goes to 2**63 - 1
INTEGER_MIN = -(2**31)
NUL_REFUSED = "NUL characters cannot be stored"

# A row's id (or number) in a request body; the path parameter's is `context.RowId`.
RowIdField = Annotated[int, Field(ge=1, le=INTEGER_MAX)]
# Any number an INTEGER column holds (a position, a count).
Integer = Annotated[int, Field(ge=INTEGER_MIN, le=INTEGER_MAX)]

Place = tuple[str | int, ...]


def beyond_row_ids(text: str) -> str | None:
    """Why `text`, read as a row id, cannot be one (None if it is one, or is no number)."""
    try:
        number = int(text)
    except ValueError:
        return None  # not a number: the parameter's own type refuses it
    if number < 1:
        return "Input should be greater than or equal to 1"
    if number > INTEGER_MAX:
        return f"Input should be less than or equal to {INTEGER_MAX}"
    return None


def nul_in(value: object, at: Place = ()) -> Iterator[Place]:
    """The places in a JSON value (its keys included) where text holds NUL."""
    if isinstance(value, str):
        if "\x00" in value:
            yield at
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from nul_in(item, (*at, index))
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from nul_in(key, (*at, key))
            yield from nul_in(item, (*at, key))

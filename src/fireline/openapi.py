"""The OpenAPI document's refusals: every 4xx and 5xx an operation can answer, documented as
RFC 9457 problem+json (`problems.py` is what answers them).

Every operation that takes input may find it invalid (422), and a body unreadable (400). An
operation may list its other refusals itself (`responses=refusals(…)`); the others get theirs
from what they take: a token may be refused (401), a write forbidden (403) or in conflict
with what is there (409), a thing the path, query or write names missing (404).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

from fireline.problems import PROBLEM


class Problem(BaseModel):
    """RFC 9457 problem details: how every refusal reads (`application/problem+json`)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(description="https://fireline.dev/problems/<kind>")
    title: str
    status: int
    detail: str
    instance: str = Field(description="the path that was asked")


REFUSALS = {
    400: "Malformed JSON: the body is not JSON text",
    401: "No API token, or an unknown or revoked one",
    403: "The token's user may not do this",
    404: "Something the request names does not exist (or is not theirs to see)",
    409: "The request conflicts with what is there: it exists already, or the workflow or "
    "a rule refuses the change",
    413: "The body is larger than the limit",
    422: "Invalid input (an id beyond 2147483647, a NUL in text, …); `field` or `errors` name "
    "what is wrong",
    503: "Unavailable",
}
WRITES = {"post", "put", "patch", "delete"}
# FastAPI's own 422, which our handler never answers (it answers problem+json).
FASTAPI_422 = {"HTTPValidationError", "ValidationError"}


def refusals(
    *statuses: int, described: Mapping[int, str] = REFUSALS, retry_after: bool = True
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses for the refusals an operation can answer, each problem+json; a 503
    says when to retry in `Retry-After` unless `retry_after` is false."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        response: dict[str, Any] = {
            "description": described.get(status, REFUSALS[status]),
            "content": {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        if status == 503 and retry_after:
            response["headers"] = {
                "Retry-After": {"description": "seconds", "schema": {"type": "integer"}}
            }
        documented[status] = response
    return documented


def likely_refusals(method: str, operation: dict[str, Any]) -> list[int]:
    """The refusals an operation can answer besides invalid input, judged from what it
    takes."""
    signed_in = bool(operation.get("security"))
    writes = signed_in and method in WRITES
    statuses = [401] if signed_in else []
    if writes:
        statuses.append(403)
    if operation.get("parameters") or writes:
        statuses.append(404)
    if writes:
        statuses.append(409)
    return statuses


def with_refusals(document: dict[str, Any]) -> dict[str, Any]:
    """The document with every operation's refusals as problem+json, never FastAPI's own
    422 shape: invalid input where it takes some, and the likely others where it lists none
    itself."""
    for path in document.get("paths", {}).values():
        for method, operation in path.items():
            responses = operation.setdefault("responses", {})
            if _fastapi_422(responses.get("422")):
                del responses["422"]
            statuses = []
            if not any(status[0] in "45" for status in responses):
                statuses = likely_refusals(method, operation)
            if "requestBody" in operation:
                statuses.append(400)
            if "requestBody" in operation or operation.get("parameters"):
                statuses.append(422)
            for status, response in refusals(*sorted(statuses)).items():
                responses.setdefault(str(status), response)
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in FASTAPI_422:
        schemas.pop(name, None)
    schemas["Problem"] = Problem.model_json_schema()
    return document


def _fastapi_422(response: dict[str, Any] | None) -> bool:
    schema = (response or {}).get("content", {}).get("application/json", {}).get("schema", {})
    return str(schema.get("$ref", "")).rsplit("/", 1)[-1] in FASTAPI_422


def document_refusals(app: FastAPI) -> None:
    """Make the app's OpenAPI document say every refusal (see `with_refusals`)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        document = build()  # built once and kept, until the routes change
        if "Problem" not in document.get("components", {}).get("schemas", {}):
            with_refusals(document)
        return document

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's way to extend its document

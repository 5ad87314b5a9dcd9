"""API shapes for integrations, alert outcomes and silences; the OpenAPI documents of the
intake endpoints' bodies and refusals."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter

from fireline.intake.sources import alertmanager, generic, pagerduty, sentry

Kind = Literal["alertmanager", "sentry", "pagerduty", "generic", "heartbeat"]


class NewIntegration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    team: str = Field(description="team slug: its policy judges the alerts")
    kind: Kind
    name: str = Field(min_length=1, max_length=120)
    signing_secret: str | None = Field(
        default=None, max_length=200, description="Sentry: the integration's client secret"
    )
    interval_minutes: int | None = Field(
        default=None, ge=1, le=7 * 24 * 60, description="heartbeat: check in at least this often"
    )


class HeartbeatView(BaseModel):
    interval_minutes: int
    last_seen_at: datetime | None
    due_at: datetime
    late: bool


class IntegrationView(BaseModel):
    id: int
    team: str
    kind: str
    name: str
    created_at: datetime
    revoked_at: datetime | None
    heartbeat: HeartbeatView | None = None


class IntegrationCreated(IntegrationView):
    key: str = Field(description="shown once; Fireline keeps only its hash")


class AlertOutcome(BaseModel):
    fingerprint: str
    action: str
    outcome: str = Field(
        description="opened, repeat, grouped, acknowledged, resolved, annotated, silenced or "
        "dropped"
    )
    ticket_id: int | None
    silence_id: int | None


class Accepted(BaseModel):
    status: Literal["accepted", "spooled"] = Field(
        default="accepted",
        description="spooled: the database was unreachable; kept on local disk, taken in "
        "when it is back",
    )
    alerts: list[AlertOutcome]


class MatcherSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    op: Literal["=", "!=", "=~", "!~"] = "="
    value: str = Field(max_length=1000)


class NewSilence(BaseModel):
    model_config = ConfigDict(extra="forbid")

    matchers: list[MatcherSpec] = Field(min_length=1, max_length=50)
    starts_at: AwareDatetime | None = Field(default=None, description="default: now")
    ends_at: AwareDatetime
    reason: str = Field(min_length=1, max_length=2000)
    kind: Literal["silence", "maintenance"] = "silence"


class SilenceView(BaseModel):
    id: int
    kind: str
    matchers: list[dict[str, Any]]
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_by: str | None
    state: Literal["pending", "active", "expired"]
    alerts_silenced: int


class PagerDutyAccepted(BaseModel):
    """What PagerDuty's Events API v2 answers, and so Fireline too."""

    status: Literal["success"]
    message: str
    dedup_key: str = Field(description="the event's dedup_key, or the one made up for it")


# -- OpenAPI for the intake endpoints ----------------------------------------------------------
# They read the raw body themselves (signatures, speed), so FastAPI sees no body model; these
# document what the sources' parsers accept. A router cannot add to components/schemas, so the
# schemas are written in place.

INTAKE_REFUSALS = {  # 400 and 413 read as `openapi.REFUSALS` say
    401: "No integration key was sent (Sentry: the signature does not match the body)",
    404: "Unknown, revoked or other-kind integration key",
    422: "The payload breaks its source's schema; `field` names the first wrong field",
    503: "The database is unreachable and nothing was stored: retry after `Retry-After` seconds",
}
API_REFUSALS = {  # the others read as `openapi.REFUSALS` say
    404: "No such team, integration or silence",
    409: "The silence has already ended",
}


def json_body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    """OpenAPI `requestBody` of a JSON body the handler reads itself."""
    return {
        "required": True,
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }


def body_schema(shape: Any, title: str, prefix: str) -> dict[str, Any]:
    """The JSON schema `shape` (a model or type) validates, its nested models written in
    place; nested models' private names (`_Alert`) read as `<prefix>Alert`."""
    schema = _in_place(TypeAdapter(shape).json_schema(by_alias=True), prefix)
    schema["title"] = title
    return schema


def _in_place(schema: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    definitions = schema.pop("$defs", {})

    def resolved(node: Any) -> Any:
        if isinstance(node, list):
            return [resolved(item) for item in node]
        if not isinstance(node, dict):
            return node
        found = {key: resolved(value) for key, value in node.items() if key != "$ref"}
        if isinstance(node.get("$ref"), str):
            found = {**resolved(definitions[node["$ref"].rsplit("/", 1)[1]]), **found}
        title = found.get("title")
        if isinstance(title, str) and title.startswith("_"):
            found["title"] = prefix + title[1:]
        return found

    in_place: dict[str, Any] = resolved(schema)
    return in_place


def alertmanager_body() -> dict[str, Any]:
    schema = body_schema(alertmanager._Message, "AlertmanagerWebhook", "Alertmanager")
    schema["properties"]["version"] = {"type": "string", "const": "4"}
    return json_body(schema, "Alertmanager's webhook payload, version 4: a group of alerts")


def generic_body() -> dict[str, Any]:
    batch = Annotated[list[generic.GenericAlert], Field(min_length=1, max_length=1000)]
    schema = body_schema(generic.GenericAlert | batch, "GenericAlerts", "")
    return json_body(schema, "One Fireline JSON alert, or a list of up to 1,000")


def pagerduty_body() -> dict[str, Any]:
    schema = body_schema(pagerduty._Event, "PagerDutyEvent", "PagerDuty")
    payload = schema["properties"]["payload"]["anyOf"][0]
    # A trigger carries its payload; an acknowledge or a resolve names its alert's dedup_key.
    schema["anyOf"] = [
        {
            "properties": {"event_action": {"const": "trigger"}, "payload": payload},
            "required": ["payload"],
        },
        {
            "properties": {
                "event_action": {"enum": ["acknowledge", "resolve"]},
                "dedup_key": {"type": "string", "minLength": 1},
            },
            "required": ["dedup_key"],
        },
    ]
    return json_body(schema, "A PagerDuty Events API v2 event; `routing_key` is the key")


def sentry_body() -> dict[str, Any]:
    schema = body_schema(sentry._Hook, "SentryHook", "Sentry")
    schema["properties"]["data"] = {
        "anyOf": [
            body_schema(sentry._EventData, "SentryEventAlertData", "Sentry"),
            body_schema(sentry._IssueData, "SentryIssueData", "Sentry"),
            {"type": "object", "title": "SentryOtherData", "description": "ignored"},
        ],
        "description": "`event_alert`: the event and the rule; `issue`: the issue; other "
        "resources (installation, …) are accepted and change nothing",
    }
    return json_body(schema, "A Sentry integration-platform webhook, signed by Sentry")


SENTRY_HEADER_PARAMETERS = [
    {
        "name": "Sentry-Hook-Resource",
        "in": "header",
        "required": True,
        "schema": {"type": "string", "examples": ["event_alert", "issue", "installation"]},
    },
    {
        "name": "Sentry-Hook-Signature",
        "in": "header",
        "required": True,
        "description": "hex HMAC-SHA256 of the raw body with the integration's client secret",
        "schema": {"type": "string"},
    },
]

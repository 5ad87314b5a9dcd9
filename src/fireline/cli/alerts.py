"""`fireline integration …` and `fireline silence …`: alert sources and silences, against a
server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer
from rich.console import Console

from fireline.cli.client import request

integrations = typer.Typer(help="Alert sources and their keys.", no_args_is_help=True)
silences = typer.Typer(help="Silences and maintenance windows.", no_args_is_help=True)
out = Console()


def _integration(row: dict[str, Any]) -> None:
    revoked = f" (revoked {row['revoked_at']})" if row["revoked_at"] else ""
    beat = row.get("heartbeat")
    every = (
        f", every {beat['interval_minutes']} min" + (" — LATE" if beat["late"] else "")
        if beat
        else ""
    )
    out.print(f"{row['id']}: {row['name']} ({row['kind']} → {row['team']}{every}){revoked}")


@integrations.command("list")
def list_integrations() -> None:
    for row in request("GET", "/api/v1/integrations"):
        _integration(row)


@integrations.command("create")
def create_integration(
    team: Annotated[str, typer.Argument(help="team slug")],
    kind: Annotated[
        str, typer.Argument(help="alertmanager, sentry, pagerduty, generic, heartbeat")
    ],
    name: Annotated[str, typer.Argument()],
    secret: Annotated[
        str | None, typer.Option("--secret", help="Sentry: the integration's client secret")
    ] = None,
    every: Annotated[
        int | None, typer.Option("--every", help="heartbeat: minutes between check-ins")
    ] = None,
) -> None:
    """Create an integration and print its key: shown this once, stored only as a hash."""
    body: dict[str, Any] = {"team": team, "kind": kind, "name": name}
    if secret is not None:
        body["signing_secret"] = secret
    if every is not None:
        body["interval_minutes"] = every
    created = request("POST", "/api/v1/integrations", body)
    _integration(created)
    out.print(f"key: {created['key']}", markup=False)


@integrations.command("revoke")
def revoke_integration(integration_id: int) -> None:
    _integration(request("DELETE", f"/api/v1/integrations/{integration_id}"))


def _silence(row: dict[str, Any]) -> None:
    matchers = ", ".join(f"{m['name']}{m['op']}{m['value']}" for m in row["matchers"])
    out.print(
        f"{row['id']}: [{row['state']}] {matchers} until {row['ends_at']} "
        f"({row['alerts_silenced']} silenced) — {row['reason']}",
        markup=False,
    )


@silences.command("list")
def list_silences(
    expired: Annotated[bool, typer.Option("--expired", help="include ended ones")] = False,
) -> None:
    for row in request("GET", "/api/v1/silences", params={"expired": "true" if expired else None}):
        _silence(row)


OPS = ("!=", "=~", "!~", "=")


def _matcher(text: str) -> dict[str, str]:
    for op in OPS:
        name, found, value = text.partition(op)
        if found and name:
            return {"name": name.strip(), "op": op, "value": value.strip()}
    raise typer.BadParameter(f"{text!r}: write NAME=VALUE, NAME!=VALUE, NAME=~RE or NAME!~RE")


@silences.command("add")
def add_silence(
    matchers: Annotated[list[str], typer.Argument(help="e.g. service=Reader alertname=~Disk.*")],
    reason: Annotated[str, typer.Option("--reason")],
    hours: Annotated[float, typer.Option("--hours", help="how long, from its start")] = 2.0,
    maintenance: Annotated[bool, typer.Option("--maintenance")] = False,
    starts: Annotated[
        str | None,
        typer.Option(
            "--starts", help="when it begins, with its offset: 2026-12-01T22:00+01:00 (else now)"
        ),
    ] = None,
) -> None:
    """Silence the alerts all MATCHERS match, for HOURS from now (or from --starts: a
    maintenance window planned ahead)."""
    begins = _instant(starts) if starts is not None else datetime.now(UTC)
    body = {
        "matchers": [_matcher(m) for m in matchers],
        "ends_at": (begins + timedelta(hours=hours)).isoformat(),
        "reason": reason,
        "kind": "maintenance" if maintenance else "silence",
    }
    if starts is not None:
        body["starts_at"] = begins.isoformat()
    _silence(request("POST", "/api/v1/silences", body))


def _instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r}: write a time as 2026-12-01T22:00+01:00") from None
    if moment.tzinfo is None:
        raise typer.BadParameter(f"{text!r}: give the time with its offset (+01:00, Z)")
    return moment


@silences.command("expire")
def expire_silence(silence_id: int) -> None:
    """End a silence now: its alerts notify again."""
    _silence(request("DELETE", f"/api/v1/silences/{silence_id}"))

"""`fireline oncall …`: who is on call, overrides and absences, against a server."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from fireline.cli.client import request

app = typer.Typer(help="Who is on call; overrides and time away.", no_args_is_help=True)
out = Console()


@app.command()
def now(
    at: Annotated[str | None, typer.Option("--at", help="ISO 8601 with offset")] = None,
    schedule: Annotated[str | None, typer.Option("--schedule", "-s")] = None,
) -> None:
    """Who is on call now (or --at T), on every schedule or one, and why."""
    answers = request("GET", "/api/v1/oncall", params={"at": at, "schedule": schedule})
    table = Table(
        "schedule",
        "responder",
        "why",
        *(["held until"] if any(a["held_until"] for a in answers) else []),
    )
    for answer in answers:
        row = [answer["schedule"], answer["responder"] or "-", answer["detail"]]
        if any(a["held_until"] for a in answers):
            row.append(answer["held_until"] or "")
        table.add_row(*(escape(cell) for cell in row))
    out.print(table)


@app.command()
def override(
    schedule: Annotated[str, typer.Option("--schedule", "-s")],
    person: Annotated[str, typer.Option("--person", "-p")],
    start: Annotated[str, typer.Option("--start", help="ISO 8601 with offset")],
    end: Annotated[str, typer.Option("--end", help="ISO 8601 with offset")],
    reason: Annotated[str, typer.Option("--reason", "-m")],
    layer: Annotated[str | None, typer.Option("--layer", help="default: every layer")] = None,
) -> None:
    """Put someone on a schedule for a while (a swap or a cover)."""
    made = request(
        "POST",
        f"/api/v1/schedules/{schedule}/overrides",
        {"person": person, "starts": start, "ends": end, "reason": reason, "layer": layer},
    )
    out.print(
        f"override {made['id']}: {made['person']} on {schedule} "
        f"{made['layer'] or 'all layers'} {made['starts']} → {made['ends']}",
        markup=False,
    )


@app.command()
def away(
    person: Annotated[str, typer.Option("--person", "-p")],
    start: Annotated[str, typer.Option("--start", help="ISO 8601 with offset")],
    end: Annotated[str, typer.Option("--end", help="ISO 8601 with offset")],
    reason: Annotated[str, typer.Option("--reason", "-m")],
) -> None:
    """Take someone off every schedule for a while (PTO, an appointment)."""
    made = request(
        "POST",
        "/api/v1/absences",
        {"person": person, "starts": start, "ends": end, "reason": reason},
    )
    out.print(
        f"{made['person']} away {made['starts']} → {made['ends']}: {made['reason']}", markup=False
    )


@app.command()
def schedules() -> None:
    """The schedules and their layers."""
    for found in request("GET", "/api/v1/schedules"):
        out.print(f"{found['slug']} ({found['timezone']})", markup=False)
        if found.get("deactivated"):
            out.print(
                f"  skipped, deactivated: {', '.join(found['deactivated'])}",
                markup=False,
            )
        for layer in found["layers"]:
            hours = ", business hours only" if layer["business_hours_only"] else ""
            out.print(
                f"  {layer['name']}: {', '.join(layer['members'])} · every "
                f"{layer['length']} {layer['unit']} from {layer['start']}{hours}",
                markup=False,
            )

"""`fireline incident …`: client verbs against a Fireline server."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from fireline.cli.client import request

app = typer.Typer(help="Declare and run incidents on a server.", no_args_is_help=True)
out = Console()


def show_incident(incident: dict[str, Any]) -> None:
    private = " · [red]private[/]" if incident["private"] else ""
    out.print(f"[bold]Incident #{incident['id']}[/] {escape(incident['title'])}", highlight=False)
    out.print(
        escape(
            f"team {incident['team']} · {incident['type']} · {incident['severity']} · "
            f"{incident['status']}"
        )
        + private
        + escape(f" · next: {', '.join(incident['allowed_next']) or 'none'}"),
        highlight=False,
    )
    for holder in incident["roles"]:
        out.print(f"  {holder['role']}: {holder['person'] or '(vacant)'}", markup=False)
    if incident["tickets"]:
        out.print("tickets: " + ", ".join(f"#{t}" for t in incident["tickets"]))


@app.command()
def declare(
    team: Annotated[str, typer.Option("--team", "-t")],
    title: Annotated[str, typer.Option("--title")],
    severity: Annotated[str | None, typer.Option("--severity")] = None,
    kind: Annotated[str | None, typer.Option("--type")] = None,
    commander: Annotated[str | None, typer.Option("--commander", "-c")] = None,
    private: Annotated[bool | None, typer.Option("--private/--public")] = None,
) -> None:
    show_incident(
        request(
            "POST",
            "/api/v1/incidents",
            {
                "team": team,
                "title": title,
                "severity": severity,
                "type": kind,
                "commander": commander,
                "private": private,
            },
        )
    )


@app.command("list")
def list_(
    team: Annotated[str | None, typer.Option("--team", "-t")] = None,
    open_only: Annotated[bool, typer.Option("--open/--all")] = True,
) -> None:
    page = request(
        "GET", "/api/v1/incidents", params={"team": team, "open": "true" if open_only else None}
    )
    table = Table("#", "team", "severity", "status", "title")
    for i in page["items"]:
        table.add_row(str(i["id"]), i["team"], i["severity"], i["status"], escape(i["title"]))
    out.print(table)


@app.command()
def show(incident: int) -> None:
    show_incident(request("GET", f"/api/v1/incidents/{incident}"))
    for event in request("GET", f"/api/v1/incidents/{incident}/timeline"):
        out.print(
            f"  {event['at']} [{event['via']}] {event['actor'] or '-'}: {event['summary']}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


@app.command()
def move(
    incident: int,
    to: Annotated[str, typer.Option("--to")],
    note: Annotated[str, typer.Option("--note", "-m")] = "",
) -> None:
    """Move through the workflow; a refused move prints the allowed next states."""
    show_incident(
        request("POST", f"/api/v1/incidents/{incident}/transitions", {"to": to, "note": note})
    )


@app.command()
def assign(
    incident: int,
    role: Annotated[str, typer.Option("--role")],
    person: Annotated[str | None, typer.Option("--person")] = None,
    note: Annotated[str, typer.Option("--note", "-m")] = "",
) -> None:
    """Hand a role to someone; without --person the holder tags out."""
    show_incident(
        request(
            "PUT", f"/api/v1/incidents/{incident}/roles/{role}", {"person": person, "note": note}
        )
    )

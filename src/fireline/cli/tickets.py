"""`fireline ticket …`: client verbs against a Fireline server."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from fireline.cli.client import request
from fireline.cli.policy import parse_facts

app = typer.Typer(help="Open, list and work tickets on a server.", no_args_is_help=True)
out = Console()


def show_ticket(ticket: dict[str, Any]) -> None:
    out.print(f"[bold]#{ticket['id']}[/] {escape(ticket['title'])}", highlight=False)
    rule = f" by rule {ticket['classification_rule']}" if ticket["classification_rule"] else ""
    out.print(
        f"team {ticket['team']} · {ticket['priority'] or 'no priority'}"
        f" ({ticket['priority_source']}{rule}) · {ticket['status']}"
        f" · next: {', '.join(ticket['allowed_next']) or 'none'}",
        highlight=False,
        markup=False,
    )
    out.print(
        f"response due {ticket['response_due_at'] or '-'} · "
        f"resolution due {ticket['resolution_due_at'] or '-'}"
    )
    if ticket["labels"]:
        out.print("labels: " + ", ".join(ticket["labels"]), markup=False)
    if ticket["incident_criteria"]:
        criteria = ", ".join(ticket["incident_criteria"])
        out.print(f"[yellow]meets incident criteria: {escape(criteria)}")
    if ticket["incident_id"]:
        out.print(f"part of incident #{ticket['incident_id']}")
    for change in ticket.get("priority_changes", []):
        out.print(
            f"  {change['at']} {change['kind']} {change['from_level']} → "
            f"{change['to_level']} by {change['actor']}: {change['note']}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )
    comments = ticket.get("comments", [])
    if ticket.get("older_comments") and comments:
        out.print(
            f"  (older comments: GET /api/v1/tickets/{ticket['id']}/comments"
            f"?before={comments[0]['id']})",
            highlight=False,
        )
    for comment in comments:
        out.print(
            f"  {comment['created_at']} {comment['author']}: {comment['body']}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


@app.command("new")
def new(
    team: Annotated[str, typer.Option("--team", "-t")],
    title: Annotated[str, typer.Option("--title")],
    facts: Annotated[list[str] | None, typer.Argument(help="signals key=number")] = None,
    priority: Annotated[str | None, typer.Option("--priority", "-p")] = None,
    service: Annotated[str | None, typer.Option("--service", "-s")] = None,
    kind: Annotated[str | None, typer.Option("--type")] = None,
    label: Annotated[list[str] | None, typer.Option("--label")] = None,
    description: Annotated[str, typer.Option("--description", "-d")] = "",
) -> None:
    """Open a ticket; without --priority the team's policy classifies the signals."""
    signals, labels = parse_facts(list(facts or []))
    all_labels = [*(label or []), *(f"{k}={v}" if v else k for k, v in labels.items())]
    show_ticket(
        request(
            "POST",
            "/api/v1/tickets",
            {
                "team": team,
                "title": title,
                "description": description,
                "service": service,
                "type": kind,
                "priority": priority,
                "signals": signals,
                "labels": all_labels,
            },
        )
    )


@app.command("list")
def list_(
    team: Annotated[str | None, typer.Option("--team", "-t")] = None,
    status: Annotated[str | None, typer.Option("--status")] = None,
    priority: Annotated[str | None, typer.Option("--priority", "-p")] = None,
    open_only: Annotated[bool, typer.Option("--open/--all")] = True,
    limit: Annotated[int, typer.Option("--limit")] = 50,
) -> None:
    page = request(
        "GET",
        "/api/v1/tickets",
        params={
            "team": team,
            "status": status,
            "priority": priority,
            "open": "true" if open_only else None,
            "limit": limit,
        },
    )
    table = Table("#", "team", "priority", "status", "title", "response due", "resolution due")
    for t in page["items"]:
        table.add_row(
            str(t["id"]),
            t["team"],
            t["priority"] or "-",
            t["status"],
            escape(t["title"]),
            t["response_due_at"] or "-",
            t["resolution_due_at"] or "-",
        )
    out.print(table)
    out.print(f"{len(page['items'])} of {page['total']}")


@app.command()
def show(ticket: int) -> None:
    show_ticket(request("GET", f"/api/v1/tickets/{ticket}"))


@app.command()
def mitigate(
    ticket: int,
    to: Annotated[str, typer.Option("--to")],
    note: Annotated[str, typer.Option("--note", "-m")] = "",
) -> None:
    """Lower the priority as the policy allows, saying how it was mitigated."""
    show_ticket(request("POST", f"/api/v1/tickets/{ticket}/mitigate", {"to": to, "note": note}))


@app.command()
def escalate(
    ticket: int,
    to: Annotated[str, typer.Option("--to")],
    note: Annotated[str, typer.Option("--note", "-m")] = "",
) -> None:
    """Raise the priority."""
    show_ticket(request("POST", f"/api/v1/tickets/{ticket}/escalate", {"to": to, "note": note}))


@app.command()
def move(
    ticket: int,
    to: Annotated[str, typer.Option("--to")],
    note: Annotated[str, typer.Option("--note", "-m")] = "",
) -> None:
    show_ticket(request("POST", f"/api/v1/tickets/{ticket}/transitions", {"to": to, "note": note}))


@app.command()
def comment(ticket: int, body: str) -> None:
    show_ticket(request("POST", f"/api/v1/tickets/{ticket}/comments", {"body": body}))


@app.command()
def declare(
    ticket: int,
    commander: Annotated[str | None, typer.Option("--commander", "-c")] = None,
    severity: Annotated[str | None, typer.Option("--severity")] = None,
    kind: Annotated[str | None, typer.Option("--type")] = None,
) -> None:
    """Escalate the ticket into an incident; the ticket is answered naming it and its lead."""
    incident = request(
        "POST",
        f"/api/v1/tickets/{ticket}/incident",
        {"commander": commander, "severity": severity, "type": kind},
    )
    out.print(
        f"declared incident #{incident['id']} ({incident['severity']}, "
        f"{incident['status']}) from ticket #{ticket}"
    )


@app.command()
def ack(ticket: int) -> None:
    """Acknowledge the page: escalation stops."""
    found = request("POST", f"/api/v1/tickets/{ticket}/acknowledge")
    out.print(f"#{ticket}: escalation {found['state']} by {found['acknowledged_by']}", markup=False)

"""`fireline escalation …`: escalation policies, against a server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from fireline.cli.client import request

app = typer.Typer(help="Escalation policies: who is paged, in what order.", no_args_is_help=True)
out = Console()


def _show(policy: dict[str, Any]) -> None:
    out.print(
        f"{policy['slug']}: {policy['name']} (teams: "
        f"{', '.join(policy['teams']) or '-'}; repeat {policy['repeat']})",
        markup=False,
    )
    for number, step in enumerate(policy["steps"], start=1):
        targets = ", ".join(
            f"{t['kind']}:{t['name'] or ''}" + (f"/{t['layer']}" if t["layer"] else "")
            for t in step["targets"]
        )
        out.print(f"  {number}. {targets}, then {step['delay_minutes']} min", markup=False)


@app.command("list")
def list_() -> None:
    for policy in request("GET", "/api/v1/escalation-policies"):
        _show(policy)


@app.command()
def create(
    file: Annotated[Path, typer.Argument(help="the policy as JSON, as the API takes it")],
) -> None:
    """Create an escalation policy from a JSON file (see POST /api/v1/escalation-policies)."""
    try:
        body = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        out.print(f"{file}: {error}", markup=False)
        raise typer.Exit(2) from None
    _show(request("POST", "/api/v1/escalation-policies", body))

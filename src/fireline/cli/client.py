"""The CLI's HTTP client: FIRELINE_URL + FIRELINE_TOKEN, problem+json turned into one line."""

from __future__ import annotations

import json
from typing import Any

import httpx
import typer
from rich.console import Console
from rich.markup import escape

from fireline.settings import ClientSettings

err = Console(stderr=True)


def request(method: str, path: str, body: Any = None, params: dict[str, Any] | None = None) -> Any:
    settings = ClientSettings()
    if not settings.token:
        err.print("[red]Set FIRELINE_TOKEN (and FIRELINE_URL if not http://127.0.0.1:8000).[/]")
        raise typer.Exit(2)
    headers = {"Authorization": f"Bearer {settings.token}", "X-Fireline-Client": "cli"}
    query = {k: v for k, v in (params or {}).items() if v is not None}
    try:
        response = httpx.request(
            method,
            settings.url.rstrip("/") + path,
            json=body,
            params=query,
            headers=headers,
            timeout=30,
        )
    except httpx.HTTPError as error:
        err.print(f"Cannot reach Fireline at {settings.url}: {error}", style="red", markup=False)
        raise typer.Exit(2) from None
    if response.status_code >= 400:
        report_problem(response)
        raise typer.Exit(1)
    return response.json()


def report_problem(response: httpx.Response) -> None:
    try:
        problem = response.json()
    except json.JSONDecodeError:
        err.print(f"HTTP {response.status_code}: {response.text[:500]}", style="red", markup=False)
        return
    err.print(
        f"[red]{escape(str(problem.get('title', 'Error')))}[/] ({response.status_code}): "
        + escape(str(problem.get("detail", ""))),
        highlight=False,
        soft_wrap=True,
    )
    if problem.get("allowed") is not None:
        err.print(
            "allowed next: " + (", ".join(problem["allowed"]) or "none"),
            highlight=False,
            soft_wrap=True,
            markup=False,
        )
    for item in problem.get("errors", []):
        where = f"{item.get('file')}:{item.get('line')}" if item.get("file") else ""
        err.print(
            f"  {where} {item.get('field')}: {item.get('message')}",
            highlight=False,
            soft_wrap=True,
            markup=False,
        )

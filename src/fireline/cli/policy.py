"""`fireline policy …` and `fireline init`: what would this policy do? No server needed."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from fireline.cli.client import request
from fireline.policy.errors import PolicyInvalid, UnknownPreset
from fireline.policy.explain import due_bys, run_examples
from fireline.policy.load import load_policy_file, load_preset, preset_text
from fireline.policy.schema import Policy, UnknownLevel
from fireline.triage.classify import classify, incident_criteria_met

app = typer.Typer(help="Check, test and question a policy without a server.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)

FileArg = Annotated[Path | None, typer.Argument(help="policy YAML file", show_default=False)]
PresetOpt = Annotated[str | None, typer.Option("--preset", help="a shipped preset instead")]


def _load(file: Path | None, preset: str | None) -> Policy:
    if (file is None) == (preset is None):
        err.print("[red]Give a policy FILE or --preset NAME (one of them).[/]")
        raise typer.Exit(2)
    try:
        return load_preset(preset) if preset else load_policy_file(file)  # type: ignore[arg-type]
    except PolicyInvalid as error:
        for problem in error.problems:
            err.print(str(problem), style="red", highlight=False, soft_wrap=True, markup=False)
        raise typer.Exit(1) from None
    except UnknownPreset as error:
        err.print(str(error), style="red", markup=False)
        raise typer.Exit(2) from None


@app.command()
def check(file: FileArg = None, preset: PresetOpt = None) -> None:
    """Validate a policy: schema and references, errors as file:line: field: message."""
    policy = _load(file, preset)
    out.print(
        f"[green]ok[/] {escape(policy.name)}: {len(policy.levels)} levels, "
        f"{len(policy.classification.rules)} rules, "
        f"{len(policy.workflows.incident.states)} incident states"
    )


@app.command("test")
def test_examples(file: FileArg = None, preset: PresetOpt = None) -> None:
    """Run the policy's embedded examples; exit 1 with a diff when one disagrees."""
    policy = _load(file, preset)
    failures = run_examples(policy)
    total = len(policy.classification.examples)
    for failure in failures:
        out.print(f"[red]FAIL[/] {escape(failure.name)}", highlight=False)
        out.print(
            f"  - expected: {failure.expected_level}"
            + (f" by {failure.expected_rule}" if failure.expected_rule else ""),
            style="red",
            highlight=False,
            markup=False,
        )
        out.print(
            f"  + got:      {failure.got_level}"
            + (f" by {failure.got_rule}" if failure.got_rule else ""),
            style="green",
            highlight=False,
            markup=False,
        )
    out.print(f"{total - len(failures)} passed, {len(failures)} failed")
    if failures:
        raise typer.Exit(1)


def parse_facts(facts: list[str]) -> tuple[dict[str, float], dict[str, str]]:
    """`key=number` is a signal; `key=text` and a bare `label` are labels."""
    signals: dict[str, float] = {}
    labels: dict[str, str] = {}
    for fact in facts:
        key, separator, value = fact.partition("=")
        if not separator:
            labels[key] = ""
            continue
        try:
            signals[key] = float(value)
        except ValueError:
            labels[key] = value
    return signals, labels


@app.command("classify")
def classify_command(
    facts: Annotated[list[str] | None, typer.Argument(help="key=value …")] = None,
    file: Annotated[Path | None, typer.Option("--file", "-f", help="policy YAML file")] = None,
    preset: PresetOpt = None,
) -> None:
    """Print the level and the rule that fired (or that none did) for signals and labels."""
    facts = list(facts or [])
    if file is None and preset is None and facts and Path(facts[0]).suffix in (".yaml", ".yml"):
        file = Path(facts.pop(0))
    policy = _load(file, preset)
    signals, labels = parse_facts(facts)
    verdict = classify(policy, signals, labels)
    if verdict.level is None:
        out.print("no rule fired")
    else:
        out.print(f"{verdict.level} (rule: {verdict.rule})", highlight=False, markup=False)
        if len(verdict.fired) > 1:
            others = ", ".join(r for r in verdict.fired if r != verdict.rule)
            out.print("also matched: " + others, markup=False)
    criteria = incident_criteria_met(policy, signals, labels)
    if criteria:
        out.print("incident criteria met: " + ", ".join(c.name for c in criteria), markup=False)


@app.command()
def due(
    file: FileArg = None,
    preset: PresetOpt = None,
    level: Annotated[str, typer.Option("--level", "-l", help="level name")] = "",
    opened: Annotated[str, typer.Option("--opened", help="ISO 8601 with offset")] = "",
) -> None:
    """Print the response and resolution due-by instants, in the policy's zone."""
    policy = _load(file, preset)
    try:
        start = datetime.fromisoformat(opened)
        found = due_bys(policy, level, start)
    except (ValueError, UnknownLevel) as error:
        err.print(str(error), style="red", markup=False)
        raise typer.Exit(2) from None
    table = Table("target", "rule", "due by")
    table.add_row(
        "response",
        found.response or "none",
        found.response_due.isoformat() if found.response_due else "-",
    )
    table.add_row(
        "resolution",
        found.resolution or "none",
        found.resolution_due.isoformat() if found.resolution_due else "-",
    )
    out.print(
        f"{found.level} opened {found.opened.isoformat()} ({policy.calendar.timezone}), "
        f"paging: {found.paging}"
    )
    out.print(table)


@app.command()
def apply(
    file: Annotated[Path, typer.Argument(help="policy YAML file")],
    team: Annotated[str, typer.Option("--team", "-t", help="team slug")],
) -> None:
    """Upload a policy as the team's next version (needs a server and an admin token)."""
    _load(file, None)
    version = request(
        "PUT",
        f"/api/v1/teams/{team}/policy",
        {"source": file.read_text(encoding="utf-8"), "file": str(file)},
    )
    out.print(f"team {team}: policy {version['name']} is now version {version['version']}")


def init(
    preset: Annotated[str, typer.Option("--preset", help="preset to start from")],
    output: Annotated[Path, typer.Option("--output", "-o", help="where to write")] = Path(
        "fireline-policy.yaml"
    ),
    force: Annotated[bool, typer.Option("--force", help="overwrite")] = False,
) -> None:
    """Write a preset out as your own policy file to edit."""
    try:
        text = preset_text(preset)
    except UnknownPreset as error:
        err.print(str(error), style="red", markup=False)
        raise typer.Exit(2) from None
    if output.exists() and not force:
        err.print(f"{output} exists; pass --force to overwrite", style="red", markup=False)
        raise typer.Exit(1)
    output.write_text(text, encoding="utf-8")
    out.print(f"wrote {output} from preset {preset}; check it with: fireline policy check {output}")

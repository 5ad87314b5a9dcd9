"""The CLI's client verbs against a real server: uvicorn on a free port, on SQLite and PostgreSQL.

The CLI speaks HTTP with FIRELINE_URL and FIRELINE_TOKEN, and says so (X-Fireline-Client: cli),
so everything it does is recorded as done via "cli".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import Result
from live_server import free_port, live_server
from typer.testing import CliRunner

from conftest import World
from fireline.cli.app import app
from fireline.clock.now import ManualClock
from fireline.policy.load import preset_text
from fireline.store.db import Database
from fireline.tickets.schemas import COMMENTS_SHOWN


@pytest.fixture
def server_url(db: Database, clock: ManualClock) -> Iterator[str]:
    with live_server(db, clock) as url:
        yield url


@dataclass
class Cli:
    """Runs `fireline …` as one user against the test server, and reads the server directly."""

    url: str
    world: World
    runner: CliRunner

    def __call__(self, *args: str, user: str = "admin", token: str | None = None) -> Result:
        env = {"FIRELINE_URL": self.url, "FIRELINE_TOKEN": token or self.world.tokens[user]}
        return self.runner.invoke(app, list(args), env=env, catch_exceptions=False)

    def get(self, path: str, user: str = "admin") -> Any:
        response = httpx.get(
            self.url + path, headers={"Authorization": f"Bearer {self.world.tokens[user]}"}
        )
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def cli(server_url: str, world: World) -> Cli:
    return Cli(server_url, world, CliRunner())


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def flat(text: str) -> str:
    """The text with the terminal's line wrapping undone."""
    return " ".join(text.split())


def new_ticket_id(stdout: str) -> int:
    first = stdout.splitlines()[0]
    assert first.startswith("#"), first
    return int(first[1:].split()[0])


# -- tickets ------------------------------------------------------------------------------------


def test_ticket_new_classifies_by_the_teams_policy(cli: Cli) -> None:
    out = ok(cli("ticket", "new", "--team", "hail", "--title", "Costs", "cost_usd_per_day=720"))

    number = new_ticket_id(out)
    assert "team hail · P1 (policy by rule cost-daily-critical) · open" in out
    ticket = cli.get(f"/api/v1/tickets/{number}")
    assert (ticket["title"], ticket["priority"], ticket["reporter"]) == ("Costs", "P1", "admin")
    assert ticket["signals"] == {"cost_usd_per_day": 720}
    events = cli.get(f"/api/v1/tickets/{number}/timeline")
    assert events
    assert {(e["actor"], e["via"]) for e in events} == {("admin", "cli")}


def test_ticket_new_with_labels_shows_the_incident_criteria(cli: Cli) -> None:
    out = ok(
        cli("ticket", "new", "-t", "2i2c", "--title", "Hub login", "symptom=cannot-log-in"),
    )

    assert "urgent (policy by rule users-cannot-log-in)" in out
    assert "meets incident criteria: users-cannot-log-in" in out
    ticket = cli.get(f"/api/v1/tickets/{new_ticket_id(out)}")
    assert ticket["labels"] == ["symptom=cannot-log-in"]


def test_ticket_list_shows_the_open_tickets(cli: Cli) -> None:
    ok(cli("ticket", "new", "--team", "hail", "--title", "Costs", "cost_usd_per_day=720"))
    ok(cli("ticket", "new", "--team", "hail", "--title", "Slow", "-p", "P3"))

    out = ok(cli("ticket", "list", "--team", "hail"))

    assert "Costs" in out and "Slow" in out
    assert out.splitlines()[-1] == "2 of 2"
    assert out.splitlines()[-1] == ok(cli("ticket", "list", user="vic")).splitlines()[-1]


def test_ticket_mitigate_lowers_the_priority_with_a_note(cli: Cli) -> None:
    number = new_ticket_id(
        ok(cli("ticket", "new", "--team", "hail", "--title", "Costs", "cost_usd_per_day=720"))
    )

    out = ok(cli("ticket", "mitigate", str(number), "--to", "P2", "-m", "capped the autoscaler"))

    assert "team hail · P2 (person) · open" in out
    assert "mitigate P1 → P2 by admin: capped the autoscaler" in out
    ticket = cli.get(f"/api/v1/tickets/{number}")
    assert ticket["priority"] == "P2"
    change = cli.get(f"/api/v1/tickets/{number}/timeline")[-1]
    assert (change["actor"], change["via"]) == ("admin", "cli")


def test_a_refused_mitigation_exits_1_and_says_why(cli: Cli) -> None:
    number = new_ticket_id(
        ok(cli("ticket", "new", "--team", "hail", "--title", "Costs", "cost_usd_per_day=720"))
    )

    result = cli("ticket", "mitigate", str(number), "--to", "P2")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Invalid input (422)" in result.stderr
    assert "note" in result.stderr
    assert cli.get(f"/api/v1/tickets/{number}")["priority"] == "P1"


def test_ticket_text_that_looks_like_markup_is_shown_as_written(cli: Cli) -> None:
    title = "[/x] disk [bold]full"
    number = new_ticket_id(ok(cli("ticket", "new", "-t", "hail", "--title", title, "-p", "P3")))
    ok(cli("ticket", "comment", str(number), "see [red]the graph[/]"))

    shown = ok(cli("ticket", "show", str(number)))

    assert f"#{number} {title}" in shown
    assert "admin: see [red]the graph[/]" in shown


def test_ticket_show_says_where_the_older_comments_are(cli: Cli) -> None:
    number = new_ticket_id(ok(cli("ticket", "new", "-t", "hail", "--title", "chatty", "-p", "P3")))
    auth = {"Authorization": f"Bearer {cli.world.tokens['admin']}"}
    for n in range(COMMENTS_SHOWN + 1):
        said = httpx.post(
            f"{cli.url}/api/v1/tickets/{number}/comments", json={"body": f"c{n}!"}, headers=auth
        )
        assert said.status_code == 201, said.text

    shown = flat(ok(cli("ticket", "show", str(number))))

    first = cli.get(f"/api/v1/tickets/{number}")["comments"][0]["id"]
    assert f"(older comments: GET /api/v1/tickets/{number}/comments?before={first})" in shown
    assert f"admin: c{COMMENTS_SHOWN}!" in shown and "admin: c0!" not in shown


# -- incidents ----------------------------------------------------------------------------------


def test_a_refused_incident_move_exits_1_and_prints_the_allowed_next_states(cli: Cli) -> None:
    out = ok(
        cli("incident", "declare", "-t", "openverse", "--title", "Down", "--severity", "severity-1")
    )
    number = int(out.splitlines()[0].split("#")[1].split()[0])
    incident = cli.get(f"/api/v1/incidents/{number}")
    assert incident["status"] == "stabilization_pending"

    result = cli("incident", "move", str(number), "--to", "resolved")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert "Transition refused (409)" in result.stderr
    assert "allowed next: stabilized" in result.stderr.splitlines()
    assert cli.get(f"/api/v1/incidents/{number}") == incident


def test_incident_move_and_show_record_the_cli(cli: Cli) -> None:
    out = ok(
        cli("incident", "declare", "-t", "openverse", "--title", "Down", "--severity", "severity-1")
    )
    number = int(out.splitlines()[0].split("#")[1].split()[0])

    moved = ok(
        cli("incident", "move", str(number), "--to", "stabilized", "-m", "rolled back", user="ada")
    )
    shown = ok(cli("incident", "show", str(number)))

    assert "stabilized · next: under_investigation, stabilization_pending" in flat(moved)
    assert "[cli] ada: stabilization_pending → stabilized: rolled back" in shown
    event = cli.get(f"/api/v1/incidents/{number}/timeline")[-1]
    assert (event["kind"], event["actor"], event["via"]) == ("incident.moved", "ada", "cli")


def test_incident_assign_hands_a_role_off(cli: Cli) -> None:
    out = ok(
        cli(
            "incident",
            "declare",
            "-t",
            "openverse",
            "--title",
            "Slow",
            "--severity",
            "severity-3",
            "-c",
            "ada",
        )
    )
    number = int(out.splitlines()[0].split("#")[1].split()[0])
    assert "  lead: ada" in out.splitlines()

    handed = ok(
        cli("incident", "assign", str(number), "--role", "lead", "--person", "grace", user="ada")
    )
    vacated = ok(cli("incident", "assign", str(number), "--role", "recorder", user="ada"))

    assert "  lead: grace" in handed.splitlines()
    assert "  recorder: (vacant)" in vacated.splitlines()
    roles = {r["role"]: r["person"] for r in cli.get(f"/api/v1/incidents/{number}")["roles"]}
    assert roles == {"lead": "grace", "recorder": None}
    events = [
        e for e in cli.get(f"/api/v1/incidents/{number}/timeline") if e["kind"] == "incident.role"
    ]
    handoffs = [(e["data"]["source"], e["data"]["target"], e["actor"], e["via"]) for e in events]
    assert ("ada", "grace", "ada", "cli") in handoffs
    assert ("admin", None, "ada", "cli") in handoffs


def test_ticket_declare_makes_an_incident_with_its_commander(cli: Cli) -> None:
    number = new_ticket_id(
        ok(cli("ticket", "new", "-t", "2i2c", "--title", "Hub login", "symptom=cannot-log-in"))
    )

    out = ok(cli("ticket", "declare", str(number), "--commander", "grace", user="ada"))

    assert out.startswith("declared incident #")
    incident_id = int(out.split("#")[1].split()[0])
    assert f"(urgent, active) from ticket #{number}" in out
    incident = cli.get(f"/api/v1/incidents/{incident_id}")
    roles = {r["role"]: r["person"] for r in incident["roles"]}
    assert roles["incident_commander"] == "grace"
    assert roles["support_steward"] == "ada"
    assert incident["tickets"] == [number]
    assert incident["declared_by"] == "ada"
    assert cli.get(f"/api/v1/tickets/{number}")["incident_id"] == incident_id
    events = cli.get(f"/api/v1/incidents/{incident_id}/timeline")
    assert events
    assert {e["via"] for e in events} == {"cli"}


def test_ticket_declare_refuses_the_steward_as_commander(cli: Cli) -> None:
    number = new_ticket_id(
        ok(cli("ticket", "new", "-t", "2i2c", "--title", "Hub login", "symptom=cannot-log-in"))
    )

    result = cli("ticket", "declare", str(number), "--commander", "ada", user="ada")

    assert result.exit_code == 1
    assert "(409)" in result.stderr
    assert cli.get(f"/api/v1/tickets/{number}")["incident_id"] is None
    assert cli.get("/api/v1/incidents")["total"] == 0


# -- policies through the server ----------------------------------------------------------------


def test_policy_apply_uploads_the_next_version(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "hail.yaml"
    path.write_text(preset_text("hail").replace("title: Hail — ", "title: Hail v2 — "), "utf-8")

    out = ok(cli("policy", "apply", str(path), "--team", "hail"))

    assert out.strip() == "team hail: policy hail is now version 2"
    assert [v["version"] for v in cli.get("/api/v1/teams/hail/policy/versions")] == [1, 2]


def test_policy_apply_as_a_viewer_is_refused(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "hail.yaml"
    path.write_text(preset_text("hail"), "utf-8")

    result = cli("policy", "apply", str(path), "--team", "hail", user="vic")

    assert result.exit_code == 1
    assert "Forbidden (403)" in result.stderr
    assert len(cli.get("/api/v1/teams/hail/policy/versions")) == 1


# -- reaching the server ------------------------------------------------------------------------


def test_a_bad_token_exits_1_with_the_problem(cli: Cli) -> None:
    result = cli("ticket", "list", token="fl_wrong")

    assert result.exit_code == 1
    assert "Unauthorized (401)" in result.stderr


def test_no_token_exits_2_and_says_what_to_set(cli: Cli) -> None:
    result = cli.runner.invoke(
        app, ["ticket", "list"], env={"FIRELINE_URL": cli.url, "FIRELINE_TOKEN": ""}
    )

    assert result.exit_code == 2
    assert "FIRELINE_TOKEN" in result.stderr


def test_an_unreachable_server_exits_2() -> None:
    env = {"FIRELINE_URL": f"http://127.0.0.1:{free_port()}", "FIRELINE_TOKEN": "fl_x"}

    result = CliRunner().invoke(app, ["ticket", "list"], env=env)

    assert result.exit_code == 2
    assert "Cannot reach Fireline" in result.stderr


# -- on call and paging -------------------------------------------------------------------------


def test_escalation_create_and_oncall_now_and_ack(cli: Cli, tmp_path: Path) -> None:
    schedule = {
        "slug": "squad",
        "name": "Squad",
        "timezone": "UTC",
        "layers": [
            {
                "name": "primary",
                "members": ["ada", "grace"],
                "start": "2026-11-23T00:00:00Z",
                "unit": "days",
            }
        ],
    }
    created = httpx.post(
        cli.url + "/api/v1/schedules",
        json=schedule,
        headers={"Authorization": f"Bearer {cli.world.tokens['admin']}"},
    )
    assert created.status_code == 201, created.text
    policy = tmp_path / "policy.json"
    policy.write_text(
        json.dumps(
            {
                "slug": "hail",
                "name": "Hail",
                "teams": ["hail"],
                "steps": [{"targets": [{"kind": "schedule", "name": "squad"}], "delay_minutes": 5}],
            }
        )
    )

    made = flat(ok(cli("escalation", "create", str(policy))))
    listed = flat(ok(cli("escalation", "list")))
    now = flat(ok(cli("oncall", "now", "--at", "2026-11-24T12:00:00+00:00")))
    ticket = new_ticket_id(
        ok(cli("ticket", "new", "--team", "hail", "--title", "Cost spike", "cost_usd_per_hour=200"))
    )
    acked = flat(ok(cli("ticket", "ack", str(ticket), user="ada")))
    again = cli("ticket", "ack", str(ticket), user="ada")

    assert "hail: Hail (teams: hail; repeat 0)" in made
    assert "1. schedule:squad, then 5 min" in listed
    assert "│ squad │ grace │" in now and "grace's turn since" in now
    assert acked == f"#{ticket}: escalation acknowledged by ada"
    assert again.exit_code == 1 and "acknowledged" in flat(again.output)
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    assert cli("escalation", "create", str(broken)).exit_code == 2


# -- alert sources and silences -----------------------------------------------------------------


def test_oncall_schedules_names_the_deactivated_members_it_skips(cli: Cli) -> None:
    admin = {"Authorization": f"Bearer {cli.world.tokens['admin']}"}
    layer = {"name": "primary", "members": ["ada", "grace"], "start": "2026-11-23T00:00:00Z"}
    made = httpx.post(
        cli.url + "/api/v1/schedules",
        json={"slug": "squad", "name": "Squad", "timezone": "UTC", "layers": [layer]},
        headers=admin,
    )
    assert made.status_code == 201, made.text
    assert httpx.delete(cli.url + "/api/v1/people/ada", headers=admin).status_code == 200

    shown = flat(ok(cli("oncall", "schedules")))

    assert "squad (UTC) skipped, deactivated: ada primary: ada, grace" in shown


def test_integration_create_prints_its_key_once_and_the_key_takes_alerts(cli: Cli) -> None:
    created = ok(cli("integration", "create", "meltano", "generic", "scripts"))
    key = next(line.split()[1] for line in created.splitlines() if line.startswith("key: "))
    sent = httpx.post(
        cli.url + "/api/v1/alerts/generic",
        json={"title": "Tap failing", "service": "hub"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert sent.status_code == 202, sent.text
    listed = ok(cli("integration", "list"))
    assert "scripts (generic → meltano)" in listed and key not in listed
    integration_id = listed.split(":")[0]
    assert "revoked" in ok(cli("integration", "revoke", integration_id))
    beat = ok(cli("integration", "create", "meltano", "heartbeat", "backup", "--every", "15"))
    assert "every 15 min" in beat


def test_silence_add_list_and_expire(cli: Cli) -> None:
    added = ok(
        cli(
            "silence",
            "add",
            "service=Reader",
            "alertname=~Disk.*",
            "--reason",
            "known",
            "--hours",
            "1",
        )
    )
    assert "[active] service=Reader, alertname=~Disk.*" in flat(added)
    silence_id = added.split(":")[0]
    assert f"{silence_id}: [active]" in ok(cli("silence", "list"))
    assert "[expired]" in ok(cli("silence", "expire", silence_id))
    assert ok(cli("silence", "list")).strip() == ""
    assert f"{silence_id}: [expired]" in ok(cli("silence", "list", "--expired"))
    bad = cli("silence", "add", "nonsense", "--reason", "x")
    assert bad.exit_code != 0


def test_a_maintenance_window_is_planned_ahead_from_the_cli(cli: Cli) -> None:
    planned = ok(
        cli(
            "silence",
            "add",
            "service=Reader",
            "--reason",
            "database upgrade",
            "--maintenance",
            "--starts",
            "2030-01-05T22:00+01:00",
            "--hours",
            "3",
        )
    )
    assert "[pending] service=Reader until 2030-01-06T01:00:00+01:00" in flat(planned)
    naive = cli("silence", "add", "service=Reader", "--reason", "x", "--starts", "2030-01-05T22:00")
    assert naive.exit_code != 0 and "offset" in flat(naive.output)

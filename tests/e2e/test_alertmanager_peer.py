"""A real Prometheus Alertmanager (Debian's `prometheus-alertmanager`) pages Fireline through
its webhook receiver: a firing alert opens a ticket under Alertmanager's own fingerprint, and the
same alert resolved at Alertmanager resolves it (Meltano's policy), on SQLite and PostgreSQL.

Real processes and a real HTTP server: uvicorn on a free port, Alertmanager on another. CI
installs the binary (.ci/run); with FIRELINE_REQUIRE_POSTGRES=1 a missing binary fails the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import httpx
import pytest
import yaml
from live_server import free_port, live_server
from sqlalchemy import select

from fireline.clock.now import ManualClock
from fireline.intake.models import AlertRow
from fireline.store.db import Database

if TYPE_CHECKING:
    from conftest import World

ALERTMANAGER = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"
REQUIRE = os.environ.get("FIRELINE_REQUIRE_POSTGRES") == "1"
WAIT_SECONDS = 30

T = TypeVar("T")


def wait_for(what: str, probe: Callable[[], T | None], seconds: float = WAIT_SECONDS) -> T:
    """Poll `probe` until it returns something other than None, or fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def alertmanager_binary() -> str:
    if os.access(ALERTMANAGER, os.X_OK):
        return ALERTMANAGER
    message = (
        f"{ALERTMANAGER} is not installed (Debian package prometheus-alertmanager; "
        ".ci/run installs it)"
    )
    if REQUIRE:
        pytest.fail(message + " (FIRELINE_REQUIRE_POSTGRES=1)", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def fireline_url(db: Database, clock: ManualClock) -> Iterator[str]:
    """Fireline served by uvicorn on a free port: Alertmanager must reach it over HTTP."""
    with live_server(db, clock, engine=False) as url:
        yield url


@pytest.fixture
def fireline(fireline_url: str, world: World) -> Iterator[httpx.Client]:
    """Fireline's API as the organisation's admin."""
    headers = {"Authorization": f"Bearer {world.tokens['admin']}"}
    with httpx.Client(base_url=fireline_url, headers=headers, timeout=10) as client:
        yield client


def start_alertmanager(
    binary: str, tmp_path: Path, webhook: str, key: str
) -> tuple[subprocess.Popen[bytes], str]:
    config = {
        "route": {
            "receiver": "fireline",
            "group_by": ["alertname", "service"],
            "group_wait": "1s",
            "group_interval": "2s",
            "repeat_interval": "1h",
        },
        "receivers": [
            {
                "name": "fireline",
                "webhook_configs": [
                    {
                        "url": webhook,
                        "send_resolved": True,
                        "http_config": {"authorization": {"credentials": key}},
                    }
                ],
            }
        ],
    }
    config_file = tmp_path / "alertmanager.yml"
    config_file.write_text(yaml.safe_dump(config))
    storage = tmp_path / "alertmanager-data"
    storage.mkdir()
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = (tmp_path / "alertmanager.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config_file}",
            f"--storage.path={storage}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            f"--web.external-url={url}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    log.close()
    return process, url


def alertmanager_log(tmp_path: Path) -> str:
    path = tmp_path / "alertmanager.log"
    return path.read_text(errors="replace")[-4000:] if path.exists() else "(no log)"


def ready(url: str, process: subprocess.Popen[bytes]) -> bool | None:
    assert process.poll() is None, f"Alertmanager exited with {process.returncode}"
    try:
        return httpx.get(f"{url}/-/ready", timeout=1).status_code == 200 or None
    except httpx.TransportError:
        return None


def alert_rows(db: Database, fingerprint: str) -> list[tuple[str, str, int | None]]:
    with db.transaction() as session:
        rows = session.execute(
            select(AlertRow.action, AlertRow.outcome, AlertRow.ticket_id)
            .where(AlertRow.fingerprint == fingerprint)
            .order_by(AlertRow.id)
        ).all()
    return [(action, outcome, ticket_id) for action, outcome, ticket_id in rows]


def test_alertmanager_opens_a_ticket_and_its_resolution_resolves_it(
    alertmanager_binary: str,
    fireline: httpx.Client,
    fireline_url: str,
    db: Database,
    tmp_path: Path,
) -> None:
    created = fireline.post(
        "/api/v1/integrations",
        json={"team": "meltano", "kind": "alertmanager", "name": "prometheus"},
    )
    assert created.status_code == 201, created.text
    key = created.json()["key"]
    process, am_url = start_alertmanager(
        alertmanager_binary, tmp_path, f"{fireline_url}/api/v1/alerts/alertmanager", key
    )
    try:
        wait_for("Alertmanager to be ready", lambda: ready(am_url, process), 15)
        labels = {"alertname": "ReaderErrorRate", "service": "Reader", "severity": "critical"}
        started = datetime.now(UTC) - timedelta(minutes=1)
        alert = {
            "labels": labels,
            "annotations": {"summary": "Reader error rate above 5%", "error_ratio": "0.07"},
            "startsAt": started.isoformat(),
            "generatorURL": "http://prometheus.test/graph?g0.expr=reader_errors",
        }
        posted = httpx.post(f"{am_url}/api/v2/alerts", json=[alert], timeout=5)
        assert posted.status_code == 200, posted.text

        # Alertmanager's own fingerprint of the label set names the alert in Fireline.
        listed = httpx.get(f"{am_url}/api/v2/alerts", timeout=5).json()
        [am_alert] = [a for a in listed if a["labels"] == labels]
        fingerprint = f"alertmanager:{am_alert['fingerprint']}"

        try:
            [(action, outcome, ticket_id)] = wait_for(
                "Alertmanager's firing notification to reach Fireline",
                lambda: alert_rows(db, fingerprint) or None,
            )
        except AssertionError as error:
            raise AssertionError(f"{error}\n{alertmanager_log(tmp_path)}") from None
        assert (action, outcome) == ("trigger", "opened")
        assert ticket_id is not None
        ticket = fireline.get(f"/api/v1/tickets/{ticket_id}").json()
        assert ticket["team"] == "meltano"
        assert ticket["title"] == "Reader error rate above 5%"
        assert ticket["service"] == "Reader"
        assert ticket["priority"] == "highest"  # severity critical, by Meltano's alert levels
        assert ticket["signals"] == {"error_ratio": 0.07}
        assert (ticket["status"], ticket["open"]) == ("open", True)
        assert "severity=critical" in ticket["labels"]
        assert [link["url"] for link in ticket["links"]] == [alert["generatorURL"]]

        resolved = {**alert, "endsAt": (datetime.now(UTC) - timedelta(seconds=1)).isoformat()}
        posted = httpx.post(f"{am_url}/api/v2/alerts", json=[resolved], timeout=5)
        assert posted.status_code == 200, posted.text

        try:
            rows = wait_for(
                "Alertmanager's resolved notification to reach Fireline",
                lambda: rows if len(rows := alert_rows(db, fingerprint)) > 1 else None,
            )
        except AssertionError as error:
            raise AssertionError(f"{error}\n{alertmanager_log(tmp_path)}") from None
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)

    assert rows == [("trigger", "opened", ticket_id), ("resolve", "resolved", ticket_id)]
    ticket = fireline.get(f"/api/v1/tickets/{ticket_id}").json()
    assert (ticket["status"], ticket["open"]) == ("resolved", False)
    assert ticket["resolved_at"] is not None
    timeline = fireline.get(f"/api/v1/tickets/{ticket_id}/timeline").json()
    assert any("alertmanager alert resolved at the source" in e["summary"] for e in timeline), [
        e["summary"] for e in timeline
    ]

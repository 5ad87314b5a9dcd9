"""`make run` loads the demo organisation: it must load on both databases, load once, and
show what each seed's process looks like when lived in."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from fireline.clock.now import ManualClock
from fireline.orgs.demo import ADMIN, load_demo
from fireline.store.db import Database

pytestmark = pytest.mark.db


def test_the_demo_loads_once_and_hands_out_a_fresh_token_each_time(
    db: Database, clock: ManualClock, app_client: TestClient
) -> None:
    first = load_demo(db, clock)
    again = load_demo(db, clock)
    assert (first.created, again.created) == (True, False)
    assert first.handle == again.handle == ADMIN
    assert first.token != again.token
    bearer = {"Authorization": f"Bearer {again.token}"}
    teams = app_client.get("/api/v1/teams", headers=bearer)
    assert teams.status_code == 200, teams.text
    assert {"hail", "caseflow", "2i2c", "openverse", "meltano"} <= {t["slug"] for t in teams.json()}
    tickets = app_client.get("/api/v1/tickets?label=upstream", headers=bearer).json()["items"]
    assert any("PyPI" in t["title"] and "upstream=PyPI" in t["labels"] for t in tickets)
    # Meltano's upstream outage is told to the public; the Openverse outage has its updates.
    public = app_client.get("/api/v1/public/status/demo", headers={"Authorization": ""}).json()
    assert [n["title"] for n in public["notices"]] == ["Upstream outage: PyPI"]
    assert public["active"] and public["active"][0]["updates"]

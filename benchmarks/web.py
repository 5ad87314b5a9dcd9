"""The web app under a large history: 1,000,000 tickets and 100,000 incidents in PostgreSQL.

Serves Fireline with uvicorn in its own process (engine off), signs in like a browser, and
requests each page one after another: the dashboard, the incident list (filtered, a page deep
into the history), and incident pages picked at random. Prints p50/p99 per page.

    .venv/bin/python benchmarks/web.py [--tickets N] [--incidents N] [--requests N]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx
import sqlalchemy as sa
from machine import describe
from tickets import postgres_url

from fireline.auth.actor import Role
from fireline.auth.service import add_user
from fireline.clock.now import SystemClock
from fireline.orgs.service import create_organisation, create_team, store_policy
from fireline.policy.load import preset_text
from fireline.store.db import Database
from fireline.store.migrate import upgrade

PASSWORD = "benchmark-password"

TICKETS = """
INSERT INTO tickets (org_id, team_id, policy_version_id, title, description, service, type,
  priority, priority_source, signals, labels, status, is_open, incident_criteria, created_at,
  updated_at, clock_started_at, response_due_at, resolution_due_at, responded_at, resolved_at,
  alert_count)
SELECT :org, :team, :version, 'Ticket ' || g || ': ' || (ARRAY['batch','ui','ci','cost'])[g % 4 + 1]
    || ' trouble', '', (ARRAY['batch','ui','ci','cost'])[g % 4 + 1], NULL,
  (ARRAY['P1','P2','P3'])[g % 3 + 1], 'policy', '{}'::jsonb, '[]'::jsonb,
  CASE WHEN g % 100 = 0 THEN 'open' ELSE 'resolved' END, g % 100 = 0, '[]'::jsonb,
  now() - g * interval '90 seconds', now() - g * interval '90 seconds',
  now() - g * interval '90 seconds', now() - g * interval '90 seconds' + interval '4 hours',
  now() - g * interval '90 seconds' + interval '3 days',
  CASE WHEN g % 100 = 0 THEN NULL ELSE now() - g * interval '90 seconds' + interval '1 hour' END,
  CASE WHEN g % 100 = 0 THEN NULL ELSE now() - g * interval '90 seconds' + interval '1 day' END,
  1
FROM generate_series(1, :n) AS g
"""

INCIDENTS = """
INSERT INTO incidents (org_id, team_id, policy_version_id, title, summary, type, severity, status,
  is_open, private, declared_by_id, created_at, updated_at, resolved_at)
SELECT :org, :team, :version, 'Incident ' || g, 'What happened in incident ' || g, 'incident',
  (ARRAY['severity-1','severity-2','severity-3'])[g % 3 + 1],
  CASE WHEN g % 200 = 0 THEN 'stabilized' ELSE 'resolved' END, g % 200 = 0, g % 10 = 3, :user,
  now() - g * interval '15 minutes', now() - g * interval '15 minutes',
  CASE WHEN g % 200 = 0 THEN NULL ELSE now() - g * interval '15 minutes' + interval '5 hours' END
FROM generate_series(1, :n) AS g
"""

EVENTS = """
INSERT INTO timeline_events (org_id, incident_id, kind, summary, data, actor_id, via, at)
SELECT :org, i.id, 'incident.update', 'Update ' || k || ' on incident ' || i.id, '{}'::jsonb,
  :user, 'web', i.created_at + k * interval '10 minutes'
FROM incidents i CROSS JOIN generate_series(1, :per) AS k
"""

ROLES = """
INSERT INTO incident_roles (incident_id, role, user_id, assigned_at)
SELECT id, 'lead', :user, created_at FROM incidents
"""


def load(url: str, tickets: int, incidents: int) -> list[int]:
    db = Database(url)
    clock = SystemClock()
    with db.transaction() as session:
        org = create_organisation(session, clock, "bench", "Bench")
        user = add_user(session, clock, org.id, "admin", "Admin", Role.admin, password=PASSWORD)
        teams = {}
        for name in ("hail", "openverse"):
            team = create_team(session, clock, org.id, name, name)
            version = store_policy(session, clock, team, preset_text(name), name, None)
            teams[name] = (team.id, version.id)
        ids = {"org": org.id, "user": user.id}
    started = time.perf_counter()
    with db.engine.begin() as connection:
        team, version = teams["hail"]
        connection.execute(
            sa.text(TICKETS), {**ids, "team": team, "version": version, "n": tickets}
        )
        team, version = teams["openverse"]
        connection.execute(
            sa.text(INCIDENTS), {**ids, "team": team, "version": version, "n": incidents}
        )
        connection.execute(sa.text(EVENTS), {**ids, "per": 10})
        connection.execute(sa.text(ROLES), ids)
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(sa.text("VACUUM ANALYZE"))
    print(
        f"loaded {tickets:,} tickets, {incidents:,} incidents, {incidents * 10:,} events "
        f"in {time.perf_counter() - started:.0f} s"
    )
    with db.engine.connect() as connection:
        public = connection.execute(
            sa.text("SELECT id FROM incidents WHERE NOT private ORDER BY random() LIMIT 1000")
        ).scalars()
        chosen = list(public)
    db.dispose()
    return chosen


def serve(url: str, port: int) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "FIRELINE_DATABASE_URL": url,
        "FIRELINE_ENGINE": "false",
        "FIRELINE_SPOOL_DIR": str(Path("var/bench-spool").absolute()),
    }
    fireline = Path(sys.executable).parent / "fireline"
    server = subprocess.Popen(
        [str(fireline), "serve", "--no-engine", "--port", str(port)],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                return server
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the server did not start")


def measure(client: httpx.Client, paths: list[str]) -> tuple[float, float, float]:
    times = []
    for path in paths:
        started = time.perf_counter()
        answer = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    return statistics.median(times), p99, times[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--incidents", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--port", type=int, default=8731)
    args = parser.parse_args()
    print(describe())
    rng = random.Random(7)
    with postgres_url() as url:
        upgrade(url)
        public = load(url, args.tickets, args.incidents)
        server = serve(url, args.port)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{args.port}", timeout=30) as client:
                signed = client.post(
                    "/login",
                    data={"organisation": "bench", "handle": "admin", "password": PASSWORD},
                )
                assert signed.status_code == 303, signed.text
                lists = [
                    "/app/incidents?team=openverse&severity={}&open=no&offset={}".format(
                        rng.choice(["severity-1", "severity-2", "severity-3"]),
                        25 * rng.randrange(0, 40),
                    )
                    for _ in range(args.requests)
                ]
                pages = {
                    "dashboard": ["/app"] * args.requests,
                    "incident list (filtered, paginated)": lists,
                    "incident page": [
                        f"/app/incidents/{rng.choice(public)}" for _ in range(args.requests)
                    ],
                }
                for paths in pages.values():  # warm: first requests compile policies
                    measure(client, paths[:5])
                print(f"{args.requests} sequential requests per page, over HTTP on loopback:")
                for name, paths in pages.items():
                    p50, p99, worst = measure(client, paths)
                    print(
                        f"  {name:38} p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   max {worst:6.1f} ms"
                    )
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    main()

"""Caseflow: "if a ticket already exists for the error, comment on the existing ticket with a
link to the latest occurrence". The repeats of one batch make one comment a ticket, counted
exactly, on both databases (PostgreSQL writes the count and the comments in one statement)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from fireline.clock.now import ManualClock
from fireline.intake import service
from fireline.intake.schemas import NewIntegration
from fireline.intake.sources import generic
from fireline.store.db import Database
from fireline.tickets.models import Comment, Ticket

if TYPE_CHECKING:
    from conftest import World


def test_a_batchs_repeats_make_one_exact_comment_a_ticket(
    db: Database, clock: ManualClock, world: World
) -> None:
    created = service.create_integration(
        db, clock, world.admin, NewIntegration(team="caseflow", kind="generic", name="errors")
    )
    source = service.source_for_key(db, created.key, "generic")

    def alert(key: str, link: str | None = None) -> tuple[service.Source, list[object]]:
        body: dict[str, object] = {"title": f"error {key}", "dedup_key": key}
        if link:
            body["links"] = [link]
        return source, generic.parse(body)

    service.accept_many(db, clock, [alert("a"), alert("b"), alert("c")])
    now = clock.now()
    # a: three repeats, the last two with links (the latest wins); b: one, no link; c: none.
    service.accept_many(
        db,
        clock,
        [
            alert("a"),
            alert("a", "https://sentry/a/1"),
            alert("b"),
            alert("a", "https://sentry/a/2"),
        ],
    )
    with db.transaction() as session:
        counts = dict(session.execute(select(Ticket.fingerprint, Ticket.alert_count)).all())
        comments = session.execute(
            select(Ticket.fingerprint, Comment.body, Comment.via, Comment.created_at)
            .join(Ticket, Ticket.id == Comment.ticket_id)
            .order_by(Comment.id)
        ).all()
    assert counts == {"generic:a": 4, "generic:b": 2, "generic:c": 1}
    at = now.isoformat()
    assert [tuple(row) for row in comments] == [
        (
            "generic:a",
            f"Occurrence 4 at {at} (3 since the last comment): https://sentry/a/2",
            "integration",
            now,
        ),
        ("generic:b", f"Occurrence 2 at {at}", "integration", now),
    ]

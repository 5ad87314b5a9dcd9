"""Email pages go through a real SMTP server (aiosmtpd) on this machine."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from email.message import Message
from typing import TYPE_CHECKING, Any

import pytest
from aiosmtpd.controller import Controller

from fireline.clock.now import ManualClock
from fireline.engine.cycle import Engine
from fireline.escalation.schemas import NewEscalationPolicy
from fireline.escalation.service import create_policy
from fireline.notify.channels.registry import Channels
from fireline.notify.schemas import NewContactMethod
from fireline.notify.service import add_contact_method, ticket_notifications
from fireline.store.db import Database
from fireline.tickets.schemas import NewTicket
from fireline.tickets.service import open_ticket

if TYPE_CHECKING:
    from tests.conftest import World


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"


def page_ada_by_email(db: Database, clock: ManualClock, world: World) -> int:
    """Ada is reached by email; Hail's tickets page her; a P1 opens. Returns its id."""
    add_contact_method(
        db,
        clock,
        world.responder,
        "ada",
        NewContactMethod(name="mail", kind="email", target="ada@example.org"),
    )
    create_policy(
        db,
        clock,
        world.admin,
        NewEscalationPolicy.model_validate(
            {
                "slug": "p",
                "name": "P",
                "teams": ["hail"],
                "steps": [{"targets": [{"kind": "person", "name": "ada"}], "delay_minutes": 5}],
            }
        ),
    )
    return open_ticket(
        db,
        clock,
        world.other,
        NewTicket(team="hail", title="Leaked key", labels=["symptom=private-key-leaked"]),
    ).id


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield mailbox, port
    controller.stop()


def test_a_page_by_email_arrives_with_its_idempotency_key_as_message_id(
    db: Database, clock: ManualClock, world: World, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    ticket_id = page_ada_by_email(db, clock, world)

    Engine(
        db,
        clock,
        Channels(db, clock, "s", "127.0.0.1", port, "pager@fireline.test"),
        instance="mail",
    ).cycle()

    [message] = mailbox.messages
    [log] = ticket_notifications(db, world.admin, ticket_id)
    assert message["To"] == "ada@example.org" and message["From"] == "pager@fireline.test"
    assert message["Subject"] == f"[P1] #{ticket_id} Leaked key"
    assert message["Message-ID"] == f"<{log.idempotency_key}@fireline>"
    assert (log.kind, log.status) == ("email", "sent")


def test_a_refused_address_is_not_retried_and_the_page_reaches_the_inbox(
    db: Database, clock: ManualClock, world: World, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    mailbox.refuse.add("ada@example.org")
    ticket_id = page_ada_by_email(db, clock, world)
    engine = Engine(db, clock, Channels(db, clock, "s", "127.0.0.1", port), instance="mail")

    engine.cycle()
    engine.cycle()

    log = ticket_notifications(db, world.admin, ticket_id)
    assert [(n.kind, n.status, n.attempts) for n in log] == [
        ("email", "failed", 1),
        ("inbox", "sent", 1),
    ]
    assert "refused" in (log[0].last_error or "")

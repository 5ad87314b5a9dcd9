"""Public notices that follow a ticket: opened when the ticket is marked an upstream outage
whose type tells users (Meltano's "we should nevertheless notify users"), closed when the
ticket closes. Only what the public may read goes in: the upstream's name, the affected
service and the responder's note, never the alert's own title."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fireline.statuspage.models import StatusNotice


def upstream_words(upstream: str, service: str | None, note: str) -> tuple[str, str]:
    """The notice's title and body."""
    affected = f"{service} is affected" if service else "some of our services are affected"
    body = (
        f"{upstream} is having an outage and {affected}. The problem is not on our side and "
        "needs nothing from you; we are following it and will post here when it is over."
    )
    return f"Upstream outage: {upstream}", body + (f" {note}" if note else "")


def open_upstream_notice(
    session: Session,
    now: datetime,
    org_id: int,
    ticket_id: int,
    upstream: str,
    service: str | None,
    note: str = "",
) -> StatusNotice:
    """The ticket's notice, opened now, or the open one brought up to date."""
    title, body = upstream_words(upstream, service, note)
    notice = session.scalar(select(StatusNotice).where(StatusNotice.ticket_id == ticket_id))
    if notice is None:
        notice = StatusNotice(
            org_id=org_id, ticket_id=ticket_id, title=title, body=body, opened_at=now
        )
        session.add(notice)
    else:
        if notice.closed_at is not None:  # the ticket was reopened and is upstream again
            notice.opened_at, notice.closed_at = now, None
        notice.title, notice.body = title, body
    session.flush()
    return notice


def close_notices(session: Session, now: datetime, ticket_id: int) -> None:
    """Close the ticket's open notice, if it has one."""
    session.execute(
        update(StatusNotice)
        .where(StatusNotice.ticket_id == ticket_id, StatusNotice.closed_at.is_(None))
        .values(closed_at=now)
        .execution_options(synchronize_session=False)
    )

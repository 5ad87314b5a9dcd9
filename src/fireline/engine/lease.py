"""Claiming due work under a lease with a fencing number.

A claim bumps the row's `fence`. Whoever finishes the work must still hold that fence: an
instance that froze past its lease, while another took the work over, finds the fence moved
and its late commit is refused. A crashed instance's claims are taken over after the lease.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from fireline.store.db import Database


class Fenced(Exception):
    """The claim was taken over (lease expired); this instance must not commit its work."""


@dataclass(frozen=True, slots=True)
class Claim:
    id: int
    fence: int


def claim(
    db: Database,
    model: Any,
    ready: ColumnElement[bool],
    order: Any,
    now: datetime,
    instance: str,
    lease: timedelta,
    limit: int,
) -> list[Claim]:
    """Claim up to `limit` ready rows nobody holds (or whose lease ran out), oldest first."""
    with db.transaction() as session:
        free = (
            select(model.id)
            .where(ready, or_(model.lease_until.is_(None), model.lease_until < now))
            .order_by(order)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        rows = session.execute(
            update(model)
            .where(model.id.in_(free.scalar_subquery()))
            .values(claimed_by=instance, lease_until=now + lease, fence=model.fence + 1)
            .returning(model.id, model.fence),
            execution_options={"synchronize_session": False},
        ).all()
    return [Claim(row[0], row[1]) for row in rows]


def hold(session: Session, model: Any, work: Claim, instance: str) -> Any:
    """Lock a claimed row for finishing; `Fenced` if another instance has taken it over."""
    row = session.scalar(select(model).where(model.id == work.id).with_for_update())
    if row is None or row.fence != work.fence or row.claimed_by != instance:
        raise Fenced(f"{model.__tablename__} {work.id}: claim {work.fence} was taken over")
    return row


def hold_many(session: Session, model: Any, work: list[Claim], instance: str) -> list[Any]:
    """Lock many claimed rows in one statement; the ones another instance took over are left
    out (their new holder finishes them)."""
    fences = {claim.id: claim.fence for claim in work}
    rows = session.scalars(
        select(model).where(model.id.in_(fences)).order_by(model.id).with_for_update()
    ).all()
    return [row for row in rows if row.fence == fences[row.id] and row.claimed_by == instance]

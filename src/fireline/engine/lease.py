"""Claiming due work under a lease with a fencing number.

A claim bumps the row's `fence`. Whoever finishes the work must still hold that fence: an
instance that froze past its lease, while another took the work over, finds the fence moved
and its late commit is refused. A crashed instance's claims are taken over after the lease.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Row, or_, select, update
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
        rows = claim_rows(session, model, ready, order, now, instance, lease, limit)
    return [Claim(row.id, row.fence) for row in rows]


def claim_rows(
    session: Session,
    model: Any,
    ready: ColumnElement[bool],
    order: Any,
    now: datetime,
    instance: str,
    lease: timedelta,
    limit: int,
    *columns: Any,
) -> Sequence[Row[Any]]:
    """`claim` in the caller's transaction, which then holds the rows until it commits:
    each row's id and new fence, and `columns`, as the claim left them."""
    free = (
        select(model.id)
        .where(ready, or_(model.lease_until.is_(None), model.lease_until < now))
        .order_by(order)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return session.execute(
        update(model)
        .where(model.id.in_(free.scalar_subquery()))
        .values(claimed_by=instance, lease_until=now + lease, fence=model.fence + 1)
        .returning(model.id, model.fence, *columns),
        execution_options={"synchronize_session": False},
    ).all()


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


def hold_rows(
    session: Session, model: Any, work: list[Claim], instance: str, *columns: Any
) -> list[Row[Any]]:
    """`hold_many` as plain rows of the id, the fence and `columns`, in id order."""
    fences = {claim.id: claim.fence for claim in work}
    rows = session.execute(
        select(model.id, model.fence, model.claimed_by, *columns)
        .where(model.id.in_(fences))
        .order_by(model.id)
        .with_for_update()
    ).all()
    return [row for row in rows if row.fence == fences[row.id] and row.claimed_by == instance]

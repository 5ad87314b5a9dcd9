"""Deactivating a person: their account stops acting, their waiting pages are cancelled, and
every schedule and escalation step that names them skips them from now on, with a reason.
Nothing is deleted: timelines, notification logs and past rotations keep their name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fireline.auth import service as accounts
from fireline.auth.actor import Actor
from fireline.clock.now import Clock
from fireline.escalation.service import steps_naming
from fireline.notify.service import cancel_pages_to
from fireline.oncall.service import places_naming
from fireline.store.db import Database


@dataclass(frozen=True, slots=True)
class Deactivated:
    handle: str
    name: str
    deactivated_at: datetime
    pages_cancelled: int
    still_named_in: list[str]


def deactivate_person(db: Database, clock: Clock, actor: Actor, handle: str) -> Deactivated:
    """Deactivate `handle` (admins; not yourself); asking again changes nothing.
    `still_named_in` lists the schedules and steps to edit: they skip the person meanwhile,
    and refuse to be rewritten while they still name them."""
    with db.transaction() as session:
        user = accounts.deactivate(session, clock.now(), actor, handle)
        assert user.deactivated_at is not None
        cancelled = cancel_pages_to(session, user.id)
        named = places_naming(session, actor.org_id, user.id, clock.now())
        named += steps_naming(session, actor.org_id, user.handle)
        return Deactivated(user.handle, user.name, user.deactivated_at, cancelled, named)

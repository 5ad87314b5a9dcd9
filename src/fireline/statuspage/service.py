"""Status page use cases: components, publishing an update on an incident, the public view.

Private incidents never reach the public: publishing on one is refused, and every public query
filters them out again, so an incident made private later disappears from the page too.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from fireline.auth.actor import Actor, Role
from fireline.auth.models import User
from fireline.clock.now import Clock
from fireline.errors import Conflict, Invalid, NotFound
from fireline.incidents.models import Incident
from fireline.incidents.service import load_incident
from fireline.orgs.models import Organisation
from fireline.orgs.service import policy_of_version
from fireline.statuspage.models import StatusComponent, StatusNotice, StatusUpdate
from fireline.statuspage.schemas import (
    ComponentState,
    ComponentView,
    NewComponent,
    NewStatusUpdate,
    PublicIncident,
    PublicNotice,
    PublicStatus,
    StatusUpdateView,
)
from fireline.store.db import Database
from fireline.timeline.service import record

HISTORY = timedelta(days=90)


def _component_view(row: StatusComponent) -> ComponentView:
    return ComponentView(
        slug=row.slug,
        name=row.name,
        description=row.description,
        state=ComponentState(row.state),
        updated_at=row.updated_at,
    )


def _components(session: Session, org_id: int) -> list[StatusComponent]:
    return list(
        session.scalars(
            select(StatusComponent)
            .where(StatusComponent.org_id == org_id)
            .order_by(StatusComponent.position, StatusComponent.name)
        )
    )


def add_component(db: Database, clock: Clock, actor: Actor, new: NewComponent) -> ComponentView:
    actor.require(Role.admin)
    with db.transaction() as session:
        taken = session.scalar(
            select(StatusComponent.id).where(
                StatusComponent.org_id == actor.org_id, StatusComponent.slug == new.slug
            )
        )
        if taken is not None:
            raise Conflict(f"a component {new.slug!r} exists already")
        row = StatusComponent(
            org_id=actor.org_id,
            slug=new.slug,
            name=new.name,
            description=new.description,
            position=new.position,
            state=ComponentState.operational.value,
            updated_at=clock.now(),
        )
        session.add(row)
        session.flush()
        return _component_view(row)


def list_components(db: Database, actor: Actor) -> list[ComponentView]:
    with db.reading() as session:
        return [_component_view(c) for c in _components(session, actor.org_id)]


def _update_views(session: Session, rows: list[StatusUpdate]) -> list[StatusUpdateView]:
    ids = {r.published_by_id for r in rows if r.published_by_id is not None}
    handles = dict(session.execute(select(User.id, User.handle).where(User.id.in_(ids))).all())
    return [
        StatusUpdateView(
            id=r.id,
            incident_id=r.incident_id,
            status=r.status,
            body=r.body,
            components={k: ComponentState(v) for k, v in r.components.items()},
            published_by=handles.get(r.published_by_id) if r.published_by_id else None,
            published_at=r.published_at,
        )
        for r in rows
    ]


def _public_words(session: Session, incident: Incident) -> str:
    """The incident's state as the public reads it: the policy's title for it."""
    flow = policy_of_version(session, incident.policy_version_id).policy.workflows.incident
    state = next((s for s in flow.states if s.name == incident.status), None)
    if state is not None and state.title:
        return state.title
    return incident.status.replace("_", " ").capitalize()


def publish_update(
    db: Database, clock: Clock, actor: Actor, incident_id: int, new: NewStatusUpdate
) -> StatusUpdateView:
    """Publish what the public should know now; named components take the states given."""
    actor.require(Role.responder)
    now = clock.now()
    with db.transaction() as session:
        incident = load_incident(session, actor, incident_id, lock=True)
        if incident.private:
            raise Conflict(
                f"incident {incident_id} is private; private incidents never appear on the "
                "status page"
            )
        known = {c.slug: c for c in _components(session, actor.org_id)}
        unknown = sorted(set(new.components) - set(known))
        if unknown:
            raise Invalid("components", f"no component {', '.join(unknown)}", known=sorted(known))
        for slug, state in new.components.items():
            known[slug].state = state.value
            known[slug].updated_at = now
        row = StatusUpdate(
            org_id=actor.org_id,
            incident_id=incident.id,
            status=_public_words(session, incident),
            body=new.body,
            components={k: v.value for k, v in new.components.items()},
            published_by_id=actor.user_id,
            published_at=now,
        )
        session.add(row)
        incident.updated_at = now
        record(
            session,
            actor,
            now,
            "incident.status_published",
            f"published on the status page: {new.body}",
            incident_id=incident.id,
            components=row.components,
        )
        session.flush()
        return _update_views(session, [row])[0]


def status_updates(db: Database, actor: Actor, incident_id: int) -> list[StatusUpdateView]:
    with db.reading() as session:
        load_incident(session, actor, incident_id)
        rows = session.scalars(
            select(StatusUpdate)
            .where(StatusUpdate.incident_id == incident_id)
            .order_by(StatusUpdate.published_at.desc(), StatusUpdate.id.desc())
        )
        return _update_views(session, list(rows))


def _organisation(session: Session, slug: str) -> Organisation:
    found = session.scalar(select(Organisation).where(Organisation.slug == slug))
    if found is None:
        raise NotFound(f"no status page {slug!r}")
    return found


def public_status(db: Database, clock: Clock, organisation: str) -> PublicStatus:
    """What anyone may see: components, public incidents with updates (active, then 90 days)."""
    now = clock.now()
    with db.reading() as session:
        org = _organisation(session, organisation)
        published = session.execute(
            select(StatusUpdate, Incident)
            .join(Incident, Incident.id == StatusUpdate.incident_id)
            .where(
                StatusUpdate.org_id == org.id,
                Incident.private.is_(False),
                (Incident.is_open.is_(True)) | (Incident.resolved_at >= now - HISTORY),
            )
            .order_by(StatusUpdate.published_at.desc(), StatusUpdate.id.desc())
        ).all()
        views = _update_views(session, [u for u, _ in published])
        by_incident: dict[int, list[StatusUpdateView]] = defaultdict(list)
        incidents: dict[int, Incident] = {}
        for view, (_, incident) in zip(views, published, strict=True):
            by_incident[incident.id].append(view)
            incidents[incident.id] = incident
        public = [
            PublicIncident(
                id=i.id,
                title=i.title,
                status=i.status,
                open=i.is_open,
                started_at=i.created_at,
                resolved_at=i.resolved_at,
                updates=by_incident[i.id],
            )
            for i in sorted(incidents.values(), key=lambda i: i.created_at, reverse=True)
        ]
        return PublicStatus(
            organisation=org.slug,
            name=org.name,
            components=[_component_view(c) for c in _components(session, org.id)],
            notices=_notices(session, org.id, now),
            active=[p for p in public if p.open],
            history=[p for p in public if not p.open],
            generated_at=now,
        )


def _notices(session: Session, org_id: int, now: datetime) -> list[PublicNotice]:
    rows = session.scalars(
        select(StatusNotice)
        .where(
            StatusNotice.org_id == org_id,
            StatusNotice.closed_at.is_(None) | (StatusNotice.closed_at >= now - HISTORY),
        )
        .order_by(StatusNotice.opened_at.desc(), StatusNotice.id.desc())
    )
    views = [
        PublicNotice(
            id=row.id,
            title=row.title,
            body=row.body,
            open=row.closed_at is None,
            opened_at=row.opened_at,
            closed_at=row.closed_at,
        )
        for row in rows
    ]
    return sorted(views, key=lambda notice: not notice.open)  # stable: newest first in each


def public_notices(db: Database, clock: Clock, organisation: str) -> list[PublicNotice]:
    """The organisation's notices as its status page shows them."""
    with db.reading() as session:
        return _notices(session, _organisation(session, organisation).id, clock.now())


def latest_updates(
    db: Database, organisation: str, limit: int = 50
) -> tuple[str, list[tuple[StatusUpdateView, str]]]:
    """The organisation's name and its newest public updates with their incident's title."""
    with db.reading() as session:
        org = _organisation(session, organisation)
        rows = session.execute(
            select(StatusUpdate, Incident.title)
            .join(Incident, Incident.id == StatusUpdate.incident_id)
            .where(StatusUpdate.org_id == org.id, Incident.private.is_(False))
            .order_by(StatusUpdate.published_at.desc(), StatusUpdate.id.desc())
            .limit(limit)
        ).all()
        views = _update_views(session, [u for u, _ in rows])
        return org.name, [(v, title) for v, (_, title) in zip(views, rows, strict=True)]

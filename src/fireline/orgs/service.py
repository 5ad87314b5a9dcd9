"""Organisations, teams and policy versions: upload, validate, version, and the one in force."""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, aliased

from fireline.auth.actor import Actor, Role
from fireline.clock.business import BusinessCalendar
from fireline.clock.now import Clock
from fireline.errors import Conflict, NotFound
from fireline.orgs.models import Organisation, PolicyVersion, Team
from fireline.policy.load import parse_policy
from fireline.policy.schema import Policy
from fireline.store.db import Database


@dataclass(frozen=True, slots=True)
class PolicyInForce:
    """A parsed policy version with its calendar, ready for decisions."""

    version_id: int
    version: int
    policy: Policy
    calendar: BusinessCalendar


# Versions never change, so a text's hash names its parse; the calendar keeps its year cache.
_compiled_by_hash: dict[str, tuple[Policy, BusinessCalendar]] = {}


def _compiled(sha256: str, source: str, file: str = "<policy>") -> tuple[Policy, BusinessCalendar]:
    """A text parsed before is valid whatever file it came from: its parse is reused."""
    found = _compiled_by_hash.get(sha256)
    if found is None:
        policy = parse_policy(source, file)
        found = (policy, BusinessCalendar.from_policy(policy.calendar))
        _compiled_by_hash[sha256] = found
    return found


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def create_organisation(session: Session, clock: Clock, slug: str, name: str) -> Organisation:
    if session.scalar(select(Organisation.id).where(Organisation.slug == slug)) is not None:
        raise Conflict(f"organisation {slug!r} exists already")
    organisation = Organisation(slug=slug, name=name, created_at=clock.now())
    session.add(organisation)
    session.flush()
    return organisation


def create_team(session: Session, clock: Clock, org_id: int, slug: str, name: str) -> Team:
    existing = session.scalar(select(Team.id).where(Team.org_id == org_id, Team.slug == slug))
    if existing is not None:
        raise Conflict(f"team {slug!r} exists already")
    team = Team(org_id=org_id, slug=slug, name=name, created_at=clock.now())
    session.add(team)
    session.flush()
    return team


def team_by_slug(session: Session, org_id: int, slug: str) -> Team:
    team = session.scalar(select(Team).where(Team.org_id == org_id, Team.slug == slug))
    if team is None:
        known = session.scalars(select(Team.slug).where(Team.org_id == org_id)).all()
        raise NotFound(f"no team {slug!r}", known=list(known))
    return team


def store_policy(
    session: Session, clock: Clock, team: Team, source: str, file: str, actor: Actor | None
) -> PolicyVersion:
    """Validate and store a new version; `PolicyInvalid` (file:line:field) stores nothing."""
    sha = _sha256(source)
    policy, _ = _compiled(sha, source, file)
    current = session.scalar(
        select(PolicyVersion)
        .where(PolicyVersion.team_id == team.id)
        .order_by(PolicyVersion.version.desc())
        .limit(1)
    )
    if current is not None and current.content_sha256 == sha:
        return current
    number = (
        session.scalar(
            select(func.max(PolicyVersion.version)).where(PolicyVersion.team_id == team.id)
        )
        or 0
    ) + 1
    version = PolicyVersion(
        team_id=team.id,
        version=number,
        name=policy.name,
        source=source,
        content_sha256=sha,
        created_at=clock.now(),
        created_by_id=actor.user_id if actor else None,
    )
    session.add(version)
    session.flush()
    return version


def compile_version(version: PolicyVersion) -> PolicyInForce:
    policy, calendar = _compiled(version.content_sha256, version.source)
    return PolicyInForce(version.id, version.version, policy, calendar)


def _in_force(session: Session, row: Any) -> PolicyInForce:
    """A (id, version, content_sha256) row → its parse, fetching the text only on a miss."""
    compiled = _compiled_by_hash.get(row.content_sha256)
    if compiled is None:
        source = session.scalar(select(PolicyVersion.source).where(PolicyVersion.id == row.id))
        assert source is not None
        compiled = _compiled(row.content_sha256, source)
    return PolicyInForce(row.id, row.version, *compiled)


_VERSION_COLUMNS = (PolicyVersion.id, PolicyVersion.version, PolicyVersion.content_sha256)


def _latest_version_of(team_id: Any) -> Any:
    other = aliased(PolicyVersion)
    return select(func.max(other.version)).where(other.team_id == team_id).scalar_subquery()


def policy_in_force(session: Session, team_id: int) -> PolicyInForce:
    """The team's highest policy version, parsed once per process and version."""
    row = session.execute(
        select(*_VERSION_COLUMNS).where(
            PolicyVersion.team_id == team_id, PolicyVersion.version == _latest_version_of(team_id)
        )
    ).one_or_none()
    if row is None:
        raise Conflict("this team has no policy yet; apply one first")
    return _in_force(session, row)


def policies_in_force(session: Session, team_ids: Collection[int]) -> dict[int, PolicyInForce]:
    """`policy_in_force` of several teams in one round trip (who is on call asks every team
    that owns a schedule)."""
    if not team_ids:
        return {}
    rows = session.execute(
        select(PolicyVersion.team_id, *_VERSION_COLUMNS).where(
            PolicyVersion.team_id.in_(team_ids),
            PolicyVersion.version == _latest_version_of(PolicyVersion.team_id),
        )
    ).all()
    if len(rows) < len(set(team_ids)):
        raise Conflict("this team has no policy yet; apply one first")
    return {row.team_id: _in_force(session, row) for row in rows}


# Built once: constructing this join and subquery per call costs more than running it.
_TEAM_AND_POLICY = (
    select(Team, *_VERSION_COLUMNS)
    .join(PolicyVersion, PolicyVersion.team_id == Team.id)
    .where(
        Team.org_id == bindparam("org_id"),
        Team.slug == bindparam("slug"),
        PolicyVersion.version == _latest_version_of(Team.id),
    )
)


def team_and_policy(session: Session, org_id: int, slug: str) -> tuple[Team, PolicyInForce]:
    """A team and its policy in force in one round trip: the hot path of opening tickets."""
    found = session.execute(_TEAM_AND_POLICY, {"org_id": org_id, "slug": slug}).one_or_none()
    if found is None:
        team = team_by_slug(session, org_id, slug)  # NotFound names the teams there are
        return team, policy_in_force(session, team.id)
    return found.Team, _in_force(session, found)


def policy_of_version(session: Session, version_id: int) -> PolicyInForce:
    """The policy a ticket or incident was judged under; the text is read only on a miss."""
    row = session.execute(
        select(*_VERSION_COLUMNS).where(PolicyVersion.id == version_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"no policy version {version_id}")
    return _in_force(session, row)


def versions(session: Session, team_id: int) -> list[PolicyVersion]:
    return list(
        session.scalars(
            select(PolicyVersion)
            .where(PolicyVersion.team_id == team_id)
            .order_by(PolicyVersion.version)
        )
    )


def version(session: Session, team_id: int, number: int) -> PolicyVersion:
    found = session.scalar(
        select(PolicyVersion).where(
            PolicyVersion.team_id == team_id, PolicyVersion.version == number
        )
    )
    if found is None:
        raise NotFound(f"no policy version {number} for this team")
    return found


def apply_policy(
    db: Database, clock: Clock, actor: Actor, team_slug: str, source: str, file: str
) -> PolicyVersion:
    actor.require(Role.admin)
    with db.transaction() as session:
        team = team_by_slug(session, actor.org_id, team_slug)
        return store_policy(session, clock, team, source, file, actor)


def teams(db: Database, actor: Actor) -> list[Team]:
    with db.reading() as session:
        return list(
            session.scalars(select(Team).where(Team.org_id == actor.org_id).order_by(Team.slug))
        )


def add_team(
    db: Database, clock: Clock, actor: Actor, slug: str, name: str, source: str, file: str
) -> Team:
    """A team starts with a policy: no team is ever without rules."""
    actor.require(Role.admin)
    with db.transaction() as session:
        team = create_team(session, clock, actor.org_id, slug, name)
        store_policy(session, clock, team, source, file, actor)
        return team


def team_versions(db: Database, actor: Actor, team_slug: str) -> list[PolicyVersion]:
    with db.reading() as session:
        return versions(session, team_by_slug(session, actor.org_id, team_slug).id)


def team_version(db: Database, actor: Actor, team_slug: str, number: int) -> PolicyVersion:
    with db.reading() as session:
        return version(session, team_by_slug(session, actor.org_id, team_slug).id, number)


def organisation(db: Database, actor: Actor) -> Organisation:
    with db.reading() as session:
        found = session.get(Organisation, actor.org_id)
        assert found is not None
        return found


def team_policy(db: Database, actor: Actor, team_slug: str) -> PolicyInForce:
    with db.reading() as session:
        return policy_in_force(session, team_by_slug(session, actor.org_id, team_slug).id)


def teams_with_policies(db: Database, actor: Actor) -> list[tuple[Team, PolicyInForce]]:
    """Every team of the organisation with its policy in force, in one query."""
    with db.reading() as session:
        rows = session.execute(
            select(Team, *_VERSION_COLUMNS)
            .join(PolicyVersion, PolicyVersion.team_id == Team.id)
            .where(
                Team.org_id == actor.org_id, PolicyVersion.version == _latest_version_of(Team.id)
            )
            .order_by(Team.slug)
        ).all()
        return [(row.Team, _in_force(session, row)) for row in rows]


def organisation_slugs(db: Database) -> list[str]:
    """Every organisation's slug: the sign-in form offers them."""
    with db.reading() as session:
        return list(session.scalars(select(Organisation.slug).order_by(Organisation.slug)))

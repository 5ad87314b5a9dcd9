"""Alert intake use cases. One request's alerts are accepted in one transaction: each is
recorded, then opens a ticket, joins the open ticket of its fingerprint, acknowledges or
resolves it, or is silenced, and the answer goes out only after the commit."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, and_, bindparam, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fireline.auth.actor import Actor, Role, Via
from fireline.auth.models import User
from fireline.auth.service import token_digest
from fireline.clock.now import Clock
from fireline.errors import Conflict, Invalid, NotFound
from fireline.escalation import plan
from fireline.escalation.models import Escalation, Timer
from fireline.escalation.service import cancel_impact_pages, resolve_targets
from fireline.incidents.service import declare_for_ticket
from fireline.incidents.workflow import TransitionRefused
from fireline.intake.alert import Action, IncomingAlert
from fireline.intake.fingerprint import fingerprint
from fireline.intake.models import AlertRow, Heartbeat, Integration, SilenceRow
from fireline.intake.schemas import (
    AlertOutcome,
    HeartbeatView,
    IntegrationCreated,
    IntegrationView,
    NewIntegration,
    NewSilence,
    SilenceView,
)
from fireline.intake.wire import pickled_as_values
from fireline.notify.outbox import Page, enqueue, impact_key_prefix
from fireline.orgs.models import Team
from fireline.orgs.service import PolicyInForce, team_and_policy, team_by_slug
from fireline.store.bulk import copy_rows
from fireline.store.db import Database
from fireline.tickets.models import Comment, GroupedAlert, Ticket
from fireline.tickets.schemas import DeclareFromTicket, NewTicket
from fireline.tickets.service import (
    UPSTREAM,
    Opened,
    Triage,
    acknowledge_in,
    mark_upstream_in,
    move_in,
    move_to_acknowledged,
    open_in,
    raise_priority_in,
)
from fireline.timeline.models import Event
from fireline.timeline.service import record
from fireline.triage.classify import classify, incident_criteria_met
from fireline.triage.route import Owner, owner_of
from fireline.triage.silence import Matcher, MatcherInvalid, Op, Silence, facts_of, silencing

KINDS = ("alertmanager", "sentry", "pagerduty", "generic")
IMPACT_PAGED = "alert.impact_paged"
T = TypeVar("T")


@pickled_as_values
@dataclass(frozen=True, slots=True)
class Source:
    """An authenticated integration: who sent the alerts, for which team."""

    id: int
    org_id: int
    team_slug: str
    kind: str
    name: str
    signing_secret: str | None
    key_hash: str

    @property
    def actor(self) -> Actor:
        return Actor(None, f"integration:{self.name}", self.org_id, Role.responder, Via.integration)

    @classmethod
    def of(cls, row: Integration, team_slug: str) -> Source:
        return cls(
            row.id, row.org_id, team_slug, row.kind, row.name, row.signing_secret, row.key_hash
        )


def new_key() -> str:
    """128 random bits as 32 hex characters: the length PagerDuty's clients expect."""
    return secrets.token_hex(16)


def create_integration(
    db: Database, clock: Clock, actor: Actor, new: NewIntegration
) -> IntegrationCreated:
    actor.require(Role.admin)
    if new.kind == "sentry" and not new.signing_secret:
        raise Invalid("signing_secret", "a Sentry integration needs its client secret")
    if (new.kind == "heartbeat") != (new.interval_minutes is not None):
        raise Invalid("interval_minutes", "a heartbeat, and only a heartbeat, has an interval")
    key = new_key()
    with db.transaction() as session:
        team = team_by_slug(session, actor.org_id, new.team)
        row = Integration(
            org_id=actor.org_id,
            team_id=team.id,
            kind=new.kind,
            name=new.name,
            key_hash=token_digest(key),
            signing_secret=new.signing_secret,
            created_by_id=actor.user_id,
            created_at=clock.now(),
            revoked_at=None,
        )
        session.add(row)
        session.flush()
        beat = None
        if new.interval_minutes is not None:
            beat = Heartbeat(
                integration_id=row.id,
                interval_seconds=new.interval_minutes * 60,
                last_seen_at=None,
                due_at=row.created_at + timedelta(minutes=new.interval_minutes),
                late=False,
            )
            session.add(beat)
        view = _integration_view(row, team.slug, beat)
    return IntegrationCreated(**view.model_dump(), key=key)


def _integration_view(
    row: Integration, team_slug: str, beat: Heartbeat | None = None
) -> IntegrationView:
    return IntegrationView(
        id=row.id,
        team=team_slug,
        kind=row.kind,
        name=row.name,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        heartbeat=None
        if beat is None
        else HeartbeatView(
            interval_minutes=beat.interval_seconds // 60,
            last_seen_at=beat.last_seen_at,
            due_at=beat.due_at,
            late=beat.late,
        ),
    )


def list_integrations(db: Database, actor: Actor) -> list[IntegrationView]:
    with db.reading() as session:
        rows = session.execute(
            select(Integration, Team.slug, Heartbeat)
            .join(Team, Team.id == Integration.team_id)
            .outerjoin(Heartbeat, Heartbeat.integration_id == Integration.id)
            .where(Integration.org_id == actor.org_id)
            .order_by(Integration.id)
        ).all()
        return [_integration_view(row, slug, beat) for row, slug, beat in rows]


def revoke_integration(
    db: Database, clock: Clock, actor: Actor, integration_id: int
) -> IntegrationView:
    actor.require(Role.admin)
    with db.transaction() as session:
        found = session.execute(
            select(Integration, Team.slug)
            .join(Team, Team.id == Integration.team_id)
            .where(Integration.org_id == actor.org_id, Integration.id == integration_id)
        ).one_or_none()
        if found is None:
            raise NotFound(f"no integration {integration_id}")
        row, slug = found
        if row.revoked_at is None:
            row.revoked_at = clock.now()
        _known_keys.pop(row.key_hash, None)
        return _integration_view(row, slug)


# Keys are looked up on every alert; a known key is remembered briefly, so a storm costs no
# lookup per request. Revoking clears this process's memory at once, other processes' within
# KEY_MEMORY_SECONDS.
KEY_MEMORY_SECONDS = 10.0
_known_keys: dict[str, tuple[Source, float]] = {}


def remembered_source(key: str, kind: str) -> Source | None:
    """The integration a key opened within the last KEY_MEMORY_SECONDS, without I/O (so a
    request need not wait for a thread to learn it); None when it must be looked up."""
    source = _remembered(token_digest(key))
    return None if source is None else _of_kind(source, kind)


def source_for_key(db: Database, key: str, kind: str) -> Source:
    """The integration a key opens, by one indexed lookup of the key's hash; NotFound for an
    unknown, revoked or other-kind key alike, so a probe learns nothing."""
    digest = token_digest(key)
    source = _remembered(digest)
    if source is None:
        with db.reading() as session:
            found = session.execute(
                select(Integration, Team.slug)
                .join(Team, Team.id == Integration.team_id)
                .where(Integration.key_hash == digest)
            ).one_or_none()
        if found is None or found.Integration.revoked_at is not None:
            raise NotFound("no integration has this key")
        row = found.Integration
        source = Source.of(row, found.slug)
        _known_keys[digest] = (source, time.monotonic())
    return _of_kind(source, kind)


def _remembered(digest: str) -> Source | None:
    remembered = _known_keys.get(digest)
    if remembered is None or time.monotonic() - remembered[1] >= KEY_MEMORY_SECONDS:
        return None
    return remembered[0]


def _of_kind(source: Source, kind: str) -> Source:
    if source.kind != kind:
        raise NotFound("no integration has this key")
    return source


def accept(
    db: Database, clock: Clock, source: Source, alerts: Sequence[IncomingAlert]
) -> list[AlertOutcome]:
    """Take in one request's alerts, all or nothing."""
    return accept_many(db, clock, [(source, alerts)])[0]


def accept_many(
    db: Database,
    clock: Clock,
    requests: Sequence[tuple[Source, Sequence[IncomingAlert]]],
    recall: Recall | None = None,
) -> list[list[AlertOutcome]]:
    """Take in several requests' alerts in one transaction (a group commit): one lookup of
    the open tickets of all their fingerprints, one insert of the new tickets, one update per
    repeated ticket however often it repeated, one insert of the alert records.

    Two first triggers of one fingerprint racing in two transactions: the unique index lets
    one in and fails the other's whole transaction, which runs again and now finds the
    winner's ticket to join as a repeat. Guarding each insert with a savepoint instead
    would cost every batch two more round trips for a race this rare.

    With `recall`, what the batch reads of teams, policies, silences and people is reused
    across batches for a short while (`Recall`), and so are the open tickets it found or
    opened: a batch of nothing but repeats of one of those skips the lookup, and counts
    them only if that ticket is still open (else it runs again with the lookup)."""
    recall = recall or Recall(seconds=0)
    try:
        try:
            with db.transaction() as session:
                outcomes = accept_in(session, clock, requests, guarded=False, recall=recall)
        except StaleOpenTickets:
            recall.forget_open()
            with db.transaction() as session:
                outcomes = accept_in(session, clock, requests, guarded=False, recall=recall)
    except IntegrityError:
        recall.forget_open()
        with db.transaction() as session:
            outcomes = accept_in(session, clock, requests, recall=recall)
    recall.keep_staged()
    return outcomes


def accept_in(
    session: Session,
    clock: Clock,
    requests: Sequence[tuple[Source, Sequence[IncomingAlert]]],
    guarded: bool = True,
    recall: Recall | None = None,
) -> list[list[AlertOutcome]]:
    """`accept_many` in the caller's transaction. `guarded`: a new ticket that loses a race
    for its fingerprint joins the winner's ticket (each insert runs in a savepoint);
    unguarded, the race fails the transaction."""
    now = clock.now()
    recall = recall or Recall(seconds=0)
    recall.stage_open({})  # what an attempt that failed had staged, goes
    batch = _Batch(session, clock, now, guarded, recall)
    prints = [[batch.fingerprint(source, alert) for alert in alerts] for source, alerts in requests]
    keys = {(source.id, p) for (source, _), ps in zip(requests, prints, strict=True) for p in ps}
    grouping = {source.id for source, _ in requests if batch.groups(source)}
    # Repeats alone (an alert storm of one fingerprint) of one open ticket a recent batch
    # found or opened: no lookup; the count's update checks it is still open. Only one:
    # the lookup locks a batch's tickets in id order, and updates of several, unlocked,
    # could lock them in another order than a concurrent batch (a deadlock).
    repeats_only = not grouping and all(
        alert.action is Action.trigger for _, alerts in requests for alert in alerts
    )
    known = recall.open_tickets(keys) if repeats_only else {}
    if len({ticket.id for ticket in known.values()}) == 1:
        batch.assume_open(known)
    else:
        batch.find_open_tickets(keys, grouping)
    outcomes = [
        [batch.take(source, alert, p) for alert, p in zip(alerts, ps, strict=True)]
        for (source, alerts), ps in zip(requests, prints, strict=True)
    ]
    batch.finish()
    if not batch.assumed:
        recall.stage_open(batch.open_now(grouping))
    return [[outcome.view() for outcome in request] for request in outcomes]


@dataclass
class _Outcome:
    fingerprint: str
    action: str
    outcome: str
    ticket: _TicketRef | None
    silence_id: int | None

    def view(self) -> AlertOutcome:
        return AlertOutcome(
            fingerprint=self.fingerprint,
            action=self.action,
            outcome=self.outcome,
            ticket_id=self.ticket.id if self.ticket is not None else None,
            silence_id=self.silence_id,
        )


@dataclass
class _TicketRef:
    """An open ticket of a fingerprint: one already stored (`id` known), or one this batch
    opens at its end."""

    id: int | None
    new_alerts: int = 0
    latest_link: str | None = None
    pending: _Pending | None = None
    priority: str | None = None  # a stored ticket's, as the batch found it
    set_by_person: bool = False  # then only a person changes it (a mitigation stands)
    # A repeat that the policy classifies above that priority: (level, rule, fingerprint,
    # how the alert came: repeated, joined a group),
    # and the integration it came through.
    raise_to: tuple[str, str, str, str] | None = None
    raised_by: Source | None = None
    # The ticket's own (integration, fingerprint): a storm's group includes it.
    own: tuple[int, str] | None = None
    opened_here: bool = False  # by this batch, from an alert firing now


@dataclass
class _Storm:
    """A service's recent alerts, and the ticket its storm joins."""

    alerts: int
    ticket: _TicketRef | None


@dataclass
class _Pending:
    source: Source
    new: NewTicket
    triage: Triage
    alert: IncomingAlert
    fingerprint: str
    owner: Owner


# The statements every batch runs, built once: building a select and its cache key on each
# call cost SQLAlchemy 250-500 µs, against about 80 µs to execute one built beforehand.
# What a batch knows of a stored ticket it may join (`_TicketRef`).
_TICKET_REF_COLUMNS = (
    Ticket.id,
    Ticket.integration_id,
    Ticket.fingerprint,
    Ticket.priority,
    Ticket.priority_source,
)
_OPEN_TICKETS_OF = (
    select(*_TICKET_REF_COLUMNS)
    .where(
        Ticket.integration_id == bindparam("integration_id"),
        Ticket.fingerprint.in_(bindparam("prints", expanding=True)),
        Ticket.is_open,
    )
    .order_by(Ticket.id)
    .with_for_update()
)
# The open tickets that fingerprints of one integration joined in a storm; read unlocked,
# then locked with the integration's own tickets in one statement, in id order.
_GROUP_MEMBERS_OF = (
    select(GroupedAlert.ticket_id, GroupedAlert.fingerprint, GroupedAlert.firing)
    .join(Ticket, Ticket.id == GroupedAlert.ticket_id)
    .where(
        GroupedAlert.integration_id == bindparam("integration_id"),
        GroupedAlert.fingerprint.in_(bindparam("prints", expanding=True)),
        Ticket.is_open,
    )
    .order_by(GroupedAlert.ticket_id)
)
_OPEN_TICKETS_OR_GROUPS_OF = (
    select(*_TICKET_REF_COLUMNS)
    .where(
        or_(
            and_(
                Ticket.integration_id == bindparam("integration_id"),
                Ticket.fingerprint.in_(bindparam("prints", expanding=True)),
            ),
            Ticket.id.in_(bindparam("groups", expanding=True)),
        ),
        Ticket.is_open,
    )
    .order_by(Ticket.id)
    .with_for_update()
)
# Those yet to start too: a silence says itself when it covers an alert, so a maintenance
# window recalled before it began still starts on time.
_UNENDED_SILENCES = select(
    SilenceRow.id, SilenceRow.matchers, SilenceRow.starts_at, SilenceRow.ends_at
).where(SilenceRow.org_id == bindparam("org_id"), SilenceRow.ends_at > bindparam("now"))
_COUNT_REPEATS = (
    update(Ticket)
    .where(Ticket.id.in_(bindparam("ids", expanding=True)))
    .values(
        alert_count=Ticket.alert_count + bindparam("increment"),
        last_alert_at=bindparam("now"),
        updated_at=bindparam("now"),
    )
    .returning(Ticket.id, Ticket.alert_count)
)
_COUNT_OPEN_REPEATS = _COUNT_REPEATS.where(Ticket.is_open)
# PostgreSQL: `_COUNT_REPEATS` and the comments it leads to, as one statement. Each comment
# reads "Occurrence <the new count><after_count><the ticket's link text>".
_COUNT_REPEATS_AND_COMMENT = text(
    """
    WITH counted AS (
        UPDATE tickets
        SET alert_count = alert_count + :increment, last_alert_at = :now, updated_at = :now
        WHERE id = ANY(CAST(:ids AS integer[])) AND (is_open OR NOT :open_only)
        RETURNING id, alert_count
    )
    INSERT INTO ticket_comments (ticket_id, author_id, body, via, created_at)
    SELECT counted.id, NULL,
           'Occurrence ' || counted.alert_count || :after_count || given.link, :via, :now
    FROM counted
    JOIN unnest(CAST(:ids AS integer[]), CAST(:links AS text[])) AS given (id, link)
        ON given.id = counted.id
    ORDER BY counted.id
    RETURNING ticket_id
    """
)


class Recall:
    """What a writer that takes batch after batch may reuse for `seconds`, rather than read
    again in every batch: each team with its policy in force, each organisation's silences
    not yet ended, whether a handle names an active account. Each is read once a second
    at most, so a policy, silence or account changed elsewhere applies to alerts within
    `seconds`. With seconds=0, each batch reads afresh (and reads each thing once)."""

    def __init__(self, seconds: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds, self.clock = seconds, clock
        self._kept: dict[Hashable, tuple[float, Any]] = {}
        # The open ticket of each (integration, fingerprint) a committed batch found or
        # opened, with when: a batch of nothing but repeats of one of these skips the lookup
        # (see `accept_in`). What a batch saw waits in `_staged` until it has committed.
        self._open: dict[tuple[int, str], tuple[float, KnownTicket]] = {}
        self._staged: dict[tuple[int, str], KnownTicket | None] = {}

    def get(self, key: Hashable, read: Callable[[], T]) -> T:
        now = self.clock()
        kept = self._kept.get(key)
        if kept is not None and (self.seconds == 0 or now - kept[0] < self.seconds):
            return cast(T, kept[1])
        value = read()
        self._kept[key] = (now, value)
        return value

    def open_tickets(self, keys: Iterable[tuple[int, str]]) -> dict[tuple[int, str], KnownTicket]:
        """The open ticket of every key, as found or opened within `seconds`; empty unless
        each key has one (with seconds=0, always empty)."""
        if self.seconds == 0:
            return {}
        now, known = self.clock(), {}
        for key in keys:
            kept = self._open.get(key)
            if kept is None or now - kept[0] >= self.seconds:
                return {}
            known[key] = kept[1]
        return known

    def stage_open(self, seen: Mapping[tuple[int, str], KnownTicket | None]) -> None:
        """What a batch learnt of keys' open tickets (None: it has none now), kept once the
        batch has committed (`keep_staged`); it replaces what an earlier attempt staged."""
        self._staged = dict(seen) if self.seconds > 0 else {}

    def keep_staged(self) -> None:
        now = self.clock()
        for key, ticket in self._staged.items():
            if ticket is None:
                self._open.pop(key, None)
            else:
                self._open[key] = (now, ticket)
        self._staged.clear()
        if len(self._open) > MAX_KNOWN_OPEN:  # a storm of new fingerprints: drop the stale
            self._open = {
                key: kept for key, kept in self._open.items() if now - kept[0] < self.seconds
            }
            if len(self._open) > MAX_KNOWN_OPEN:
                self._open.clear()

    def forget_open(self) -> None:
        """Forget every open ticket known (one was closed or changed elsewhere)."""
        self._open.clear()
        self._staged.clear()


@dataclass(frozen=True, slots=True)
class KnownTicket:
    """An open ticket as a batch found or opened it: enough to count repeats on it."""

    id: int
    priority: str | None
    set_by_person: bool


# Open tickets a writer remembers at most (about a second of new tickets in a storm).
MAX_KNOWN_OPEN = 20_000


class StaleOpenTickets(Exception):
    """A ticket remembered open was closed meanwhile: the batch must look its tickets up."""


class _Batch:
    def __init__(
        self, session: Session, clock: Clock, now: datetime, guarded: bool, recall: Recall
    ) -> None:
        self.session, self.clock, self.now, self.guarded = session, clock, now, guarded
        self.recall = recall
        # By integration and fingerprint: a fingerprint is an integration's own.
        self.tickets: dict[tuple[int, str], _TicketRef | None] = {}
        self.pending: list[_TicketRef] = []
        self.outcomes: list[tuple[Source, IncomingAlert, _Outcome]] = []
        self.storms: dict[tuple[int, str], _Storm] = {}
        # Every ticket this batch counted alerts for, by the identity of its reference (one
        # ticket may have two: its fingerprint's, and a storm's).
        self.counted: dict[int, _TicketRef] = {}
        # Storm groups: each member's (integration, fingerprint) → firing, as found or made;
        # members to add, members firing again, and grouped alerts to judge at the end.
        self.members: dict[tuple[int, str], bool] = {}
        self.joins: list[tuple[_TicketRef, Source, str]] = []
        self.refiring: set[tuple[int, str]] = set()
        self.grouped: list[tuple[Source, IncomingAlert, _TicketRef]] = []
        # The open tickets were taken from `Recall`, not looked up (and locked): counting
        # their repeats checks that each is still open.
        self.assumed = False

    def groups(self, source: Source) -> bool:
        """Whether the source's team groups storms: only then are fingerprints looked up
        among the groups (a team that stops grouping leaves its groups' members to open
        tickets of their own)."""
        return self._judge(source)[1].policy.alerts.grouping is not None

    def _judge(self, source: Source) -> tuple[Team, PolicyInForce]:
        return self.recall.get(
            ("judge", source.org_id, source.team_slug),
            lambda: team_and_policy(self.session, source.org_id, source.team_slug),
        )

    def _silences(self, org_id: int) -> list[Silence]:
        return self.recall.get(
            ("silences", org_id), lambda: unended_silences(self.session, org_id, self.now)
        )

    def fingerprint(self, source: Source, alert: IncomingAlert) -> str:
        _, judged = self._judge(source)
        return fingerprint(alert, judged.policy.alerts.fingerprint)

    def find_open_tickets(self, prints: set[tuple[int, str]], grouping: set[int]) -> None:
        """Lock the open tickets of the batch's (integration, fingerprint)s, in one
        statement per integration, in id order (two batches locking the same tickets cannot
        deadlock). For integrations in `grouping`, also the open tickets their fingerprints
        joined in a storm, and whether each is still firing."""
        by_source: dict[int, list[str]] = {}
        for source_id, print_ in prints:
            by_source.setdefault(source_id, []).append(print_)
            self.tickets[source_id, print_] = None
        connection = self.session.connection()
        for source_id, wanted in by_source.items():
            for start in range(0, len(wanted), 1000):
                asked = wanted[start : start + 1000]
                chunk = {"integration_id": source_id, "prints": asked}
                joined: dict[int, list[tuple[str, bool]]] = {}
                if source_id in grouping:
                    for ticket_id, member, firing in connection.execute(_GROUP_MEMBERS_OF, chunk):
                        joined.setdefault(ticket_id, []).append((member, firing))
                if joined:
                    found = connection.execute(
                        _OPEN_TICKETS_OR_GROUPS_OF, {**chunk, "groups": sorted(joined)}
                    )
                else:
                    found = connection.execute(_OPEN_TICKETS_OF, chunk)
                asked_set = set(asked) if joined else set()
                for ticket_id, integration_id, found_print, priority, chosen_by in found:
                    ref = _TicketRef(
                        ticket_id, priority=priority, set_by_person=chosen_by == "person"
                    )
                    if integration_id == source_id and (not joined or found_print in asked_set):
                        assert found_print is not None
                        self.tickets[source_id, found_print] = ref
                    # Still open, now that it is locked: its group's members reach it.
                    for member, firing in joined.get(ticket_id, ()):
                        self.members[source_id, member] = firing
                        if self.tickets[source_id, member] is None:
                            self.tickets[source_id, member] = ref

    def assume_open(self, known: Mapping[tuple[int, str], KnownTicket]) -> None:
        """Take the keys' open tickets as a recent batch left them, instead of looking them
        up (`find_open_tickets`)."""
        for key, ticket in known.items():
            self.tickets[key] = _TicketRef(
                ticket.id, priority=ticket.priority, set_by_person=ticket.set_by_person
            )
        self.assumed = True

    def open_now(self, grouping: set[int]) -> dict[tuple[int, str], KnownTicket | None]:
        """Each key's open ticket as the batch leaves it (None: none), but for the
        integrations in `grouping`, whose alerts may join a storm's ticket instead."""
        seen: dict[tuple[int, str], KnownTicket | None] = {}
        for key, ref in self.tickets.items():
            if key[0] in grouping:
                continue
            if ref is None:
                seen[key] = None
            elif ref.id is not None:
                seen[key] = KnownTicket(ref.id, ref.priority, ref.set_by_person)
        return seen

    def take(self, source: Source, alert: IncomingAlert, print_: str) -> _Outcome:
        team, judged = self._judge(source)
        facts = facts_of(alert.labels, alert.service, print_, alert.title, alert.source)
        silence = silencing(self._silences(source.org_id), facts, self.now)
        ticket = self.tickets[source.id, print_]
        if alert.action is Action.trigger:
            if ticket is not None:
                self._count(ticket, alert)
                if self.members.get((source.id, print_)) is False:
                    self.members[source.id, print_] = True
                    self.refiring.add((source.id, print_))
                outcome = "silenced" if silence is not None else "repeat"
                if silence is None and (alert.signals or alert.labels):
                    _note_raise(judged, ticket, alert, print_, source)
            elif silence is not None:
                outcome = "silenced"
            else:
                ticket, outcome = self._new_or_grouped(source, team, judged, alert, print_)
        elif ticket is None:
            # PagerDuty's rule: an ack or resolve for an unknown or closed key is accepted, dropped.
            outcome = "dropped"
        else:
            self._open_pending()  # an ack or resolve acts on stored tickets
            assert ticket.id is not None
            locked = self.session.get(Ticket, ticket.id, with_for_update=True)
            assert locked is not None
            if alert.action is Action.acknowledge:
                outcome = _acknowledge(self.session, source.actor, self.now, locked)
            elif self.groups(source) and (
                firing := self._resolve_member(locked.id, source.id, print_)
            ):
                outcome = _annotate_member(
                    self.session, source.actor, self.now, locked, alert, print_, firing
                )
            else:
                outcome = _resolve(self.session, source.actor, self.now, locked, judged, alert)
                if not locked.is_open:
                    # Its group is over too: a member firing later in the batch opens anew.
                    for known, ref in self.tickets.items():
                        if ref is not None and ref.id == locked.id:
                            self.tickets[known] = None
                    for storm in self.storms.values():  # a storm joins no closed ticket
                        if storm.ticket is not None and storm.ticket.id == locked.id:
                            storm.ticket = None
        result = _Outcome(
            print_, alert.action.value, outcome, ticket, silence.id if silence else None
        )
        self.outcomes.append((source, alert, result))
        return result

    def _count(self, ref: _TicketRef, alert: IncomingAlert | None = None) -> None:
        """One more alert for `ref`'s ticket: counted, and commented on, at the batch's end
        (`_record_repeats`), even if the batch closes the ticket meanwhile; a ticket the
        batch opens counts it as it is inserted."""
        ref.new_alerts += 1
        if alert is not None and alert.links:
            ref.latest_link = alert.links[0]
        self.counted[id(ref)] = ref

    def _new_or_grouped(
        self,
        source: Source,
        team: Team,
        judged: PolicyInForce,
        alert: IncomingAlert,
        print_: str,
    ) -> tuple[_TicketRef, str]:
        """A new fingerprint opens its ticket, unless its service is in a storm: with the
        policy's `grouping: {alerts: N, seconds: M}`, once N alerts of one service arrived
        within M seconds, the next ones join that service's latest alert ticket."""
        grouping = judged.policy.alerts.grouping
        if grouping is None or alert.service is None:
            return self._pend(source, team, judged, alert, print_), "opened"
        storm = self._storm(team, alert.service, grouping.seconds)
        storm.alerts += 1
        if storm.alerts >= grouping.alerts and storm.ticket is not None:
            self._count(storm.ticket, alert)
            self._join(source, alert, print_, storm.ticket, judged)
            return storm.ticket, "grouped"
        storm.ticket = self._pend(source, team, judged, alert, print_)
        return storm.ticket, "opened"

    def _join(
        self,
        source: Source,
        alert: IncomingAlert,
        print_: str,
        ticket: _TicketRef,
        judged: PolicyInForce,
    ) -> None:
        """A new fingerprint joins a storm's ticket as a member of its group: its repeats,
        acknowledgement and resolution reach that ticket, and its own signals and labels
        are judged for it (a higher priority, an impact, an incident)."""
        self.tickets[source.id, print_] = ticket
        self.members[source.id, print_] = True
        self.joins.append((ticket, source, print_))
        self.grouped.append((source, alert, ticket))
        if alert.signals or alert.labels:
            _note_raise(judged, ticket, alert, print_, source, "joined its group, and meets")

    def _write_groups(self) -> None:
        """Store the batch's new group members, with each group's own ticket fingerprint the
        first time one joins it, and mark members that fire again. Tickets first."""
        self._open_pending()
        joins, self.joins = self.joins, []
        if joins:
            ids = {ref.id for ref, _, _ in joins}
            stored: set[tuple[int, int, str]] = set(
                self.session.execute(
                    select(
                        GroupedAlert.ticket_id,
                        GroupedAlert.integration_id,
                        GroupedAlert.fingerprint,
                    ).where(GroupedAlert.ticket_id.in_(ids))
                )
            )
            rows: dict[tuple[int, int, str], dict[str, Any]] = {}
            for ref, source, print_ in joins:
                assert ref.id is not None
                members = [(source.id, print_, True)]
                if ref.own is not None and (ref.id, *ref.own) not in stored:
                    fires = ref.opened_here or self._fires(source.org_id, *ref.own)
                    members.insert(0, (*ref.own, fires))
                for integration_id, member, firing in members:
                    key = (ref.id, integration_id, member)
                    if key not in stored and key not in rows:
                        rows[key] = {
                            "ticket_id": ref.id,
                            "integration_id": integration_id,
                            "fingerprint": member,
                            "firing": firing,
                            "joined_at": self.now,
                            "resolved_at": None if firing else self.now,
                        }
            copy_rows(self.session, GroupedAlert, list(rows.values()))
        refiring, self.refiring = self.refiring, set()
        for source_id, print_ in sorted(refiring):
            holder = self.tickets[source_id, print_]
            if holder is None or holder.id is None:
                continue  # its ticket closed in this batch
            self.session.execute(
                update(GroupedAlert)
                .where(
                    GroupedAlert.ticket_id == holder.id,
                    GroupedAlert.integration_id == source_id,
                    GroupedAlert.fingerprint == print_,
                )
                .values(firing=True, resolved_at=None)
            )

    def _fires(self, org_id: int, integration_id: int, print_: str) -> bool:
        """Whether a stored ticket's own alert still fires: its latest event is a trigger
        (a ticket the policy only annotates stays open after its alert resolves)."""
        latest = self.session.scalar(
            select(AlertRow.action)
            .where(
                AlertRow.org_id == org_id,
                AlertRow.fingerprint == print_,
                AlertRow.integration_id == integration_id,
            )
            .order_by(AlertRow.id.desc())
            .limit(1)
        )
        return latest != Action.resolve.value

    def _resolve_member(self, ticket_id: int, source_id: int, print_: str) -> int | None:
        """If the ticket holds a storm's group: mark this member resolved, and return how
        many members still fire (then the ticket stays open unless none does); None for a
        ticket with no group."""
        self._write_groups()
        members = self.session.execute(
            select(GroupedAlert.id, GroupedAlert.integration_id, GroupedAlert.fingerprint)
            .where(GroupedAlert.ticket_id == ticket_id, GroupedAlert.firing)
            .order_by(GroupedAlert.id)
        ).all()
        if not members:
            return None
        mine = [m.id for m in members if (m.integration_id, m.fingerprint) == (source_id, print_)]
        self.session.execute(
            update(GroupedAlert)
            .where(GroupedAlert.id.in_(mine))
            .values(firing=False, resolved_at=self.now)
        )
        self.members[source_id, print_] = False
        firing = len(members) - len(mine)
        return firing or None

    def _judge_grouped(self) -> None:
        """A grouped alert's own impact pages its contacts, and its own incident criteria
        declare an incident, as they would have for a ticket of its own."""
        for source, alert, ref in self.grouped:
            assert ref.id is not None
            _, judged = self._judge(source)
            ticket = self.session.get(Ticket, ref.id)
            assert ticket is not None
            if not ticket.is_open:
                continue
            if UPSTREAM not in alert.labels and UPSTREAM not in ticket.labels:
                _page_impact_contacts(
                    self.session,
                    source.actor,
                    self.now,
                    judged,
                    alert,
                    ref.id,
                    ticket.title,
                    joining=True,
                )
            met = incident_criteria_met(judged.policy, alert.signals, alert.labels)
            if met and ticket.incident_id is None:
                declare_for_ticket(
                    self.session, self.clock, source.actor, ticket, DeclareFromTicket()
                )
        self.grouped = []

    def _storm(self, team: Team, service: str, seconds: int) -> _Storm:
        key = (team.id, service)
        if key not in self.storms:
            since = self.now - timedelta(seconds=seconds)
            recent = self.session.scalar(
                select(func.count())
                .select_from(AlertRow)
                .join(Integration, Integration.id == AlertRow.integration_id)
                .where(
                    Integration.team_id == team.id,
                    AlertRow.service == service,
                    AlertRow.action == Action.trigger.value,
                    AlertRow.received_at >= since,
                )
            )
            latest = self.session.execute(
                select(*_TICKET_REF_COLUMNS)
                .where(
                    Ticket.team_id == team.id,
                    Ticket.service == service,
                    Ticket.is_open,
                    Ticket.fingerprint.is_not(None),
                    Ticket.created_at >= since,
                )
                .order_by(Ticket.id.desc())
                .limit(1)
                .with_for_update()
            ).first()
            ref = None
            if latest is not None:
                own = (latest.integration_id, latest.fingerprint)
                ref = _TicketRef(
                    latest.id,
                    priority=latest.priority,
                    set_by_person=latest.priority_source == "person",
                    own=own if None not in own else None,
                )
            self.storms[key] = _Storm(recent or 0, ref)
        return self.storms[key]

    def _pend(
        self,
        source: Source,
        team: Team,
        judged: PolicyInForce,
        alert: IncomingAlert,
        print_: str,
    ) -> _TicketRef:
        owner = owner_of(judged.policy, alert.service)
        new = NewTicket(
            team=team.slug,
            title=alert.title[:300] or "alert",
            description=alert.description,
            service=alert.service,
            signals=alert.signals,
            labels=_ticket_labels(judged, alert),
            type=_issue_type(judged, alert),
            assignee=self._handle(source.org_id, owner.tech_lead),
            links=list(alert.links),
        )
        by_severity = judged.policy.alerts.levels_by_severity
        triage = Triage(by_severity.get(alert.severity or ""), untriaged_ok=True)
        ref = _TicketRef(
            None,
            pending=_Pending(source, new, triage, alert, print_, owner),
            own=(source.id, print_),
            opened_here=True,
        )
        self.tickets[source.id, print_] = ref
        self.pending.append(ref)
        return ref

    def _handle(self, org_id: int, handle: str | None) -> str | None:
        """The tech lead's handle if that person has an active account here."""
        if handle is None:
            return None
        return self.recall.get(
            ("handle", org_id, handle),
            lambda: self.session.scalar(
                select(User.handle).where(
                    User.org_id == org_id, User.handle == handle, User.deactivated_at.is_(None)
                )
            ),
        )

    def _open_pending(self) -> None:
        """Open this batch's new tickets: one insert per integration. Two first triggers
        racing in two transactions: the unique index lets one in; the other's batch rolls
        back to its savepoint and joins the winner's ticket as a repeat."""
        waiting, self.pending = self.pending, []
        by_source: dict[int, list[_TicketRef]] = {}
        # Inserted in fingerprint order: two batches racing for the same new fingerprints
        # wait on each other in one order, never in a cycle.
        waiting.sort(key=lambda ref: ref.pending.fingerprint if ref.pending else "")
        for ref in waiting:
            assert ref.pending is not None
            by_source.setdefault(ref.pending.source.id, []).append(ref)
        for refs in by_source.values():
            if not self.guarded:
                self._insert(refs)
                continue
            try:
                with self.session.begin_nested():
                    self._insert(refs)
            except IntegrityError:
                for ref in refs:
                    self._insert_one_or_join(ref)

    def _insert_one_or_join(self, ref: _TicketRef) -> None:
        assert ref.pending is not None
        try:
            with self.session.begin_nested():
                self._insert([ref])
        except IntegrityError:
            pending = ref.pending
            winner = self.session.scalar(
                select(Ticket.id)
                .where(
                    Ticket.integration_id == pending.source.id,
                    Ticket.fingerprint == pending.fingerprint,
                    Ticket.is_open,
                )
                .with_for_update()
            )
            if winner is None:
                raise
            ref.id, ref.pending = winner, None
            self._count(ref)
            for _, _, outcome in self.outcomes:
                if outcome.ticket is ref and outcome.outcome == "opened":
                    outcome.outcome = "repeat"

    def _insert(self, refs: list[_TicketRef]) -> None:
        pendings = [ref.pending for ref in refs if ref.pending is not None]
        source = pendings[0].source
        actor = source.actor
        extra = [
            {
                "fingerprint": p.fingerprint,
                "integration_id": p.source.id,
                "alert_count": 1 + ref.new_alerts,
                "last_alert_at": self.now,
            }
            for ref, p in zip(refs, pendings, strict=True)
        ]
        by_print = {p.fingerprint: p for p in pendings}

        def from_alert(item: Opened) -> tuple[str, dict[str, Any]]:
            pending = by_print[item.row["fingerprint"]]
            phrase = (
                f"from {pending.alert.source} alert {pending.fingerprint}; "
                f"owner: {pending.owner.why}"
            )
            told = {
                "alert": pending.alert.source,
                "fingerprint": pending.fingerprint,
                "owner": pending.owner.team,
                "tech_lead": pending.owner.tech_lead,
            }
            return phrase, told

        opened = open_in(
            self.session,
            actor,
            self.now,
            [p.new for p in pendings],
            extra,
            [p.triage for p in pendings],
            judged={source.team_slug: self._judge(source)},
            origin=from_alert,
        )
        for ref, pending, item in zip(refs, pendings, opened, strict=True):
            ref.id, ref.pending, ref.new_alerts = item.row["id"], None, 0
            ref.priority = item.row["priority"]
            if UPSTREAM not in pending.alert.labels:
                _page_impact_contacts(
                    self.session,
                    actor,
                    self.now,
                    item.judged,
                    pending.alert,
                    ref.id,
                    item.row["title"],
                )
            else:
                # The source says an upstream service failed: recorded, nobody paged, not
                # even its impact contacts.
                ticket = self.session.get(Ticket, ref.id)
                assert ticket is not None
                upstream = pending.alert.labels[UPSTREAM] or pending.alert.service or "upstream"
                mark_upstream_in(self.session, actor, self.now, ticket, upstream)
            if item.row["incident_criteria"]:
                # 2i2c: users can't log in → an incident now, its lead chosen by the policy.
                ticket = self.session.get(Ticket, ref.id)
                assert ticket is not None
                declare_for_ticket(self.session, self.clock, actor, ticket, DeclareFromTicket())

    def finish(self) -> None:
        self._write_groups()
        self._judge_grouped()
        self._record_repeats()
        self._raise_priorities()
        rows = [
            {
                "org_id": source.org_id,
                "integration_id": source.id,
                "fingerprint": outcome.fingerprint,
                "action": outcome.action,
                "outcome": outcome.outcome,
                "title": alert.title[:300],
                "service": alert.service,
                "ticket_id": outcome.ticket.id if outcome.ticket is not None else None,
                "silence_id": outcome.silence_id,
                "details": _details(alert),
                "received_at": self.now,
            }
            for source, alert, outcome in self.outcomes
        ]
        if rows:
            copy_rows(self.session, AlertRow, rows)

    def _raise_priorities(self) -> None:
        """Hail: a repeat whose signals now reach a higher level (spend past 100 USD/h)
        raises its open ticket's priority, and its paging follows at once."""
        for ref in self.counted.values():
            if ref.raise_to is None or ref.raised_by is None or ref.id is None:
                continue
            ticket = self.session.get(Ticket, ref.id)
            assert ticket is not None
            level, rule, print_, how = ref.raise_to
            source = ref.raised_by
            _, judged = self._judge(source)
            # Judged against the ticket as it now stands (a ticket the batch opened has its
            # first alert's priority): never lower, never over a person's choice.
            ranks = {known.name: known.rank for known in judged.policy.levels}
            if (
                not ticket.is_open
                or ticket.priority_source == "person"
                or ranks[level] >= ranks.get(ticket.priority or "", len(ranks) + 1)
            ):
                continue
            note = f"alert {print_} {how} rule {rule}"
            raise_priority_in(
                self.session, source.actor, self.now, ticket, judged, level, note, rule
            )

    def _record_repeats(self) -> None:
        """Caseflow: when a ticket exists, comment on it with a link to the latest
        occurrence. Repeats of one ticket in a batch make one update and one comment."""
        by_ticket: dict[int, _TicketRef] = {}
        for ref in self.counted.values():
            if ref.id is not None and ref.new_alerts > 0:
                kept = by_ticket.setdefault(ref.id, _TicketRef(ref.id))
                kept.new_alerts += ref.new_alerts
                kept.latest_link = ref.latest_link or kept.latest_link
        repeated = list(by_ticket.values())
        if not repeated:
            return
        # One UPDATE per distinct increment (nearly always one), each returning the new
        # totals: no read of the counts before writing them. In id order, as locked (a batch
        # that assumed its ticket open has one, locked by its update).
        by_increment: dict[int, list[_TicketRef]] = {}
        for ref in sorted(repeated, key=lambda ref: ref.id or 0):
            by_increment.setdefault(ref.new_alerts, []).append(ref)
        connection = self.session.connection()
        if connection.dialect.name == "postgresql":
            # The update and its comments in one statement: a round trip fewer a batch.
            for increment, refs in by_increment.items():
                counted = {
                    "ids": [ref.id for ref in refs],
                    "links": [_link_text(ref) for ref in refs],
                    "increment": increment,
                    "now": self.now,
                    "after_count": _after_count(self.now, increment),
                    "via": Via.integration.value,
                    "open_only": self.assumed,
                }
                commented = connection.execute(_COUNT_REPEATS_AND_COMMENT, counted).all()
                if self.assumed and len(commented) != len(refs):
                    raise StaleOpenTickets()
            return
        totals: dict[int, int] = {}
        count = _COUNT_OPEN_REPEATS if self.assumed else _COUNT_REPEATS
        for increment, refs in by_increment.items():
            counted = {"ids": [ref.id for ref in refs], "increment": increment, "now": self.now}
            for ticket_id, total in connection.execute(count, counted):
                totals[ticket_id] = total
        if self.assumed and len(totals) != len(repeated):
            raise StaleOpenTickets()
        comments = []
        for ref in repeated:
            assert ref.id is not None
            after_count = _after_count(self.now, ref.new_alerts)
            comments.append(
                {
                    "ticket_id": ref.id,
                    "author_id": None,
                    "body": f"Occurrence {totals[ref.id]}{after_count}{_link_text(ref)}",
                    "via": Via.integration.value,
                    "created_at": self.now,
                }
            )
        copy_rows(self.session, Comment, comments)


def _after_count(now: datetime, new_alerts: int) -> str:
    """An occurrence comment's text after its count: "Occurrence 7 at … (3 since the last
    comment)"."""
    more = f" ({new_alerts} since the last comment)" if new_alerts > 1 else ""
    return f" at {now.isoformat()}{more}"


def _link_text(ref: _TicketRef) -> str:
    """An occurrence comment's ending: the link to the latest occurrence, if it has one."""
    return f": {ref.latest_link}" if ref.latest_link else ""


def _note_raise(
    judged: PolicyInForce,
    ref: _TicketRef,
    alert: IncomingAlert,
    print_: str,
    source: Source,
    how: str = "repeated, and now meets",
) -> None:
    """Keep, on a ticket's reference, the highest level a repeat or a grouped alert is
    classified at, if it is above the ticket's priority as known (never lower: lowering is
    a person's mitigation); `_raise_priorities` checks it against the ticket at the end."""
    if ref.set_by_person:
        return
    policy = judged.policy
    verdict = classify(policy, alert.signals, alert.labels)
    if verdict.level is None or verdict.rule is None:
        return
    ranks = {level.name: level.rank for level in policy.levels}
    current = ref.raise_to[0] if ref.raise_to else ref.priority
    if current is None or ranks[verdict.level] < ranks.get(current, len(ranks) + 1):
        ref.raise_to, ref.raised_by = (verdict.level, verdict.rule, print_, how), source


def unended_silences(session: Session, org_id: int, now: datetime) -> list[Silence]:
    rows = session.connection().execute(_UNENDED_SILENCES, {"org_id": org_id, "now": now})
    return [
        Silence(id_, _matchers(matchers), starts_at, ends_at)
        for id_, matchers, starts_at, ends_at in rows
    ]


def _matchers(stored: list[dict[str, Any]]) -> tuple[Matcher, ...]:
    return tuple(Matcher(m["name"], Op(m["op"]), m["value"]) for m in stored)


def _silence(row: SilenceRow) -> Silence:
    return Silence(row.id, _matchers(row.matchers), row.starts_at, row.ends_at)


def _details(alert: IncomingAlert) -> dict[str, Any]:
    return {
        "source": alert.source,
        "key": alert.key,
        "severity": alert.severity,
        "labels": alert.labels,
        "signals": alert.signals,
        "links": list(alert.links),
        "description": alert.description[:2000],
        "occurred_at": alert.occurred_at.isoformat() if alert.occurred_at else None,
    }


def _issue_type(judged: PolicyInForce, alert: IncomingAlert) -> str | None:
    """The issue type an alert names with a `type` label (GitLab's `type::outage`), when the
    policy has that type; any other value is only a label."""
    named = alert.labels.get("type")
    return named if any(t.name == named for t in judged.policy.issue_types) else None


def _ticket_labels(judged: PolicyInForce, alert: IncomingAlert) -> list[str]:
    labels = list(judged.policy.alerts.labels)
    labels += [f"{name}={value}" if value else name for name, value in alert.labels.items()]
    if alert.severity and "severity" not in alert.labels:
        labels.append(f"severity={alert.severity}")
    return list(dict.fromkeys(label[:200] for label in labels))


def _page_impact_contacts(
    session: Session,
    actor: Actor,
    now: datetime,
    judged: PolicyInForce,
    alert: IncomingAlert,
    ticket_id: int,
    title: str,
    *,
    joining: bool = False,
) -> None:
    """An impact category named by the alert's `impact` label pages its contacts at once
    (Caseflow: data corruption → tech lead, DevOps lead, project lead, product support).
    `joining`: the alert joins a ticket, which pages each category once."""
    policy = judged.policy
    impact = alert.labels.get("impact")
    category = next((c for c in policy.impact_categories if c.named_by(impact)), None)
    if category is None or not category.page_at_once:
        return
    told = f"impact {category.name}:"
    if joining and session.scalar(
        select(Event.id)
        .where(
            Event.ticket_id == ticket_id,
            Event.kind == IMPACT_PAGED,
            Event.summary.startswith(told, autoescape=True),
        )
        .limit(1)
    ):
        return  # this ticket's impact was paged (or found nobody to page) already
    key_prefix = f"{impact_key_prefix(ticket_id)}{category.name}."
    target = plan.Target(plan.TargetKind.group, category.name)
    found = resolve_targets(session, actor.org_id, (target,), policy, alert.service, now)
    subject = f"[{category.title or category.name}] #{ticket_id} {title}"
    for person in found.recipients:
        enqueue(
            session,
            now,
            Page(
                org_id=actor.org_id,
                user_id=person.user_id,
                key=f"{key_prefix}u{person.user_id}",
                subject=subject,
                body=f"{subject}\nservice: {alert.service or '-'}\n"
                f"You are paged because you are a {person.why}.",
                ticket_id=ticket_id,
                escalation_id=None,
            ),
        )
    paged = ", ".join(f"{p.handle} ({p.why})" for p in found.recipients) or "nobody"
    remarks = found.remarks()
    notes = f"; {'; '.join(remarks)}" if remarks else ""
    record(
        session,
        actor,
        now,
        IMPACT_PAGED,
        f"{told} paged {paged} at once{notes}",
        ticket_id=ticket_id,
        category=category.name,
        people=[p.handle for p in found.recipients],
    )


def _acknowledge(session: Session, actor: Actor, now: datetime, ticket: Ticket) -> str:
    active = session.scalar(
        select(Escalation.id).where(Escalation.ticket_id == ticket.id, Escalation.state == "active")
    )
    if active is None:
        cancel_impact_pages(session, ticket.id, now)
        move_to_acknowledged(session, actor, now, ticket)
        ticket.responded_at = ticket.responded_at or now
        record(
            session,
            actor,
            now,
            "alert.acknowledged",
            "acknowledged at the source",
            ticket_id=ticket.id,
        )
        return "acknowledged"
    acknowledge_in(session, actor, now, ticket)
    return "acknowledged"


def _annotate_member(
    session: Session,
    actor: Actor,
    now: datetime,
    ticket: Ticket,
    alert: IncomingAlert,
    print_: str,
    firing: int,
) -> str:
    """A storm's member resolved while others still fire: the ticket stays as it is."""
    still = (
        "1 other alert of its group still fires"
        if firing == 1
        else (f"{firing} other alerts of its group still fire")
    )
    session.add(
        Comment(
            ticket_id=ticket.id,
            author_id=None,
            body=f"The {alert.source} alert {print_} resolved at the source; {still}",
            via=actor.via.value,
            created_at=now,
        )
    )
    ticket.updated_at = now
    return "annotated"


def _resolve(
    session: Session,
    actor: Actor,
    now: datetime,
    ticket: Ticket,
    judged: PolicyInForce,
    alert: IncomingAlert,
) -> str:
    handling = judged.policy.alerts
    note = f"the {alert.source} alert resolved at the source"
    if handling.on_resolved == "resolve" and handling.resolve_to is not None:
        try:
            with session.begin_nested():
                move_in(session, actor, now, ticket, handling.resolve_to, note)
            return "resolved"
        except TransitionRefused as refused:
            note += f" (not moved: {refused})"
    session.add(
        Comment(
            ticket_id=ticket.id,
            author_id=None,
            body=note.capitalize(),
            via=actor.via.value,
            created_at=now,
        )
    )
    ticket.updated_at = now
    return "annotated"


def create_silence(db: Database, clock: Clock, actor: Actor, new: NewSilence) -> SilenceView:
    actor.require(Role.responder)
    now = clock.now()
    starts = new.starts_at or now
    if new.ends_at <= starts:
        raise Invalid("ends_at", "a silence must end after it starts")
    for index, matcher in enumerate(new.matchers):
        try:
            Matcher(matcher.name, Op(matcher.op), matcher.value)
        except MatcherInvalid as error:
            raise Invalid(f"matchers.{index}", str(error)) from None
    with db.transaction() as session:
        row = SilenceRow(
            org_id=actor.org_id,
            kind=new.kind,
            matchers=[m.model_dump() for m in new.matchers],
            starts_at=starts,
            ends_at=new.ends_at,
            reason=new.reason,
            created_by_id=actor.user_id,
            created_at=now,
        )
        session.add(row)
        session.flush()
        return _silence_view(session, row, now)


def _silence_view(session: Session, row: SilenceRow, now: datetime) -> SilenceView:
    hits = (
        session.scalar(
            select(func.count()).select_from(AlertRow).where(AlertRow.silence_id == row.id)
        )
        or 0
    )
    creator = (
        session.scalar(select(User.handle).where(User.id == row.created_by_id))
        if row.created_by_id
        else None
    )
    state = "pending" if now < row.starts_at else "active" if now < row.ends_at else "expired"
    return SilenceView(
        id=row.id,
        kind=row.kind,
        matchers=row.matchers,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        reason=row.reason,
        created_by=creator,
        state=state,
        alerts_silenced=hits,
    )


def list_silences(
    db: Database, clock: Clock, actor: Actor, *, include_expired: bool = False
) -> list[SilenceView]:
    now = clock.now()
    with db.reading() as session:
        query = select(SilenceRow).where(SilenceRow.org_id == actor.org_id)
        if not include_expired:
            query = query.where(SilenceRow.ends_at > now)
        rows = session.scalars(query.order_by(SilenceRow.starts_at)).all()
        return [_silence_view(session, row, now) for row in rows]


def expire_silence(db: Database, clock: Clock, actor: Actor, silence_id: int) -> SilenceView:
    """End a silence now: notifications resume for what it matched."""
    actor.require(Role.responder)
    now = clock.now()
    with db.transaction() as session:
        row = session.scalar(
            select(SilenceRow).where(SilenceRow.org_id == actor.org_id, SilenceRow.id == silence_id)
        )
        if row is None:
            raise NotFound(f"no silence {silence_id}")
        if row.ends_at <= now:
            raise Conflict(f"silence {silence_id} has already ended")
        session.execute(
            update(SilenceRow)
            .where(SilenceRow.id == row.id)
            .values(ends_at=max(now, row.starts_at))
        )
        # Escalations waiting out this silence page now, not at its planned end.
        session.execute(
            update(Timer)
            .where(Timer.silence_id == row.id, Timer.done_at.is_(None))
            .values(due_at=now)
        )
        session.refresh(row)
        return _silence_view(session, row, now)


HEARTBEAT = "heartbeat"


def heartbeat_alert(
    source: Source, heartbeat_id: int, action: Action, detail: str
) -> IncomingAlert:
    return IncomingAlert(
        source=HEARTBEAT,
        action=action,
        title=f"Heartbeat {source.name} is silent",
        key=f"hb{heartbeat_id}",
        service=source.name,
        description=detail,
        labels={"heartbeat": source.name},
    )


def check_in(db: Database, clock: Clock, source: Source) -> list[AlertOutcome]:
    """A heartbeat's check-in: due again one interval from now; if it was late, its alert
    resolves (or is annotated, as the team's policy says)."""
    now = clock.now()
    with db.transaction() as session:
        beat = session.scalar(
            select(Heartbeat).where(Heartbeat.integration_id == source.id).with_for_update()
        )
        if beat is None:
            raise NotFound("no heartbeat has this key")
        was_late = beat.late
        beat.last_seen_at, beat.late = now, False
        beat.due_at = now + timedelta(seconds=beat.interval_seconds)
        if not was_late:
            return []
        alert = heartbeat_alert(source, beat.id, Action.resolve, f"checked in at {now.isoformat()}")
        return accept_in(session, clock, [(source, [alert])])[0]


def _late(now: datetime) -> ColumnElement[bool]:
    return and_(
        Heartbeat.late.is_(False),
        Heartbeat.due_at < now,  # a check-in exactly one interval apart is on time
        Integration.revoked_at.is_(None),
    )


def late_heartbeats_due(session: Session, now: datetime) -> bool:
    """Whether any heartbeat is silent past its due time and not yet raised."""
    late = (
        select(Heartbeat.id)
        .join(Integration, Integration.id == Heartbeat.integration_id)
        .where(_late(now))
        .limit(1)
    )
    return session.scalar(late) is not None


def raise_late_heartbeats(session: Session, clock: Clock, limit: int) -> int:
    """Mark heartbeats silent past their due time late and raise their alerts, in the
    caller's transaction; rows another engine holds are skipped."""
    now = clock.now()
    found = session.execute(
        select(Heartbeat, Integration, Team.slug)
        .join(Integration, Integration.id == Heartbeat.integration_id)
        .join(Team, Team.id == Integration.team_id)
        .where(_late(now))
        .order_by(Heartbeat.due_at)
        .limit(limit)
        .with_for_update(of=Heartbeat, skip_locked=True)
    ).all()
    requests = []
    for beat, row, slug in found:
        beat.late = True
        source = Source.of(row, slug)
        seen = beat.last_seen_at.isoformat() if beat.last_seen_at else "never"
        detail = (
            f"expected a check-in every {beat.interval_seconds // 60} min; "
            f"last seen {seen}; due {beat.due_at.isoformat()}"
        )
        requests.append((source, [heartbeat_alert(source, beat.id, Action.trigger, detail)]))
    if requests:
        accept_in(session, clock, requests)
    return len(requests)

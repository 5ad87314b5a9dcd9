"""What a silence does beyond the alerts it meets at intake: an escalation whose ticket it
covers waits for its end, and at its end the alerts it kept from opening a ticket that still
fire open one, as Alertmanager notifies a still-firing alert once its silence expires.

Sentry, PagerDuty and generic senders send an alert once: without the release, an alert that
first fired during a silence would never reach anyone."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, tuple_, update
from sqlalchemy.orm import Session

from fireline.clock.now import Clock
from fireline.intake.alert import Action, IncomingAlert
from fireline.intake.fingerprint import fingerprint
from fireline.intake.models import AlertRow, Integration, SilenceRow
from fireline.intake.service import Source, accept_in, unended_silences
from fireline.orgs.models import Team
from fireline.orgs.service import PolicyInForce, team_and_policy
from fireline.tickets.models import GroupedAlert
from fireline.timeline.service import event_row, record_rows
from fireline.triage.silence import Silence, facts_of, silencing

RELEASED = "alert.released"


def silences_covering(
    session: Session, now: datetime, tickets: Mapping[int, int]
) -> dict[int, Silence]:
    """The silence in force at `now` over each alert ticket (`tickets`: id → organisation),
    judged on the latest firing alert of each fingerprint it holds, as if it arrived now.
    A storm's ticket is covered only while every alert of its group still firing is (as
    Alertmanager mutes a group); of the silences covering them, the one that ends first. A
    ticket opened by hand has no alert, and no silence covers it."""
    active: dict[int, list[Silence]] = {}
    for org_id in set(tickets.values()):
        found = [s for s in unended_silences(session, org_id, now) if s.active(now)]
        if found:
            active[org_id] = found
    wanted = [ticket_id for ticket_id, org_id in tickets.items() if org_id in active]
    if not wanted:
        return {}
    latest = (
        select(func.max(AlertRow.id))
        .where(AlertRow.ticket_id.in_(wanted), AlertRow.action == Action.trigger.value)
        .group_by(AlertRow.ticket_id, AlertRow.integration_id, AlertRow.fingerprint)
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            AlertRow.ticket_id,
            AlertRow.org_id,
            AlertRow.integration_id,
            AlertRow.fingerprint,
            AlertRow.title,
            AlertRow.service,
            AlertRow.details,
        ).where(AlertRow.id.in_(latest))
    ).all()
    members = {
        (ticket_id, integration_id, print_): firing
        for ticket_id, integration_id, print_, firing in session.execute(
            select(
                GroupedAlert.ticket_id,
                GroupedAlert.integration_id,
                GroupedAlert.fingerprint,
                GroupedAlert.firing,
            ).where(GroupedAlert.ticket_id.in_(wanted))
        )
    }
    grouped = {ticket_id for ticket_id, _, _ in members}
    judged: dict[int, list[Silence | None]] = {}
    for ticket_id, org_id, integration_id, print_, title, service, details in rows:
        if ticket_id in grouped and not members.get((ticket_id, integration_id, print_)):
            continue  # resolved, or no longer of the group: it asks for no silence
        facts = facts_of(
            details.get("labels") or {}, service, print_, title, details.get("source") or ""
        )
        judged.setdefault(ticket_id, []).append(silencing(active[org_id], facts, now))
    return {
        ticket_id: min(found, key=lambda silence: silence.ends_at)
        for ticket_id, verdicts in judged.items()
        if (found := [v for v in verdicts if v is not None]) and len(found) == len(verdicts)
    }


def _ended(now: datetime) -> ColumnElement[bool]:
    return and_(SilenceRow.released_at.is_(None), SilenceRow.ends_at <= now)


def ended_silences_due(session: Session, now: datetime) -> bool:
    """Whether any silence has ended and not yet been released."""
    return session.scalar(select(SilenceRow.id).where(_ended(now)).limit(1)) is not None


def release_ended_silences(session: Session, clock: Clock, limit: int) -> int:
    """Release silences that have ended, in the caller's transaction: each alert a silence
    kept from opening a ticket opens one now if nothing came of its fingerprint since (no
    resolve, no ticket, no later silence); a silence is released once. Rows another engine
    holds are skipped. Returns how many silences were released."""
    now = clock.now()
    ended = session.execute(
        select(SilenceRow.id, SilenceRow.org_id)
        .where(_ended(now))
        .order_by(SilenceRow.ends_at, SilenceRow.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    for silence_id, org_id in ended:
        _release(session, clock, silence_id, org_id)
    if ended:
        session.execute(
            update(SilenceRow)
            .where(SilenceRow.id.in_([silence_id for silence_id, _ in ended]))
            .values(released_at=now)
        )
    return len(ended)


def _release(session: Session, clock: Clock, silence_id: int, org_id: int) -> None:
    kept = session.execute(
        select(
            AlertRow.integration_id,
            AlertRow.fingerprint,
            func.max(AlertRow.id),
            func.min(AlertRow.received_at),
            func.count(),
        )
        .where(
            AlertRow.silence_id == silence_id,
            AlertRow.action == Action.trigger.value,
            AlertRow.ticket_id.is_(None),
        )
        .group_by(AlertRow.integration_id, AlertRow.fingerprint)
        .order_by(func.max(AlertRow.id))
    ).all()
    # The latest alert of each of those fingerprints, whatever became of it: a query per
    # thousand fingerprints, not one each (a maintenance window may have kept thousands).
    latest: dict[tuple[int, str], int] = {}
    for start in range(0, len(kept), 1000):
        keys = [
            (integration_id, print_) for integration_id, print_, *_ in kept[start : start + 1000]
        ]
        latest.update(
            ((integration_id, print_), last)
            for integration_id, print_, last in session.execute(
                select(AlertRow.integration_id, AlertRow.fingerprint, func.max(AlertRow.id))
                .where(
                    AlertRow.org_id == org_id,
                    AlertRow.fingerprint.in_({print_ for _, print_ in keys}),
                    tuple_(AlertRow.integration_id, AlertRow.fingerprint).in_(keys),
                )
                .group_by(AlertRow.integration_id, AlertRow.fingerprint)
            )
        )
    still_firing = [
        (integration_id, last_id, first_at, times)
        for integration_id, print_, last_id, first_at, times in kept
        if latest.get((integration_id, print_)) == last_id
    ]
    if not still_firing:
        return
    sources = _sources(session, {integration_id for integration_id, *_ in still_firing})
    alerts = {
        row.id: row
        for row in session.execute(
            select(AlertRow).where(AlertRow.id.in_([last_id for _, last_id, _, _ in still_firing]))
        ).scalars()
    }
    requests: list[tuple[Source, list[IncomingAlert]]] = []
    told: list[tuple[int, datetime, str]] = []
    policies: dict[str, PolicyInForce] = {}
    for integration_id, last_id, first_at, times in still_firing:
        source = sources.get(integration_id)
        if source is None:  # revoked since: its alerts are no longer taken in
            continue
        row = alerts[last_id]
        alert = _incoming(row)
        # Taken in as it would be now: under the fingerprint the team's policy now gives it,
        # if nothing has come of that fingerprint since either.
        if source.team_slug not in policies:
            policies[source.team_slug] = team_and_policy(session, org_id, source.team_slug)[1]
        judged = policies[source.team_slug]
        now_print = fingerprint(alert, judged.policy.alerts.fingerprint)
        if now_print != row.fingerprint and session.scalar(
            select(AlertRow.id)
            .where(
                AlertRow.org_id == org_id,
                AlertRow.fingerprint == now_print,
                AlertRow.integration_id == integration_id,
                AlertRow.id > last_id,
            )
            .limit(1)
        ):
            continue
        requests.append((source, [alert]))
        told.append((times, first_at, now_print))
    if not requests:
        return
    outcomes = accept_in(session, clock, requests)
    now = clock.now()
    events = []
    for (source, _), (outcome,), (times, first_at, print_) in zip(
        requests, outcomes, told, strict=True
    ):
        if outcome.ticket_id is None or outcome.outcome not in ("opened", "grouped"):
            continue
        occurrences = "once" if times == 1 else f"{times} times"
        events.append(
            event_row(
                source.actor,
                now,
                RELEASED,
                f"silence {silence_id} ended while alert {print_} still fired; it had "
                f"fired {occurrences} under the silence, first at {first_at.isoformat()}",
                ticket_id=outcome.ticket_id,
                silence=silence_id,
                fingerprint=print_,
                silenced_alerts=times,
            )
        )
    record_rows(session, events)


def _sources(session: Session, integration_ids: set[int]) -> dict[int, Source]:
    rows = session.execute(
        select(Integration, Team.slug)
        .join(Team, Team.id == Integration.team_id)
        .where(Integration.id.in_(integration_ids), Integration.revoked_at.is_(None))
    ).all()
    return {row.id: Source.of(row, slug) for row, slug in rows}


def _incoming(row: AlertRow) -> IncomingAlert:
    """The alert as it was taken in, from its record."""
    details: dict[str, Any] = row.details
    occurred = details.get("occurred_at")
    return IncomingAlert(
        source=details.get("source") or "",
        action=Action.trigger,
        title=row.title,
        key=details.get("key"),
        service=row.service,
        description=details.get("description") or "",
        severity=details.get("severity"),
        labels=dict(details.get("labels") or {}),
        signals=dict(details.get("signals") or {}),
        links=tuple(details.get("links") or ()),
        occurred_at=datetime.fromisoformat(occurred) if occurred else None,
    )

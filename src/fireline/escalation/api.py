"""HTTP: escalation policies."""

from __future__ import annotations

from fastapi import APIRouter, status

from fireline.context import DB, ActorDep, ClockDep
from fireline.escalation import service
from fireline.escalation.schemas import EscalationPolicyView, NewEscalationPolicy

router = APIRouter(prefix="/api/v1/escalation-policies", tags=["escalation"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_policy(
    body: NewEscalationPolicy, db: DB, clock: ClockDep, actor: ActorDep
) -> EscalationPolicyView:
    return service.create_policy(db, clock, actor, body)


@router.get("")
def list_policies(db: DB, actor: ActorDep) -> list[EscalationPolicyView]:
    return service.list_policies(db, actor)


@router.get("/{slug}")
def get_policy(slug: str, db: DB, actor: ActorDep) -> EscalationPolicyView:
    return service.get_policy(db, actor, slug)


@router.put("/{slug}")
def replace_policy(
    slug: str, body: NewEscalationPolicy, db: DB, clock: ClockDep, actor: ActorDep
) -> EscalationPolicyView:
    return service.replace_policy(db, clock, actor, slug, body)


@router.delete("/{slug}", status_code=status.HTTP_204_NO_CONTENT)
def delete_policy(slug: str, db: DB, actor: ActorDep) -> None:
    service.delete_policy(db, actor, slug)

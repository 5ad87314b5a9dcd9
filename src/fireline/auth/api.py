"""HTTP: who am I, users, and API tokens (shown once)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, Field

from fireline.auth import service
from fireline.auth.actor import Role
from fireline.auth.models import User
from fireline.context import DB, ActorDep, ClockDep
from fireline.openapi import refusals
from fireline.people import service as people

router = APIRouter(prefix="/api/v1", tags=["users and tokens"])


class UserView(BaseModel):
    id: int
    handle: str
    name: str
    email: str | None
    role: str
    timezone: str
    deactivated_at: datetime | None = None


class DeactivatedView(BaseModel):
    handle: str
    name: str
    deactivated_at: datetime
    pages_cancelled: int = Field(description="pages that were waiting to reach them")
    still_named_in: list[str] = Field(
        description="schedules and escalation steps that skip them now; edit these to take them out"
    )


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")

    handle: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    name: str = Field(min_length=1)
    role: Role = Role.responder
    email: str | None = None
    timezone: str = "UTC"
    password: str | None = Field(default=None, min_length=8)


class NewToken(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)


class TokenView(BaseModel):
    id: int
    name: str
    token: str = Field(description="shown this once; only its hash is stored")


def _view(user: User) -> UserView:
    return UserView(
        id=user.id,
        handle=user.handle,
        name=user.name,
        email=user.email,
        role=user.role,
        timezone=user.timezone,
        deactivated_at=user.deactivated_at,
    )


@router.get("/me")
def me(actor: ActorDep) -> dict[str, str | int | None]:
    return {
        "id": actor.user_id,
        "handle": actor.handle,
        "role": actor.role.value,
        "organisation": actor.org_id,
    }


@router.get("/users")
def users(db: DB, actor: ActorDep) -> list[UserView]:
    return [_view(u) for u in service.list_users(db, actor)]


@router.post("/users", status_code=status.HTTP_201_CREATED, responses=refusals(401, 403, 409))
def create_user(body: NewUser, db: DB, clock: ClockDep, actor: ActorDep) -> UserView:
    return _view(
        service.create_user(
            db,
            clock,
            actor,
            body.handle,
            body.name,
            body.role,
            body.email,
            body.timezone,
            body.password,
        )
    )


@router.delete("/people/{handle}")
def deactivate_person(handle: str, db: DB, clock: ClockDep, actor: ActorDep) -> DeactivatedView:
    """Deactivate a person: never paged or on duty again, their history kept. Idempotent."""
    done = people.deactivate_person(db, clock, actor, handle)
    return DeactivatedView(
        handle=done.handle,
        name=done.name,
        deactivated_at=done.deactivated_at,
        pages_cancelled=done.pages_cancelled,
        still_named_in=done.still_named_in,
    )


@router.post("/tokens", status_code=status.HTTP_201_CREATED, responses=refusals(401))
def create_token(body: NewToken, db: DB, clock: ClockDep, actor: ActorDep) -> TokenView:
    issued = service.create_token(db, clock, actor, body.name)
    return TokenView(id=issued.id, name=issued.name, token=issued.token)

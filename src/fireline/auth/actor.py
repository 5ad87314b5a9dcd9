"""Who is acting, with what rights, through which interface: every write is attributed."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from fireline.errors import Forbidden


class Role(StrEnum):
    viewer = "viewer"
    responder = "responder"
    admin = "admin"

    @property
    def power(self) -> int:
        return [Role.viewer, Role.responder, Role.admin].index(self)


class Via(StrEnum):
    api = "api"
    cli = "cli"
    web = "web"
    engine = "engine"
    demo = "demo"
    integration = "integration"


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: int | None
    handle: str
    org_id: int
    role: Role
    via: Via

    def require(self, role: Role) -> None:
        if self.role.power < role.power:
            raise Forbidden(f"{self.handle} is a {self.role}; this needs {role} rights")

    def with_via(self, via: Via) -> Actor:
        return Actor(self.user_id, self.handle, self.org_id, self.role, via)

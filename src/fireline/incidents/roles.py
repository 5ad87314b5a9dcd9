"""Incident roles: which roles an incident type has and who may hold them together."""

from __future__ import annotations

from collections.abc import Mapping

from fireline.policy.schema import IncidentType, Policy


class UnknownRole(ValueError):
    def __init__(self, role: str, known: list[str]) -> None:
        self.role = role
        self.known = known
        super().__init__(f"unknown role {role!r} for this incident; roles: {', '.join(known)}")


class UnknownIncidentType(ValueError):
    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        super().__init__(f"unknown incident type {name!r}; types: {', '.join(known)}")


class RoleConstraintBroken(ValueError):
    def __init__(self, person: str, role: str, conflicting: str) -> None:
        self.person = person
        self.role = role
        self.conflicting = conflicting
        super().__init__(
            f"{person} already holds {conflicting!r}, which the policy keeps distinct from "
            f"{role!r}; hand {conflicting!r} off first or choose someone else"
        )


def incident_type(policy: Policy, name: str | None) -> IncidentType:
    chosen = name or policy.incidents.default_type or policy.incidents.types[0].name
    for candidate in policy.incidents.types:
        if candidate.name == chosen:
            return candidate
    raise UnknownIncidentType(chosen, [t.name for t in policy.incidents.types])


def lead_role(kind: IncidentType) -> str:
    return kind.lead_role or kind.roles[0]


def check_assignment(
    policy: Policy, kind: IncidentType, holders: Mapping[str, str], role: str, person: str
) -> None:
    """Raise if `person` may not take `role` given the current `holders` (role → person)."""
    if role not in kind.roles:
        raise UnknownRole(role, list(kind.roles))
    for constraint in policy.role_constraints:
        if role not in constraint.distinct:
            continue
        for other in constraint.distinct:
            if other != role and holders.get(other) == person:
                raise RoleConstraintBroken(person, role, other)

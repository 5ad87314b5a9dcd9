"""Routing, pure: which owning team and tech lead answer for a service, from the policy's
ownership catalogue; unknown services go to the catch-all team, never nowhere."""

from __future__ import annotations

from dataclasses import dataclass

from fireline.policy.schema import Policy


@dataclass(frozen=True, slots=True)
class Owner:
    team: str | None
    tech_lead: str | None
    why: str


def owner_of(policy: Policy, service: str | None) -> Owner:
    teams = {team.name: team for team in policy.ownership.teams}
    owner = next((s.team for s in policy.ownership.services if s.service == service), None)
    if owner is not None:
        return Owner(owner, teams[owner].tech_lead, f"tech lead of {owner}, which owns {service}")
    catch_all = policy.ownership.catch_all
    if catch_all is not None:
        return Owner(
            catch_all, teams[catch_all].tech_lead, f"catch-all team {catch_all}'s tech lead"
        )
    return Owner(None, None, f"nobody owns service {service!r} and there is no catch-all team")

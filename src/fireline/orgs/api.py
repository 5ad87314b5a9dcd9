"""HTTP: the organisation, its teams and their policies (upload, validate, versions)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from fireline.auth.actor import Role
from fireline.context import DB, ActorDep, ClockDep, RowId
from fireline.errors import Invalid
from fireline.openapi import refusals
from fireline.orgs import service
from fireline.orgs.models import PolicyVersion
from fireline.orgs.schemas import (
    ClassifyRequest,
    ClassifyView,
    DueRequest,
    DueView,
    NewTeam,
    OrganisationView,
    PolicySource,
    PolicyVersionView,
    TeamView,
    ValidationReport,
)
from fireline.policy.explain import due_bys, run_examples
from fireline.policy.load import parse_policy, preset_names, preset_text
from fireline.triage.classify import classify, incident_criteria_met, labels_from_list

router = APIRouter(prefix="/api/v1", tags=["organisation and policies"])


def _version_view(version: PolicyVersion, *, full: bool) -> PolicyVersionView:
    view = PolicyVersionView(
        version=version.version,
        name=version.name,
        content_sha256=version.content_sha256,
        created_at=version.created_at,
    )
    if full:
        view.source = version.source
        view.policy = service.compile_version(version).policy.model_dump(mode="json", by_alias=True)
    return view


@router.get("/organisation")
def get_organisation(db: DB, actor: ActorDep) -> OrganisationView:
    found = service.organisation(db, actor)
    return OrganisationView(id=found.id, slug=found.slug, name=found.name)


@router.get("/teams")
def list_teams(db: DB, actor: ActorDep) -> list[TeamView]:
    return [TeamView(id=t.id, slug=t.slug, name=t.name) for t in service.teams(db, actor)]


@router.post("/teams", status_code=status.HTTP_201_CREATED, responses=refusals(401, 403, 409))
def create_team(body: NewTeam, db: DB, clock: ClockDep, actor: ActorDep) -> TeamView:
    if (body.preset is None) == (body.source is None):
        raise Invalid("preset", "give exactly one of preset or source")
    source = preset_text(body.preset) if body.preset is not None else body.source
    assert source is not None
    team = service.add_team(
        db,
        clock,
        actor,
        body.slug,
        body.name,
        source,
        f"preset:{body.preset}" if body.preset else "<upload>",
    )
    return TeamView(id=team.id, slug=team.slug, name=team.name)


@router.get("/teams/{team}/policy")
def current_policy(team: str, db: DB, actor: ActorDep) -> PolicyVersionView:
    versions = service.team_versions(db, actor, team)
    return _version_view(versions[-1], full=True)


@router.put("/teams/{team}/policy", status_code=status.HTTP_201_CREATED)
def apply_policy(
    team: str, body: PolicySource, db: DB, clock: ClockDep, actor: ActorDep
) -> PolicyVersionView:
    """Validate and store a new version; an invalid policy stores nothing (422, file:line)."""
    return _version_view(
        service.apply_policy(db, clock, actor, team, body.source, body.file), full=False
    )


@router.get("/teams/{team}/policy/versions")
def policy_versions(team: str, db: DB, actor: ActorDep) -> list[PolicyVersionView]:
    return [_version_view(v, full=False) for v in service.team_versions(db, actor, team)]


@router.get("/teams/{team}/policy/versions/{number}")
def policy_version(team: str, number: RowId, db: DB, actor: ActorDep) -> PolicyVersionView:
    return _version_view(service.team_version(db, actor, team, number), full=True)


@router.post("/policies/validate", responses=refusals(401))
def validate_policy(body: PolicySource, actor: ActorDep) -> ValidationReport:
    """Check a policy without storing it: schema, references, and its own examples."""
    actor.require(Role.viewer)
    policy = parse_policy(body.source, body.file)
    failures = run_examples(policy)
    return ValidationReport(
        valid=not failures,
        name=policy.name,
        levels=[level.name for level in policy.levels],
        examples=len(policy.classification.examples),
        failures=[str(f) for f in failures],
    )


@router.get("/presets")
def list_presets(actor: ActorDep) -> list[str]:
    return preset_names()


@router.get("/presets/{name}", responses=refusals(401))
def get_preset(name: str, actor: ActorDep) -> dict[str, Any]:
    source = preset_text(name)
    return {
        "name": name,
        "source": source,
        "policy": parse_policy(source, f"preset:{name}").model_dump(mode="json", by_alias=True),
    }


@router.post("/teams/{team}/classify", responses=refusals(401, 404))
def classify_signals(team: str, body: ClassifyRequest, db: DB, actor: ActorDep) -> ClassifyView:
    """What the team's policy in force would make of these signals, without opening anything."""
    policy = service.team_policy(db, actor, team).policy
    labels = labels_from_list(body.labels)
    verdict = classify(policy, body.signals, labels)
    return ClassifyView(
        level=verdict.level,
        rule=verdict.rule,
        fired=list(verdict.fired),
        incident_criteria=[c.name for c in incident_criteria_met(policy, body.signals, labels)],
    )


@router.post("/teams/{team}/due", responses=refusals(401, 404))
def due(team: str, body: DueRequest, db: DB, actor: ActorDep) -> DueView:
    judged = service.team_policy(db, actor, team)
    if body.opened.tzinfo is None:
        raise Invalid("opened", "give the instant with a UTC offset")
    found = due_bys(judged.policy, body.level, body.opened, judged.calendar)
    return DueView(
        level=found.level,
        opened=found.opened,
        response=found.response,
        response_due=found.response_due,
        resolution=found.resolution,
        resolution_due=found.resolution_due,
        paging=found.paging,
    )

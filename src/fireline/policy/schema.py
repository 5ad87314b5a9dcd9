"""The policy language: pydantic models of a team's written process.

Shape only lives here. Cross-references (a rule naming an unknown level, a transition to an
unknown state) are checked in `references.py`, so every error can point at a path and a line.
"""

from __future__ import annotations

import re
from datetime import date, time
from enum import StrEnum
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from fireline.policy.targets import Target, TargetField

Name = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][\w.:\- ]*$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Weekday(StrEnum):
    mon = "mon"
    tue = "tue"
    wed = "wed"
    thu = "thu"
    fri = "fri"
    sat = "sat"
    sun = "sun"

    @property
    def weekday(self) -> int:
        """Monday is 0, as `date.weekday()` counts."""
        return list(Weekday).index(self)


_CLOCK_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _clock_time(value: object) -> object:
    if isinstance(value, str):
        match = _CLOCK_TIME.match(value)
        if not match:
            raise ValueError("expected a time of day as HH:MM, e.g. 09:00")
        return time(int(match.group(1)), int(match.group(2)))
    if isinstance(value, int):
        # YAML 1.1 reads an unquoted 09:00 as the sexagesimal number 540.
        raise ValueError("quote the time of day, e.g. '09:00'")
    return value


class WorkingHours(Strict):
    start: time
    end: time

    _parse = field_validator("start", "end", mode="before")(_clock_time)

    @model_validator(mode="after")
    def _ordered(self) -> WorkingHours:
        if self.end <= self.start:
            raise ValueError("working hours must end after they start, within one day")
        return self


class Holidays(Strict):
    country: str | None = Field(default=None, description="ISO 3166 code for the holidays package")
    subdivision: str | None = None
    dates: list[date] = Field(default_factory=list, description="the team's own days off")


class Calendar(Strict):
    timezone: str
    working_days: list[Weekday] = Field(
        default_factory=lambda: [Weekday.mon, Weekday.tue, Weekday.wed, Weekday.thu, Weekday.fri],
        min_length=1,
    )
    working_hours: WorkingHours = WorkingHours(start=time(9), end=time(17))
    holidays: Holidays = Holidays()

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name)") from None
        return value


class Paging(StrEnum):
    interrupt = "interrupt"
    working_hours = "working_hours"


class Level(Strict):
    name: Name
    rank: int = Field(ge=1, description="1 is the most severe")
    title: str
    description: str = ""
    examples: list[str] = Field(default_factory=list)
    aliases: list[str] = Field(default_factory=list, description="labels that mean this level")
    response: TargetField | None = None
    resolution: TargetField | None = None
    paging: Paging = Paging.interrupt


class Comparison(StrEnum):
    gt = "gt"
    gte = "gte"
    lt = "lt"
    lte = "lte"
    eq = "eq"


class Ratio(Strict):
    of: str
    to: str


class Condition(Strict):
    """One test on a ticket's signals or labels; exactly one subject and one test."""

    signal: str | None = None
    ratio: Ratio | None = None
    label: str | None = None
    gt: float | None = None
    gte: float | None = None
    lt: float | None = None
    lte: float | None = None
    eq: float | None = None
    equals: str | None = None
    one_of: list[str] | None = None
    present: bool | None = None

    @model_validator(mode="after")
    def _one_subject_one_test(self) -> Condition:
        subjects = [s for s in ("signal", "ratio", "label") if getattr(self, s) is not None]
        if len(subjects) != 1:
            raise ValueError("a condition names exactly one of signal, ratio or label")
        numeric = [c.value for c in Comparison if getattr(self, c.value) is not None]
        textual = [t for t in ("equals", "one_of", "present") if getattr(self, t) is not None]
        if subjects[0] == "label":
            if numeric or len(textual) != 1:
                raise ValueError("a label condition takes exactly one of equals, one_of, present")
        elif textual or len(numeric) != 1:
            raise ValueError(f"a {subjects[0]} condition takes exactly one of gt, gte, lt, lte, eq")
        return self


class Rule(Strict):
    name: Name
    level: str
    description: str = ""
    match: Literal["all", "any"] = "all"
    when: list[Condition] = Field(min_length=1)


class Example(Strict):
    name: str
    signals: dict[str, float] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)
    expect: str | None = Field(description="the level, or null when no rule should fire")
    expect_rule: str | None = None


class Classification(Strict):
    default_level: str | None = Field(
        default=None, description="the level when no rule fires and nobody chose one"
    )
    rules: list[Rule] = Field(default_factory=list)
    examples: list[Example] = Field(default_factory=list)


class IssueType(Strict):
    name: Name
    title: str = ""
    description: str = ""
    examples: list[str] = Field(default_factory=list)
    notify_users: bool = False
    default_level: str | None = None


class Criterion(Strict):
    name: Name
    description: str = ""
    match: Literal["all", "any"] = "all"
    when: list[Condition] = Field(min_length=1)
    severity: str | None = Field(default=None, description="severity of the declared incident")


class State(Strict):
    name: Name
    title: str = ""
    description: str = ""
    open: bool = True
    stops_clock: bool = False
    acknowledges: bool = Field(
        default=False,
        description="a ticket moved into it has its page acknowledged (paging stops), and "
        "an acknowledged ticket moves into it when it can (Meltano's 👀)",
    )


class Transition(Strict):
    source: str = Field(alias="from")
    targets: list[str] = Field(alias="to", min_length=1)

    @field_validator("targets", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class Workflow(Strict):
    initial: list[str] = Field(min_length=1, description="states a new record may start in")
    states: list[State] = Field(min_length=1)
    transitions: list[Transition] = Field(default_factory=list)

    @field_validator("initial", mode="before")
    @classmethod
    def _one_or_many(cls, value: object) -> object:
        return [value] if isinstance(value, str) else value


class Workflows(Strict):
    ticket: Workflow
    incident: Workflow


class Downgrade(Strict):
    source: str = Field(alias="from")
    target: str = Field(alias="to")


class Mitigation(Strict):
    downgrades: list[Downgrade] = Field(default_factory=list)
    note_required: bool = True
    restart_clock: bool = Field(
        default=True, description="targets of the new level count from the mitigation"
    )


class Person(Strict):
    handle: Name
    name: str
    title: str = ""
    email: str | None = None


class Role(Strict):
    name: Name
    title: str = ""
    description: str = ""


class DistinctRoles(Strict):
    distinct: list[str] = Field(min_length=2, description="roles one person may not hold at once")


class IncidentType(Strict):
    name: Name
    title: str = ""
    description: str = ""
    private: bool = False
    roles: list[str] = Field(min_length=1, description="roles an incident of this type has")
    lead_role: str | None = Field(default=None, description="the role that commands; first role")
    declarer_role: str | None = Field(
        default=None, description="the role the person who declares takes (2i2c's steward)"
    )
    assignees: dict[str, str] = Field(
        default_factory=dict, description="role → person handle, filled at declaration"
    )


class Incidents(Strict):
    criteria: list[Criterion] = Field(default_factory=list)
    types: list[IncidentType] = Field(min_length=1)
    default_type: str | None = None
    default_severity: str | None = None
    lead_window_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description="when the rotation's person is off work, the lead goes to whoever has led "
        "the fewest incidents over this many days (Openverse)",
    )


class Label(Strict):
    name: str = Field(min_length=1)
    description: str = ""


class OwningTeam(Strict):
    name: Name
    tech_lead: str


class ServiceOwner(Strict):
    service: str = Field(min_length=1)
    team: str


class Ownership(Strict):
    teams: list[OwningTeam] = Field(default_factory=list)
    services: list[ServiceOwner] = Field(default_factory=list)
    catch_all: str | None = Field(default=None, description="team owning unknown services")


TECH_LEAD = "$tech_lead"


class ImpactCategory(Strict):
    name: Name
    title: str = ""
    description: str = ""
    contacts: list[str] = Field(
        min_length=1, description=f"person handles, or {TECH_LEAD} for the owning team's lead"
    )
    all_at_once: bool = True
    level: str | None = None
    labels: list[Name] = Field(
        default_factory=list,
        description="other values of an alert's `impact` label that name this category",
    )
    page_at_once: bool = Field(
        default=True,
        description="page the contacts as soon as an alert names the category; false for a "
        "category dealt with later (Caseflow's annoying errors, told in a batch)",
    )

    def named_by(self, impact: str | None) -> bool:
        """Whether an alert's `impact` label names this category."""
        return impact is not None and (impact == self.name or impact in self.labels)


class PageLimits(Strict):
    """In a storm nobody's phone melts: at most `max_pages` per person and contact method per
    window; the rest are bundled into one summary."""

    max_pages: int = Field(default=5, ge=1)
    window_minutes: int = Field(default=15, ge=1)


class Grouping(Strict):
    """In a storm, `alerts` new alerts of one service within `seconds` join one ticket."""

    alerts: int = Field(ge=2)
    seconds: int = Field(ge=1)


class AlertHandling(Strict):
    """What alert intake does with this team's alerts."""

    labels: list[str] = Field(
        default_factory=list, description="labels put on every ticket opened from an alert"
    )
    fingerprint: list[str] = Field(
        default_factory=lambda: ["service", "title", "labels"],
        description="what identifies an alert whose source sends no key of its own: "
        "service, title, source, severity, labels, or labels.NAME",
    )
    on_resolved: Literal["resolve", "annotate"] = Field(
        default="annotate",
        description="when the source says the alert resolved: move the ticket to "
        "`resolve_to`, or only comment on it",
    )
    resolve_to: str | None = Field(default=None, description="a closed ticket state")
    levels_by_severity: dict[str, str] = Field(
        default_factory=dict,
        description="the level of an alert no rule classifies, by its source's severity "
        "(PagerDuty's critical/error/warning/info, an Alertmanager `severity` label)",
    )
    grouping: Grouping | None = None


class Policy(Strict):
    fireline: Literal[1] = Field(description="policy language version")
    name: Name
    title: str = ""
    description: str = ""
    source: str = ""
    calendar: Calendar
    levels: list[Level] = Field(min_length=1)
    issue_types: list[IssueType] = Field(default_factory=list)
    classification: Classification = Classification()
    incidents: Incidents
    workflows: Workflows
    mitigation: Mitigation = Mitigation()
    people: list[Person] = Field(default_factory=list)
    roles: list[Role] = Field(min_length=1)
    role_constraints: list[DistinctRoles] = Field(default_factory=list)
    labels: list[Label] = Field(default_factory=list)
    ownership: Ownership = Ownership()
    impact_categories: list[ImpactCategory] = Field(default_factory=list)
    page_limits: PageLimits = PageLimits()
    alerts: AlertHandling = AlertHandling()

    def level(self, name: str) -> Level:
        """The level called `name`; `UnknownLevel` lists the levels there are."""
        for level in self.levels:
            if level.name == name:
                return level
        raise UnknownLevel(name, [level.name for level in self.levels])

    def downgrades_from(self, name: str) -> list[str]:
        return [d.target for d in self.mitigation.downgrades if d.source == name]


class UnknownLevel(ValueError):
    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        self.known = known
        super().__init__(f"unknown level {name!r}; levels: {', '.join(known)}")


__all__ = [
    "TECH_LEAD",
    "Calendar",
    "Condition",
    "Example",
    "IncidentType",
    "Level",
    "Paging",
    "Policy",
    "Rule",
    "Target",
    "Workflow",
]

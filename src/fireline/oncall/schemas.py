"""API shapes for schedules, overrides, absences and on-call answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from fireline.oncall.rotation import ShiftUnit


class LayerSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=80)
    members: list[str] = Field(description="handles, in rotation order")
    start: AwareDatetime = Field(
        description="the first hand-off; its local time is the "
        "hand-off time of day for daily and weekly rotations"
    )
    unit: ShiftUnit = ShiftUnit.weeks
    length: int = Field(default=1, ge=1, le=10_000)
    business_hours_only: bool = Field(default=False, description="duty only in working hours")


class NewSchedule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")
    name: str = Field(min_length=1)
    timezone: str
    team: str | None = Field(
        default=None, description="its policy's calendar sets business hours and holidays"
    )
    fallback: str | None = Field(default=None, description="paged when the schedule has a gap")
    layers: list[LayerSpec] = Field(min_length=1, description="primary first")


class LayerView(BaseModel):
    name: str
    members: list[str]
    start: datetime
    unit: ShiftUnit
    length: int
    business_hours_only: bool


class ScheduleView(BaseModel):
    slug: str
    name: str
    timezone: str
    team: str | None
    fallback: str | None
    layers: list[LayerView]
    deactivated: list[str] = Field(
        default_factory=list,
        description="members or fallback who were deactivated: skipped until taken out",
    )


class NewOverride(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person: str
    starts: AwareDatetime
    ends: AwareDatetime
    reason: str = Field(min_length=1, max_length=500)
    layer: str | None = Field(default=None, description="a layer name; none: every layer")


class OverrideView(BaseModel):
    id: int
    person: str
    starts: datetime
    ends: datetime
    reason: str
    layer: str | None
    created_by: str | None


class NewAbsence(BaseModel):
    model_config = ConfigDict(extra="forbid")

    person: str
    starts: AwareDatetime
    ends: AwareDatetime
    reason: str = Field(min_length=1, max_length=500)


class AbsenceView(BaseModel):
    id: int
    person: str
    starts: datetime
    ends: datetime
    reason: str


# Plain dataclasses, not models: who is on call answers a thousand schedules at a time from
# values the service computed itself, nothing to validate; FastAPI validates and serialises
# them once on the way out. No docstrings: the JSON schema stays the models' one exactly.
@dataclass(slots=True, kw_only=True)
class DutyView:
    layer: str
    person: str | None
    reason: str
    detail: str


@dataclass(slots=True, kw_only=True)
class OnCallView:
    schedule: str
    at: datetime
    responder: str | None
    reason: str
    detail: str
    held_until: datetime | None
    layers: list[DutyView]


class SpanView(BaseModel):
    layer: str
    person: str | None
    reason: str
    detail: str
    starts: datetime
    ends: datetime

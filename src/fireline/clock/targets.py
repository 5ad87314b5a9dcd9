"""A level's due-bys: its targets on the team's calendar, honouring its paging mode."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fireline.clock.business import BusinessCalendar
from fireline.policy.schema import Level, Paging


@dataclass(frozen=True, slots=True)
class LevelDueBys:
    response: datetime | None
    resolution: datetime | None


def level_due_bys(calendar: BusinessCalendar, level: Level, start: datetime) -> LevelDueBys:
    """Response and resolution due-bys of `level` counted from `start`.

    A level that pages only in working hours starts its clocks at the next working-hours
    start: Caseflow's errors after close of business are due for review the next morning,
    not overdue all night.
    """
    begin = calendar.next_working_start(start) if level.paging is Paging.working_hours else start
    return LevelDueBys(
        response=calendar.due_by(level.response, begin) if level.response else None,
        resolution=calendar.due_by(level.resolution, begin) if level.resolution else None,
    )

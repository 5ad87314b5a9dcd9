"""Every table, imported in one place so Alembic and tests see the whole schema."""

from fireline.auth.models import ApiToken, User
from fireline.incidents.models import Incident, IncidentMember, RoleAssignment
from fireline.oncall.models import AbsenceRow, LayerRow, OverrideRow, ScheduleRow
from fireline.orgs.models import Organisation, PolicyVersion, Team
from fireline.store.base import Base
from fireline.tickets.models import Comment, Link, PriorityChange, Ticket
from fireline.timeline.models import Event

__all__ = [
    "AbsenceRow",
    "ApiToken",
    "Base",
    "Comment",
    "Event",
    "Incident",
    "IncidentMember",
    "LayerRow",
    "Link",
    "Organisation",
    "OverrideRow",
    "PolicyVersion",
    "PriorityChange",
    "RoleAssignment",
    "ScheduleRow",
    "Team",
    "Ticket",
    "User",
]

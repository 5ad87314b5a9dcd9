"""Every table, imported in one place so Alembic and tests see the whole schema."""

from fireline.auth.models import ApiToken, User, WebSession
from fireline.engine.models import EngineInstance
from fireline.escalation.models import Escalation, EscalationPolicyRow, StepRow, Timer
from fireline.incidents.models import Incident, IncidentMember, RoleAssignment
from fireline.intake.models import AlertRow, Heartbeat, Integration, SilenceRow
from fireline.notify.models import ContactMethod, InboxMessage, NotificationRule, OutboxMessage
from fireline.oncall.models import AbsenceRow, LayerRow, OverrideRow, ScheduleRow
from fireline.orgs.models import Organisation, PolicyVersion, Team
from fireline.statuspage.models import StatusComponent, StatusNotice, StatusUpdate
from fireline.store.base import Base
from fireline.tickets.models import Comment, GroupedAlert, Link, PriorityChange, Ticket
from fireline.timeline.models import Event

__all__ = [
    "AbsenceRow",
    "AlertRow",
    "ApiToken",
    "Base",
    "Comment",
    "ContactMethod",
    "EngineInstance",
    "Escalation",
    "EscalationPolicyRow",
    "Event",
    "GroupedAlert",
    "Heartbeat",
    "InboxMessage",
    "Incident",
    "IncidentMember",
    "Integration",
    "LayerRow",
    "Link",
    "NotificationRule",
    "Organisation",
    "OutboxMessage",
    "OverrideRow",
    "PolicyVersion",
    "PriorityChange",
    "RoleAssignment",
    "ScheduleRow",
    "SilenceRow",
    "StatusComponent",
    "StatusNotice",
    "StatusUpdate",
    "StepRow",
    "Team",
    "Ticket",
    "Timer",
    "User",
    "WebSession",
]

"""All mapped classes, imported here so that Base.metadata knows every table."""

from app.models.admin import AuditEntry, PasswordLink, UnitRole
from app.models.cases import Case, CaseContact, CaseEvent, CaseHandler, Publication
from app.models.duty import OfficerMove, RosterException, RosterShift, ServedDay, StaleBucket
from app.models.feedback import DailySalt, Response
from app.models.indicators import (
    AggregationState,
    ApiToken,
    Digest,
    Indicator,
    JobRun,
    SchedulerLock,
    WaitMinutes,
)
from app.models.kiosk import Kiosk, KioskCall, KioskPairing, KioskPending, KioskQuarantine
from app.models.loop import CalendarDay, Dialogue, ImprovementAction
from app.models.org import Counter, CounterToken, OpeningHours, Service, Unit
from app.models.people import Assignment, Officer, User
from app.models.survey import SurveyVersion

__all__ = [
    "Case",
    "CaseContact",
    "CaseEvent",
    "CaseHandler",
    "Publication",
    "CalendarDay",
    "Dialogue",
    "ImprovementAction",
    "Kiosk",
    "KioskCall",
    "KioskPairing",
    "KioskPending",
    "KioskQuarantine",
    "AuditEntry",
    "OfficerMove",
    "OpeningHours",
    "PasswordLink",
    "RosterException",
    "RosterShift",
    "ServedDay",
    "StaleBucket",
    "UnitRole",
    "AggregationState",
    "ApiToken",
    "Digest",
    "Indicator",
    "JobRun",
    "SchedulerLock",
    "WaitMinutes",
    "Assignment",
    "Counter",
    "CounterToken",
    "DailySalt",
    "Officer",
    "Response",
    "Service",
    "SurveyVersion",
    "Unit",
    "User",
]

"""All mapped classes, imported here so that Base.metadata knows every table."""

from app.models.feedback import DailySalt, Response
from app.models.indicators import (
    AggregationState,
    ApiToken,
    Digest,
    Indicator,
    JobRun,
    SchedulerLock,
    ServedCount,
    WaitMinutes,
)
from app.models.org import Counter, CounterToken, Service, Unit
from app.models.people import Assignment, Officer, User
from app.models.survey import SurveyVersion

__all__ = [
    "AggregationState",
    "ApiToken",
    "Digest",
    "Indicator",
    "JobRun",
    "SchedulerLock",
    "ServedCount",
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

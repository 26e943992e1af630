"""Scheduled jobs, each a function of its time window: aggregation, digests, housekeeping."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.aggregation import apply_indicators, compute_indicators
from app.db import Database


@dataclass(frozen=True)
class AggregationRun:
    """What one aggregation run did."""

    full: bool
    buckets: int
    rows: int
    watermark: datetime


def run_aggregation(db: Database, *, now: datetime, full: bool = False) -> AggregationRun:
    """One aggregation pass: compute from a read snapshot, then write in one short transaction."""
    with db.session_scope(write=False) as session:
        computation = compute_indicators(session, now=now, full=full)
    with db.session_scope() as session:
        rows = apply_indicators(session, computation, now=now)
    return AggregationRun(computation.full, computation.bucket_count, rows, computation.until)

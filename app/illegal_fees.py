"""The illegal-fee signal: citizens who rate the cost of a free service (fee 0) anything but
"Gratis" say they paid for it (pungli). Counted per service and per counter from the stored
indicators (``paid_free``)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Counter, Service
from app.period_totals import period_totals
from app.summary_period import SummaryPeriod


@dataclass(frozen=True)
class PaidForFree:
    """How many citizens said they paid for a free service (``count`` of ``n`` responses),
    in one service (``scope`` is "service") or at one counter ("counter"). A counter's count
    points to the officer who staffs it: for unit heads and administrators only."""

    scope: str
    code: str
    name: str
    count: int
    n: int  # the scope's responses in the period (unflagged)


def paid_for_free(session: Session, unit_id: int, period: SummaryPeriod
                  ) -> tuple[PaidForFree, ...]:
    """A unit's services, then its counters, with at least one citizen saying they paid for
    a free service in ``period``, by code."""
    found: list[PaidForFree] = []
    for scope, model in (("service", Service), ("counter", Counter)):
        totals = {sid: t for sid, t
                  in period_totals(session, period, scope, unit_ids=[unit_id]).items()
                  if t.paid_free > 0}
        if not totals:
            continue
        rows = session.execute(select(model.id, model.code, model.name)
                               .where(model.id.in_(sorted(totals))).order_by(model.code))
        found += [PaidForFree(scope, code, name, totals[sid].paid_free, totals[sid].n)
                  for sid, code, name in rows]
    return tuple(found)

"""The job scheduler process (`flask --app app scheduler`), never run inside web workers."""

from __future__ import annotations

import logging
import signal
from types import FrameType

from apscheduler.schedulers.blocking import BlockingScheduler

from app.config import Settings

log = logging.getLogger(__name__)


def build_scheduler(settings: Settings) -> BlockingScheduler:
    """A scheduler in local time whose jobs coalesce and never overlap themselves.

    Jobs are added by the domain issues that need them (aggregation, digests, housekeeping).
    """
    return BlockingScheduler(
        timezone=settings.tz,
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
    )


def run_scheduler(settings: Settings) -> None:
    """Run until SIGINT or SIGTERM, then shut down cleanly."""
    scheduler = build_scheduler(settings)

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("scheduler: signal %s, shutting down", signum)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    log.info("scheduler: started with %d job(s)", len(scheduler.get_jobs()))
    scheduler.start()

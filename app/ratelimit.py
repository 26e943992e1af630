"""An in-process rate-limit store for Flask-Limiter that does not start a thread per burst.

``limits``' MemoryStorage schedules a 10 ms timer thread to expire keys whenever none is
running, which under steady traffic means a new thread every few requests. Counting is
correct without it (expired keys are dropped when read); here the clean-up runs inline at
most once a second instead. Use ``lazymemory://`` (the default); ``redis://`` shares limits
between processes.
"""

from __future__ import annotations

import time
from typing import Any

from limits.storage import MemoryStorage


class LazyExpiryMemoryStorage(MemoryStorage):
    """MemoryStorage whose expiry sweep runs inline, at most once per second."""

    STORAGE_SCHEME = ["lazymemory"]
    SWEEP_EVERY = 1.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False,
                 **options: Any) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._next_sweep = 0.0

    def _MemoryStorage__schedule_expiry(self) -> None:  # noqa: N802 (overrides a private name)
        now = time.time()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_EVERY
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]  # private in limits

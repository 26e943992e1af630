"""The service under gunicorn, as the container runs it, with its worker or master killed by
``kill -9`` and the server started again as a restart policy would."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import IO

from bench.throughput import ROOT, WORKERS, gunicorn, wait_for, workers

READY_TIMEOUT = 60.0
ORPHAN_GRACE = 5.0  # seconds the killed master's workers get to exit by themselves


def alive(pid: int) -> bool:
    """Whether process ``pid`` is running (a zombie waiting to be reaped is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


class Server:
    """``app:create_app()`` under gunicorn on ``port``; its messages go to ``log``."""

    def __init__(self, port: int, env: dict[str, str], log: IO[bytes]) -> None:
        self.port, self.env, self.log = port, env, log
        self.orphans: list[int] = []
        self.master = self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        return gunicorn("app:create_app()", self.port, self.env, ROOT, self.log)

    def workers(self) -> list[int]:
        try:
            return [int(pid) for pid in workers(self.master)]
        except OSError:  # the master is gone
            return []

    def _wait_workers(self, timeout: float, without: int | None = None) -> list[int]:
        """Wait until the master has all its workers (none of them ``without``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.master.poll() is not None:
                raise RuntimeError(f"gunicorn exited with status {self.master.returncode}")
            current = self.workers()
            if len(current) == WORKERS and without not in current:
                return current
            time.sleep(0.05)
        raise RuntimeError(f"gunicorn had no {WORKERS} workers after {timeout:.0f} s")

    def wait_ready(self) -> None:
        self._wait_workers(READY_TIMEOUT)
        wait_for(self.port, timeout=READY_TIMEOUT)

    def kill_worker(self) -> str:
        """``kill -9`` one worker; wait for the master to replace it."""
        victim = self.workers()[0]
        os.kill(victim, signal.SIGKILL)
        began = time.monotonic()
        current = self._wait_workers(READY_TIMEOUT, without=victim)
        return f"kill -9 worker {victim}: the master replaced it " \
               f"({', '.join(map(str, current))}) in {time.monotonic() - began:.1f} s"

    def kill_master(self) -> str:
        """``kill -9`` the master; start the server again until it serves on the port."""
        dead, self.orphans = self.master.pid, self.workers()
        os.kill(dead, signal.SIGKILL)
        self.master.wait()
        began = time.monotonic()
        starts, killed = 0, 0
        while True:
            if not killed and time.monotonic() - began > ORPHAN_GRACE:
                killed = self._kill_orphans()  # what the end of a container does at once
            self.master, starts = self._start(), starts + 1
            try:
                self._wait_workers(READY_TIMEOUT)
                break
            except RuntimeError:
                if self.master.poll() is None or time.monotonic() - began > READY_TIMEOUT:
                    raise
                # It could not bind the port, which the old workers still hold: again.
        wait_for(self.port, timeout=READY_TIMEOUT)  # the new workers answer (the old are gone)
        serving = time.monotonic() - began
        while any(alive(pid) for pid in self.orphans) and \
                time.monotonic() - began < ORPHAN_GRACE:
            time.sleep(0.05)
        killed = killed or self._kill_orphans()
        fate = (f"{killed} of them killed after {ORPHAN_GRACE:.0f} s" if killed
                else "they exited by themselves")
        return f"kill -9 master {dead} (workers {', '.join(map(str, self.orphans))}: " \
               f"{fate}); started again: master {self.master.pid} serving after " \
               f"{serving:.1f} s ({starts} start(s))"

    def _kill_orphans(self) -> int:
        """``kill -9`` the killed master's workers still running; how many there were."""
        left = [pid for pid in self.orphans if alive(pid)]
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        return len(left)

    def stop(self) -> None:
        """Stop the server (and any worker left over from a killed master)."""
        if self.master.poll() is None:
            self.master.terminate()
            try:
                self.master.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.master.kill()
                self.master.wait()
        self._kill_orphans()

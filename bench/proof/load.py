"""The proof's clients (kiosk answers, each retried under its own id until acknowledged) and
its accounting of acknowledged, stored, lost and doubled."""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

REQUEST_TIMEOUT = 15.0  # seconds without an answer before a submission is sent again
FIRST_BACKOFF, MAX_BACKOFF = 0.1, 2.0
PAUSE = 0.05  # between one client's submissions, so that 50 clients do not spin the CPU
RESEND_EVERY = 4  # every fourth acknowledged submission is sent once more


@dataclass(frozen=True)
class Tally:
    """What the clients were told beside what the database holds."""

    sent: int  # distinct ids sent
    acknowledged: int  # distinct ids answered 2xx
    stored: int  # rows
    lost: int  # acknowledged ids with no row
    doubled: int  # rows beyond one per id sent: an id stored twice, an id never sent, others
    stored_unacknowledged: int  # rows of ids sent but never acknowledged (answer lost)
    created_twice: int  # ids answered 201 (created) more than once

    @property
    def ok(self) -> bool:
        return not (self.lost or self.doubled or self.created_twice)


def account(sent: Iterable[uuid.UUID], acknowledged: Iterable[uuid.UUID],
            created: Iterable[uuid.UUID], stored: Iterable[uuid.UUID], *,
            other_new_rows: int = 0) -> Tally:
    """Compare the clients' records with the stored rows' ids (one entry per row).
    ``other_new_rows``: rows that appeared elsewhere than where the proof writes."""
    sent_ids, acked = set(sent), set(acknowledged)
    rows = Counter(stored)
    doubled = sum(n - 1 if key in sent_ids else n for key, n in rows.items())
    return Tally(
        sent=len(sent_ids), acknowledged=len(acked), stored=sum(rows.values()),
        lost=len(acked - rows.keys()), doubled=doubled + other_new_rows,
        stored_unacknowledged=len((rows.keys() & sent_ids) - acked),
        created_twice=sum(1 for n in Counter(created).values() if n > 1))


@dataclass(frozen=True)
class Target:
    """Where the clients send: the server's port, the kiosk's credential, its counter."""

    port: int
    credential: str
    counter: str


@dataclass
class Record:
    """What the clients sent and were answered, all of them together."""

    sent: list[uuid.UUID] = field(default_factory=list)
    acknowledged: list[uuid.UUID] = field(default_factory=list)
    created: list[uuid.UUID] = field(default_factory=list)  # one entry per 201
    attempts: int = 0
    retried: Counter[str] = field(default_factory=Counter)  # why: "no answer (…)", "HTTP 503"
    refused: list[str] = field(default_factory=list)
    resent: int = 0
    given_up: int = 0

    def merge(self, other: Record) -> None:
        self.sent += other.sent
        self.acknowledged += other.acknowledged
        self.created += other.created
        self.attempts += other.attempts
        self.retried += other.retried
        self.refused += other.refused
        self.resent += other.resent
        self.given_up += other.given_up

    def lines(self) -> list[str]:
        why = ", ".join(f"{reason} {n}" for reason, n in self.retried.most_common()) or "none"
        lines = [f"requests {self.attempts}; sent again after a failure: {why}",
                 f"acknowledged ids sent once more: {self.resent}; ids given up unanswered "
                 f"after the grace time: {self.given_up}"]
        if self.refused:
            lines.append(f"refused {len(self.refused)}, first: {self.refused[0]}")
        return lines


def post(port: int, path: str, body: object, credential: str | None = None
         ) -> tuple[int | None, str]:
    """POST JSON on a new connection: the status (None without an answer) and the body
    (or the reason there was none)."""
    headers = {"Content-Type": "application/json"}
    if credential:
        headers["Authorization"] = f"Bearer {credential}"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        conn.request("POST", path, body=json.dumps(body), headers=headers)
        response = conn.getresponse()
        return response.status, response.read().decode(errors="replace")
    except (OSError, http.client.HTTPException) as error:
        return None, type(error).__name__
    finally:
        conn.close()


def kiosk_answer(counter: str, rng: random.Random) -> dict[str, object]:
    """One kiosk session's answer under a new id (good scores: no complaint case opens)."""
    now = datetime.now(UTC)
    return {"id": str(uuid.uuid4()), "counter": counter,
            "answers": {f"U{i}": rng.choice((3, 4)) for i in range(1, 10)},
            "wait_band": "15-30", "started_at": (now - timedelta(seconds=40)).isoformat(),
            "submitted_at": now.isoformat()}


def deliver(target: Target, body: dict[str, object], record: Record, give_up_at: float,
            rng: random.Random) -> int | None:
    """Send ``body`` until it is answered 2xx: that status; None when refused or given up."""
    backoff = FIRST_BACKOFF
    while True:
        record.attempts += 1
        status, detail = post(target.port, "/api/v1/responses", body, target.credential)
        if status is not None and 200 <= status < 300:
            return status
        if status is not None and 400 <= status < 500 and status != 429:
            record.refused.append(f"HTTP {status}: {detail[:200]}")
            return None
        record.retried[f"HTTP {status}" if status else f"no answer ({detail})"] += 1
        if time.monotonic() + backoff > give_up_at:
            record.given_up += 1
            return None
        time.sleep(backoff * rng.uniform(0.5, 1.0))
        backoff = min(backoff * 2, MAX_BACKOFF)


def client(target: Target, load_until: float, faults_done: threading.Event, grace: float,
           record: Record, seed: int) -> None:
    """Submit until the load time is over and the faults are done; retry each until
    acknowledged; send every RESEND_EVERY-th acknowledged one once more."""
    rng = random.Random(seed)  # noqa: S311 (scores, jitter: not secrets)
    acknowledged = 0
    while time.monotonic() < load_until or not faults_done.is_set():
        body = kiosk_answer(target.counter, rng)
        client_id = uuid.UUID(str(body["id"]))
        record.sent.append(client_id)
        give_up_at = max(load_until, time.monotonic()) + grace
        status = deliver(target, body, record, give_up_at, rng)
        if record.refused:
            return  # the proof is broken (auth, validation): stop, do not hammer
        if status is None:
            continue
        record.acknowledged.append(client_id)
        record.created += [client_id] if status == 201 else []
        acknowledged += 1
        if acknowledged % RESEND_EVERY == 0:
            record.resent += 1
            if deliver(target, body, record, give_up_at, rng) == 201:
                record.created.append(client_id)
        time.sleep(PAUSE)


def run_clients(target: Target, count: int, load_until: float, faults_done: threading.Event,
                grace: float) -> Record:
    """``count`` clients at once until they stop; their records merged."""
    records = [Record() for _ in range(count)]
    threads = [threading.Thread(target=client, args=(target, load_until, faults_done, grace,
                                                     records[i], i)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = Record()
    for record in records:
        total.merge(record)
    return total

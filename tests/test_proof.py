"""The proof's arithmetic (acknowledged, stored, lost, doubled) on fabricated records, and its
client's retries against a stub server; the proof itself is `make proof`."""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.proof import load
from bench.proof.load import Record, Target, account, deliver

A, B, C, D, E, X = (uuid.UUID(int=n) for n in range(1, 7))


def test_a_clean_run_has_nothing_lost_or_doubled() -> None:
    tally = account(sent=[A, B, C], acknowledged=[A, B, C, A], created=[A, B, C],
                    stored=[A, B, C])
    assert (tally.sent, tally.acknowledged, tally.stored, tally.lost, tally.doubled) == \
        (3, 3, 3, 0, 0)
    assert tally.ok


def test_an_acknowledged_id_without_a_row_is_lost() -> None:
    tally = account(sent=[A, B, C], acknowledged=[A, B, C], created=[A, B, C], stored=[A, C])
    assert (tally.stored, tally.lost, tally.doubled) == (2, 1, 0)
    assert not tally.ok


def test_a_row_of_an_unacknowledged_id_is_neither_lost_nor_doubled() -> None:
    """Stored, then the answer was lost in a fault and the client gave up: allowed."""
    tally = account(sent=[A, B, D], acknowledged=[A, B], created=[A, B], stored=[A, B, D])
    assert (tally.lost, tally.doubled, tally.stored_unacknowledged) == (0, 0, 1)
    assert tally.ok


def test_an_unacknowledged_id_without_a_row_is_not_lost() -> None:
    tally = account(sent=[A, E], acknowledged=[A], created=[A], stored=[A])
    assert (tally.sent, tally.acknowledged, tally.lost, tally.doubled) == (2, 1, 0, 0)


def test_an_id_stored_twice_counts_each_extra_row() -> None:
    tally = account(sent=[A, B], acknowledged=[A, B], created=[A, B], stored=[A, A, A, B])
    assert (tally.stored, tally.lost, tally.doubled) == (4, 0, 2)
    assert not tally.ok


def test_rows_of_ids_never_sent_and_rows_elsewhere_are_doubles() -> None:
    tally = account(sent=[A], acknowledged=[A], created=[A], stored=[A, X, X],
                    other_new_rows=3)
    assert tally.doubled == 2 + 3


def test_an_id_answered_created_twice_fails_though_stored_once() -> None:
    tally = account(sent=[A], acknowledged=[A, A], created=[A, A], stored=[A])
    assert (tally.lost, tally.doubled, tally.created_twice) == (0, 0, 1)
    assert not tally.ok


def test_lost_and_doubled_together() -> None:
    tally = account(sent=[A, B, C, D], acknowledged=[A, B, C], created=[A, B, C],
                    stored=[B, B, D, X])
    assert (tally.acknowledged, tally.stored, tally.lost, tally.doubled,
            tally.stored_unacknowledged) == (3, 4, 2, 2, 1)


# The client's retries -------------------------------------------------------------------------


class _Stub(BaseHTTPRequestHandler):
    """Answers POSTs from a script: a status, or None to hang up without answering."""

    script: list[int | None] = []
    bodies: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's name)
        type(self).bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
        status = type(self).script.pop(0) if type(self).script else 201
        if status is None:
            self.close_connection = True
            return
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@dataclass
class Stub:
    handler: type[_Stub]
    port: int

    def deliver(self, record: Record, give_up_in: float = 60) -> int | None:
        rng = random.Random(0)  # noqa: S311 (scores and jitter)
        return deliver(Target(self.port, "ksk_test", "L1"), load.kiosk_answer("L1", rng),
                       record, time.monotonic() + give_up_in, rng)


@pytest.fixture
def stub(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stub]:
    monkeypatch.setattr(load, "FIRST_BACKOFF", 0.0)  # no waiting between retries here
    handler = type("Handler", (_Stub,), {"script": [], "bodies": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Stub(handler, int(server.server_address[1]))
    server.shutdown()
    server.server_close()


def test_a_failed_submission_is_sent_again_unchanged_until_acknowledged(stub: Stub) -> None:
    stub.handler.script = [503, None, 429, 200]
    record = Record()
    assert stub.deliver(record) == 200
    bodies = stub.handler.bodies
    assert len(bodies) == 4 and len(set(bodies)) == 1  # the same id, the same answers
    assert record.attempts == 4
    assert record.retried == {"HTTP 503": 1, "no answer (RemoteDisconnected)": 1,
                              "HTTP 429": 1}
    assert not record.refused


def test_a_refusal_is_recorded_and_not_retried(stub: Stub) -> None:
    stub.handler.script = [422]
    record = Record()
    assert stub.deliver(record) is None
    assert len(stub.handler.bodies) == 1 and len(record.refused) == 1
    assert json.loads(stub.handler.bodies[0])["counter"] == "L1"


def test_a_submission_is_given_up_after_its_deadline(stub: Stub) -> None:
    stub.handler.script = [503] * 3
    record = Record()
    assert stub.deliver(record, give_up_in=-1) is None
    assert record.given_up == 1 and record.attempts == 1

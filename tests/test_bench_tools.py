"""The load generator of bench.throughput counts what it sends (no timing asserted here)."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bench.throughput import OpenLoop, open_loop, open_loop_met, percentile


class _Handler(BaseHTTPRequestHandler):
    """201 for even paths, 500 for odd ones."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(201 if int(self.path.strip("/")) % 2 == 0 else 500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_percentile_is_the_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
    assert percentile([7.0], 0.99) == 7.0


def test_the_open_loop_sends_every_due_operation_and_counts_failures(port: int) -> None:
    def op(conn: http.client.HTTPConnection, i: int) -> None:
        conn.request("GET", f"/{i}")
        response = conn.getresponse()
        response.read()
        if response.status != 201:
            raise RuntimeError(response.status)

    run = open_loop(port, rate=200, seconds=0.1, one=op)
    assert run.sent == 20
    assert len(run.latencies) == 10 and run.errors == 10
    assert run.first_error is not None and "500" in run.first_error
    assert not open_loop_met(run)


def test_the_latency_goal_needs_every_submission_answered() -> None:
    fast = [1.0] * 100
    assert open_loop_met(OpenLoop(100, fast, 0, None, 0.0))
    assert not open_loop_met(OpenLoop(101, fast, 0, None, 0.0))  # one never answered
    assert not open_loop_met(OpenLoop(100, [*fast[:98], 51.0, 51.0], 0, None, 0.0))  # p99 51 ms

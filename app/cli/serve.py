"""`flask --app app serve` and `scheduler`: the development server and the job scheduler."""

from __future__ import annotations

import signal
import subprocess
import sys

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from werkzeug.serving import run_simple

from app.config import ALL_INTERFACES, serving_urls
from app.extensions import settings


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the job scheduler in this process until interrupted."""
    from app.scheduler import run_scheduler  # APScheduler stays out of the web processes

    run_scheduler(settings())


@click.command("serve")
@with_appcontext
@click.option("--host", default=None,
              help="Address to listen on (default: the HOST setting, 127.0.0.1; 0.0.0.0 for "
                   "every interface, so that phones on the network reach the demo).")
@click.option("--no-scheduler", is_flag=True, help="Serve the web only.")
def serve_command(host: str | None, no_scheduler: bool) -> None:
    """Development server on HOST:PORT with the scheduler beside it; Ctrl-C stops both."""
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    config = settings()
    host = host or config.host
    urls = serving_urls(host, config.port)

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt  # SIGTERM too stops the server and then the scheduler

    previous = signal.signal(signal.SIGTERM, interrupt)
    child = None
    if not no_scheduler:
        child = subprocess.Popen(  # noqa: S603 (our own interpreter and module)
            [sys.executable, "-m", "flask", "--app", "app", "scheduler"]
        )
    try:
        click.echo(f"Suara Warga on {'  '.join(urls)}  (Ctrl-C stops)")
        if host == ALL_INTERFACES and len(urls) == 1:
            click.echo("note: no network address of this machine was found, so phones "
                       "cannot reach it; set PUBLIC_BASE_URL to an address they can reach.")
        # app.run() refuses to block inside the flask CLI; werkzeug's server is what it wraps.
        run_simple(host, config.port, app, threaded=True)
    finally:
        signal.signal(signal.SIGTERM, previous)
        if child is not None:
            child.send_signal(signal.SIGINT)
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()

"""`flask --app app …` commands, one module per group: thin wrappers over the domain modules."""

from __future__ import annotations

from flask import Flask


def register_cli(app: Flask) -> None:
    """Attach every command group to the application."""
    from app.cli import (
        demo,
        exports,
        indicators,
        migrations,
        officers,
        org,
        posters,
        serve,
        served,
        surveys,
        tokens,
        users,
    )

    for command in (migrations.db_cli, surveys.surveys_cli, demo.demo_command,
                    org.counters_command, officers.officers_cli, users.users_cli,
                    tokens.tokens_cli, exports.export_cli, posters.qr_command,
                    indicators.aggregate_command, indicators.indicators_command,
                    serve.serve_command, serve.scheduler_command, served.served_cli):
        app.cli.add_command(command)

"""`flask --app app …` commands, one module per group: thin wrappers over the domain modules."""

from __future__ import annotations

from flask import Flask


def register_cli(app: Flask) -> None:
    """Attach every command group to the application."""
    from app.cli import (
        backups,
        cases,
        demo,
        digests,
        duty,
        exports,
        indicators,
        kiosks,
        migrations,
        officers,
        org,
        posters,
        report,
        serve,
        served,
        surveys,
        tokens,
        users,
        workdays,
    )

    for command in (migrations.db_cli, surveys.surveys_cli, demo.demo_command,
                    org.counters_command, org.org_cli, officers.officers_cli, users.users_cli,
                    tokens.tokens_cli, exports.export_cli, posters.qr_command,
                    posters.qr_reissue_command, posters.qr_sheet_command,
                    indicators.aggregate_command, indicators.indicators_command,
                    serve.serve_command, serve.scheduler_command, duty.duty_cli,
                    served.served_cli, kiosks.kiosks_cli, workdays.workdays_cli,
                    digests.digest_cli, backups.backup_command,
                    backups.restore_command, cases.cases_cli, report.report_command):
        app.cli.add_command(command)

"""indicators and jobs

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

from __future__ import annotations

import os
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

import app.db

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('aggregation_state',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('watermark', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_run_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_full_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_aggregation_state'))
    )
    op.create_table('job_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job', sa.String(length=32), nullable=False),
    sa.Column('holder', sa.String(length=128), nullable=False),
    sa.Column('started_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs'))
    )
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.create_index('ix_job_runs_job_started', ['job', 'started_at'], unique=False)

    op.create_table('scheduler_locks',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('holder', sa.String(length=128), nullable=False),
    sa.Column('heartbeat_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_scheduler_locks'))
    )
    op.create_table('digests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body_text', sa.Text(), nullable=False),
    sa.Column('recipients', sa.Text(), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_digests_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_digests')),
    sa.UniqueConstraint('unit_id', 'week_start', name=op.f('uq_digests_unit_id_week_start'))
    )
    op.create_table('indicators',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=8), nullable=False),
    sa.Column('scope_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('period_kind', sa.String(length=8), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('survey_version_id', sa.Integer(), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('sum_u1', sa.Integer(), nullable=False),
    sa.Column('sum_u2', sa.Integer(), nullable=False),
    sa.Column('sum_u3', sa.Integer(), nullable=False),
    sa.Column('sum_u4', sa.Integer(), nullable=False),
    sa.Column('sum_u5', sa.Integer(), nullable=False),
    sa.Column('sum_u6', sa.Integer(), nullable=False),
    sa.Column('sum_u7', sa.Integer(), nullable=False),
    sa.Column('sum_u8', sa.Integer(), nullable=False),
    sa.Column('sum_u9', sa.Integer(), nullable=False),
    sa.Column('sum_total_sq', sa.Integer(), nullable=False),
    sa.Column('ikm_hundredths', sa.Integer(), nullable=True),
    sa.Column('category', sa.String(length=1), nullable=True),
    sa.Column('wait_lt5', sa.Integer(), nullable=False),
    sa.Column('wait_5_15', sa.Integer(), nullable=False),
    sa.Column('wait_15_30', sa.Integer(), nullable=False),
    sa.Column('wait_30_60', sa.Integer(), nullable=False),
    sa.Column('wait_60_120', sa.Integer(), nullable=False),
    sa.Column('wait_gt120', sa.Integer(), nullable=False),
    sa.Column('measured_n', sa.Integer(), nullable=False),
    sa.Column('measured_median', sa.Integer(), nullable=True),
    sa.Column('measured_p90', sa.Integer(), nullable=True),
    sa.Column('measured_within_60', sa.Integer(), nullable=False),
    sa.Column('flagged', sa.Integer(), nullable=False),
    sa.Column('comments', sa.Integer(), nullable=False),
    sa.Column('computed_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("period_kind IN ('day', 'week', 'month')", name=op.f('ck_indicators_period_known')),
    sa.CheckConstraint("scope IN ('unit', 'counter', 'service', 'officer')", name=op.f('ck_indicators_scope_known')),
    sa.CheckConstraint('n >= 0', name=op.f('ck_indicators_n_not_negative')),
    sa.ForeignKeyConstraint(['survey_version_id'], ['survey_versions.id'], name=op.f('fk_indicators_survey_version_id_survey_versions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_indicators_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indicators')),
    sa.UniqueConstraint('scope', 'scope_id', 'period_kind', 'period_start', 'survey_version_id', name='uq_indicators_key')
    )
    with op.batch_alter_table('indicators', schema=None) as batch_op:
        batch_op.create_index('ix_indicators_unit_period', ['unit_id', 'period_kind', 'period_start'], unique=False)

    op.create_table('served_counts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('served', sa.Integer(), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('served >= 0', name=op.f('ck_served_counts_served_not_negative')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_served_counts_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_served_counts')),
    sa.UniqueConstraint('unit_id', 'month', name=op.f('uq_served_counts_unit_id_month'))
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('label', sa.String(length=100), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    # Local period keys for existing responses, cut in TIMEZONE (the service's setting).
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('local_day', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('local_week', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('local_month', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('local_hour', sa.SmallInteger(), nullable=True))
    _backfill_local_periods()
    with op.batch_alter_table('responses', schema=None) as batch_op:
        for column, kind in (('local_day', sa.Date()), ('local_week', sa.Date()),
                             ('local_month', sa.Date()), ('local_hour', sa.SmallInteger())):
            batch_op.alter_column(column, existing_type=kind, nullable=False)
        batch_op.create_index('ix_responses_local_day', ['local_day'], unique=False)
        batch_op.create_index('ix_responses_local_month', ['local_month'], unique=False)
        batch_op.create_index('ix_responses_local_week', ['local_week'], unique=False)
        batch_op.create_index('ix_responses_unit_week', ['unit_id', 'local_week'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_index('ix_responses_unit_week')
        batch_op.drop_index('ix_responses_local_week')
        batch_op.drop_index('ix_responses_local_month')
        batch_op.drop_index('ix_responses_local_day')
        batch_op.drop_column('local_hour')
        batch_op.drop_column('local_month')
        batch_op.drop_column('local_week')
        batch_op.drop_column('local_day')

    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))

    op.drop_table('api_tokens')
    op.drop_table('served_counts')
    with op.batch_alter_table('indicators', schema=None) as batch_op:
        batch_op.drop_index('ix_indicators_unit_period')

    op.drop_table('indicators')
    op.drop_table('digests')
    op.drop_table('scheduler_locks')
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_job_runs_job_started')

    op.drop_table('job_runs')
    op.drop_table('aggregation_state')


def _backfill_local_periods() -> None:
    from app.periods import local_periods

    tz = ZoneInfo(os.environ.get("TIMEZONE") or "Asia/Jakarta")
    bind = op.get_bind()
    responses = sa.table("responses", sa.column("id", sa.Integer),
                         sa.column("created_at", app.db.UTCDateTime()),
                         sa.column("local_day", sa.Date), sa.column("local_week", sa.Date),
                         sa.column("local_month", sa.Date),
                         sa.column("local_hour", sa.SmallInteger))
    rows = bind.execute(sa.select(responses.c.id, responses.c.created_at)).all()
    for response_id, created_at in rows:
        keys = local_periods(created_at, tz)
        bind.execute(responses.update().where(responses.c.id == response_id).values(
            local_day=keys.day, local_week=keys.week, local_month=keys.month,
            local_hour=keys.hour))

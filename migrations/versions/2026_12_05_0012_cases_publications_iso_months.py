"""complaint cases, publications, ISO-week months

A month becomes the ISO weeks whose Thursday falls in it (app.periods): every stored
response's and histogram row's month label is recomputed from its week, and the
aggregation watermark is dropped so that the next run rebuilds every indicator.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op

import app.db

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def _iso_month(week: date) -> date:
    thursday = week + timedelta(days=3)
    return thursday.replace(day=1)


def _relabel_months(table: str, month: str, calendar: bool) -> None:
    """Set each row's month to the month of its week's Thursday (``calendar``: back to
    the calendar month of its day, for the downgrade)."""
    bind = op.get_bind()
    rows = sa.table(table, sa.column('day' if table == 'wait_histogram' else 'local_day', sa.Date),
                    sa.column('week' if table == 'wait_histogram' else 'local_week', sa.Date),
                    sa.column(month, sa.Date))
    day_col = rows.c.day if table == 'wait_histogram' else rows.c.local_day
    week_col = rows.c.week if table == 'wait_histogram' else rows.c.local_week
    if calendar:
        days = [d for (d,) in bind.execute(sa.select(day_col).distinct())]
        for day in days:
            day = day if isinstance(day, date) else date.fromisoformat(str(day))
            bind.execute(rows.update().where(day_col == day).values({month: day.replace(day=1)}))
        return
    weeks = [w for (w,) in bind.execute(sa.select(week_col).distinct())]
    for week in weeks:
        week = week if isinstance(week, date) else date.fromisoformat(str(week))
        bind.execute(rows.update().where(week_col == week).values({month: _iso_month(week)}))


def _rebuild_indicators() -> None:
    # Without a watermark the next aggregation run is a full rebuild of every period.
    op.execute("DELETE FROM aggregation_state")


def upgrade() -> None:
    op.create_table('publications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('period_kind', sa.String(length=8), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('snapshot', sa.Text(), nullable=False),
    sa.Column('published_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('published_by', sa.Integer(), nullable=True),
    sa.Column('withdrawn_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("period_kind IN ('quarter', 'semester', 'year')", name=op.f('ck_publications_period_kind_known')),
    sa.CheckConstraint('revision >= 1', name=op.f('ck_publications_revision_positive')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_publications_unit_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_publications')),
    sa.UniqueConstraint('unit_id', 'period_kind', 'period_start', 'revision', name=op.f('uq_publications_unit_id_period_kind_period_start_revision'))
    )
    op.create_table('case_handlers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_case_handlers_unit_id_units'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_case_handlers_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_handlers')),
    sa.UniqueConstraint('user_id', 'unit_id', name=op.f('uq_case_handlers_user_id_unit_id'))
    )
    with op.batch_alter_table('case_handlers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_handlers_user_id'), ['user_id'], unique=False)

    op.create_table('cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=10), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('reasons', sa.String(length=60), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=True),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('opened_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('verify_due_on', sa.Date(), nullable=False),
    sa.Column('verified_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('verified_on', sa.Date(), nullable=True),
    sa.Column('follow_up_due_on', sa.Date(), nullable=True),
    sa.Column('followed_up_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('closed_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('lapor_number', sa.String(length=40), nullable=True),
    sa.Column('overdue_stage', sa.String(length=12), nullable=True),
    sa.Column('overdue_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reminded_stage', sa.String(length=12), nullable=True),
    sa.Column('public_summary', sa.Text(), nullable=True),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.CheckConstraint("category IS NULL OR category IN ('waiting', 'conduct', 'fee', 'procedure', 'facility', 'information', 'other')", name=op.f('ck_cases_category_known')),
    sa.CheckConstraint("state IN ('new', 'verified', 'followed_up', 'closed')", name=op.f('ck_cases_state_known')),
    sa.CheckConstraint('answer IS NULL OR length(answer) <= 2000', name=op.f('ck_cases_answer_length')),
    sa.CheckConstraint('length(reasons) <= 60 AND length(reasons) > 0', name=op.f('ck_cases_reasons_given')),
    sa.CheckConstraint('public_summary IS NULL OR length(public_summary) <= 2000', name=op.f('ck_cases_public_summary_length')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_cases_owner_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], name=op.f('fk_cases_response_id_responses'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_cases_unit_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('reference', name=op.f('uq_cases_reference')),
    sa.UniqueConstraint('response_id', name=op.f('uq_cases_response_id'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_unit_state', ['unit_id', 'state'], unique=False)

    op.create_table('case_contacts',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('consent_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('purpose', sa.String(length=200), nullable=False),
    sa.CheckConstraint('phone IS NOT NULL OR email IS NOT NULL', name=op.f('ck_case_contacts_some_contact')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_contacts_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('case_id', name=op.f('pk_case_contacts'))
    )
    op.create_table('case_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.CheckConstraint('note IS NULL OR length(note) <= 2000', name=op.f('ck_case_events_note_length')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_events_case_id_cases'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_events'))
    )
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.create_index('ix_case_events_case_at', ['case_id', 'at'], unique=False)

    _relabel_months('responses', 'local_month', calendar=False)
    _relabel_months('wait_histogram', 'month', calendar=False)
    _rebuild_indicators()


def downgrade() -> None:
    _relabel_months('responses', 'local_month', calendar=True)
    _relabel_months('wait_histogram', 'month', calendar=True)
    _rebuild_indicators()
    with op.batch_alter_table('case_events', schema=None) as batch_op:
        batch_op.drop_index('ix_case_events_case_at')

    op.drop_table('case_events')
    op.drop_table('case_contacts')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_unit_state')

    op.drop_table('cases')
    with op.batch_alter_table('case_handlers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_handlers_user_id'))

    op.drop_table('case_handlers')
    op.drop_table('publications')

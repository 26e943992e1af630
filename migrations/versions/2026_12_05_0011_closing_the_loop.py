"""closing the loop: improvement actions (RTL), performance dialogues, calendar days

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.db

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calendar_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('working', sa.Boolean(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_calendar_days'))
    )
    op.create_table('performance_dialogues',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('period_kind', sa.String(length=8), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('went_well', sa.Text(), nullable=False),
    sa.Column('to_improve', sa.Text(), nullable=False),
    sa.Column('agreed_actions', sa.Text(), nullable=False),
    sa.Column('follow_up_on', sa.Date(), nullable=True),
    sa.Column('recorded_by', sa.Integer(), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('acknowledged_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("period_kind IN ('week', 'month')", name=op.f('ck_performance_dialogues_period_kind_known')),
    sa.CheckConstraint('length(went_well) <= 2000 AND length(to_improve) <= 2000 AND length(agreed_actions) <= 2000', name=op.f('ck_performance_dialogues_text_length')),
    sa.ForeignKeyConstraint(['officer_id'], ['officers.id'], name=op.f('fk_performance_dialogues_officer_id_officers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_performance_dialogues_unit_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_performance_dialogues'))
    )
    with op.batch_alter_table('performance_dialogues', schema=None) as batch_op:
        batch_op.create_index('ix_performance_dialogues_officer_held', ['officer_id', 'held_on'], unique=False)

    op.create_table('improvement_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('element', sa.String(length=4), nullable=False),
    sa.Column('counter_id', sa.Integer(), nullable=True),
    sa.Column('service_id', sa.Integer(), nullable=True),
    sa.Column('what', sa.Text(), nullable=False),
    sa.Column('who', sa.String(length=200), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=12), nullable=False),
    sa.Column('published', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("element IN ('U1', 'U2', 'U3', 'U4', 'U5', 'U6', 'U7', 'U8', 'U9')", name=op.f('ck_improvement_actions_element_known')),
    sa.CheckConstraint("state IN ('planned', 'in_progress', 'done', 'dropped')", name=op.f('ck_improvement_actions_state_known')),
    sa.CheckConstraint('due_on >= starts_on', name=op.f('ck_improvement_actions_due_after_start')),
    sa.CheckConstraint('length(what) <= 2000', name=op.f('ck_improvement_actions_what_length')),
    sa.ForeignKeyConstraint(['counter_id'], ['counters.id'], name=op.f('fk_improvement_actions_counter_id_counters'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_improvement_actions_service_id_services'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_improvement_actions_unit_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_improvement_actions'))
    )
    with op.batch_alter_table('improvement_actions', schema=None) as batch_op:
        batch_op.create_index('ix_improvement_actions_unit_starts', ['unit_id', 'starts_on'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('improvement_actions', schema=None) as batch_op:
        batch_op.drop_index('ix_improvement_actions_unit_starts')

    op.drop_table('improvement_actions')
    with op.batch_alter_table('performance_dialogues', schema=None) as batch_op:
        batch_op.drop_index('ix_performance_dialogues_officer_held')

    op.drop_table('performance_dialogues')
    op.drop_table('calendar_days')

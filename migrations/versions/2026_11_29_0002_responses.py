"""responses

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

import app.db

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('daily_salts',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('salt', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_daily_salts'))
    )
    op.create_table('responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('payload_hash', sa.String(length=64), nullable=False),
    sa.Column('survey_version_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('counter_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=True),
    sa.Column('officer_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('received_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('u1', sa.SmallInteger(), nullable=False),
    sa.Column('u2', sa.SmallInteger(), nullable=False),
    sa.Column('u3', sa.SmallInteger(), nullable=False),
    sa.Column('u4', sa.SmallInteger(), nullable=False),
    sa.Column('u5', sa.SmallInteger(), nullable=False),
    sa.Column('u6', sa.SmallInteger(), nullable=False),
    sa.Column('u7', sa.SmallInteger(), nullable=False),
    sa.Column('u8', sa.SmallInteger(), nullable=False),
    sa.Column('u9', sa.SmallInteger(), nullable=False),
    sa.Column('wait_band', sa.String(length=16), nullable=True),
    sa.Column('measured_wait_min', sa.SmallInteger(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('sex', sa.String(length=16), nullable=True),
    sa.Column('age_band', sa.String(length=16), nullable=True),
    sa.Column('education', sa.String(length=32), nullable=True),
    sa.Column('occupation', sa.String(length=32), nullable=True),
    sa.Column('flag_repeat', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('flag_bot', sa.Boolean(), server_default=sa.text('(false)'), nullable=False),
    sa.Column('ip_hash', sa.String(length=64), nullable=True),
    sa.Column('device_hash', sa.String(length=64), nullable=True),
    sa.CheckConstraint("channel IN ('qr', 'kiosk', 'api')", name=op.f('ck_responses_channel_known')),
    sa.CheckConstraint('comment IS NULL OR length(comment) <= 1000', name=op.f('ck_responses_comment_length')),
    sa.CheckConstraint('measured_wait_min IS NULL OR measured_wait_min BETWEEN 0 AND 480', name=op.f('ck_responses_measured_wait_range')),
    sa.CheckConstraint('u1 BETWEEN 1 AND 4', name=op.f('ck_responses_u1_score')),
    sa.CheckConstraint('u2 BETWEEN 1 AND 4', name=op.f('ck_responses_u2_score')),
    sa.CheckConstraint('u3 BETWEEN 1 AND 4', name=op.f('ck_responses_u3_score')),
    sa.CheckConstraint('u4 BETWEEN 1 AND 4', name=op.f('ck_responses_u4_score')),
    sa.CheckConstraint('u5 BETWEEN 1 AND 4', name=op.f('ck_responses_u5_score')),
    sa.CheckConstraint('u6 BETWEEN 1 AND 4', name=op.f('ck_responses_u6_score')),
    sa.CheckConstraint('u7 BETWEEN 1 AND 4', name=op.f('ck_responses_u7_score')),
    sa.CheckConstraint('u8 BETWEEN 1 AND 4', name=op.f('ck_responses_u8_score')),
    sa.CheckConstraint('u9 BETWEEN 1 AND 4', name=op.f('ck_responses_u9_score')),
    sa.ForeignKeyConstraint(['counter_id'], ['counters.id'], name=op.f('fk_responses_counter_id_counters'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['officer_id'], ['officers.id'], name=op.f('fk_responses_officer_id_officers'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_responses_service_id_services'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['survey_version_id'], ['survey_versions.id'], name=op.f('fk_responses_survey_version_id_survey_versions'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_responses_unit_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_responses')),
    sa.UniqueConstraint('client_id', name=op.f('uq_responses_client_id'))
    )
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.create_index('ix_responses_counter_created', ['counter_id', 'created_at'], unique=False)
        batch_op.create_index('ix_responses_device_counter', ['device_hash', 'counter_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_responses_officer_id'), ['officer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_responses_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_responses_service_id'), ['service_id'], unique=False)
        batch_op.create_index('ix_responses_unit_created', ['unit_id', 'created_at'], unique=False)

    # Existing units get an arrival token before the column becomes NOT NULL.
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('arrival_token', sa.String(length=32), nullable=True))
    bind = op.get_bind()
    for (unit_id,) in bind.execute(sa.text("SELECT id FROM units")).all():
        bind.execute(sa.text("UPDATE units SET arrival_token = :t WHERE id = :id"),
                     {"t": secrets.token_urlsafe(12), "id": unit_id})
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.alter_column('arrival_token', existing_type=sa.String(length=32), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_units_arrival_token'), ['arrival_token'])



def downgrade() -> None:
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_units_arrival_token'), type_='unique')
        batch_op.drop_column('arrival_token')

    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_index('ix_responses_unit_created')
        batch_op.drop_index(batch_op.f('ix_responses_service_id'))
        batch_op.drop_index(batch_op.f('ix_responses_received_at'))
        batch_op.drop_index(batch_op.f('ix_responses_officer_id'))
        batch_op.drop_index('ix_responses_device_counter')
        batch_op.drop_index('ix_responses_counter_created')

    op.drop_table('responses')
    op.drop_table('daily_salts')

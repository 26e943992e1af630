"""kiosks: enrolled tablets, their pairing codes, reports, quarantine and calls

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05

Responses gain the kiosk they were answered on, when its session started, and the kiosk
flags fast and burst (kept, left out of the index like repeat and bot).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.db

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('kiosks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('placement', sa.String(length=120), nullable=True),
    sa.Column('credential_hash', sa.String(length=64), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('paired_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('idle_seconds', sa.SmallInteger(), server_default=sa.text('30'), nullable=False),
    sa.Column('countdown_seconds', sa.SmallInteger(), server_default=sa.text('20'), nullable=False),
    sa.Column('fast_seconds', sa.SmallInteger(), server_default=sa.text('7'), nullable=False),
    sa.Column('burst_seconds', sa.SmallInteger(), server_default=sa.text('5'), nullable=False),
    sa.Column('last_seen_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('app_version', sa.String(length=32), nullable=True),
    sa.Column('queue_length', sa.Integer(), nullable=True),
    sa.Column('oldest_unsent_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('quarantined', sa.Integer(), nullable=True),
    sa.Column('battery', sa.SmallInteger(), nullable=True),
    sa.Column('charging', sa.Boolean(), nullable=True),
    sa.Column('clock_offset_ms', sa.BigInteger(), nullable=True),
    sa.CheckConstraint('battery IS NULL OR battery BETWEEN 0 AND 100', name=op.f('ck_kiosks_battery_range')),
    sa.CheckConstraint('burst_seconds BETWEEN 0 AND 120', name=op.f('ck_kiosks_burst_range')),
    sa.CheckConstraint('countdown_seconds BETWEEN 5 AND 120', name=op.f('ck_kiosks_countdown_range')),
    sa.CheckConstraint('fast_seconds BETWEEN 0 AND 120', name=op.f('ck_kiosks_fast_range')),
    sa.CheckConstraint('idle_seconds BETWEEN 10 AND 600', name=op.f('ck_kiosks_idle_range')),
    sa.CheckConstraint('quarantined IS NULL OR quarantined >= 0', name=op.f('ck_kiosks_quarantined_not_negative')),
    sa.CheckConstraint('queue_length IS NULL OR queue_length >= 0', name=op.f('ck_kiosks_queue_not_negative')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_kiosks_unit_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kiosks')),
    sa.UniqueConstraint('credential_hash', name=op.f('uq_kiosks_credential_hash'))
    )
    with op.batch_alter_table('kiosks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kiosks_unit_id'), ['unit_id'], unique=False)

    op.create_table('kiosk_pairings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kiosk_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('expires_at > created_at', name=op.f('ck_kiosk_pairings_expires_after_creation')),
    sa.ForeignKeyConstraint(['kiosk_id'], ['kiosks.id'], name=op.f('fk_kiosk_pairings_kiosk_id_kiosks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kiosk_pairings'))
    )
    with op.batch_alter_table('kiosk_pairings', schema=None) as batch_op:
        batch_op.create_index('ix_kiosk_pairings_code_hash', ['code_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_kiosk_pairings_kiosk_id'), ['kiosk_id'], unique=False)

    op.create_table('kiosk_pending',
    sa.Column('kiosk_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=False),
    sa.Column('reported_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['kiosk_id'], ['kiosks.id'], name=op.f('fk_kiosk_pending_kiosk_id_kiosks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('kiosk_id', 'client_id', name=op.f('pk_kiosk_pending'))
    )
    op.create_table('kiosk_quarantine',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kiosk_id', sa.Integer(), nullable=False),
    sa.Column('client_id', sa.Uuid(), nullable=True),
    sa.Column('status', sa.SmallInteger(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('received_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('status IN (409, 422)', name=op.f('ck_kiosk_quarantine_status_known')),
    sa.ForeignKeyConstraint(['kiosk_id'], ['kiosks.id'], name=op.f('fk_kiosk_quarantine_kiosk_id_kiosks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kiosk_quarantine')),
    sa.UniqueConstraint('kiosk_id', 'client_id', name=op.f('uq_kiosk_quarantine_kiosk_id_client_id'))
    )
    with op.batch_alter_table('kiosk_quarantine', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kiosk_quarantine_kiosk_id'), ['kiosk_id'], unique=False)

    op.create_table('kiosk_services',
    sa.Column('kiosk_id', sa.Integer(), nullable=False),
    sa.Column('service_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['kiosk_id'], ['kiosks.id'], name=op.f('fk_kiosk_services_kiosk_id_kiosks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_id'], ['services.id'], name=op.f('fk_kiosk_services_service_id_services'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('kiosk_id', 'service_id', name=op.f('pk_kiosk_services'))
    )
    op.create_table('kiosk_calls',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kiosk_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('counter_id', sa.Integer(), nullable=True),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('answered_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('answered_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['counter_id'], ['counters.id'], name=op.f('fk_kiosk_calls_counter_id_counters'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['kiosk_id'], ['kiosks.id'], name=op.f('fk_kiosk_calls_kiosk_id_kiosks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_kiosk_calls_unit_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_kiosk_calls'))
    )
    with op.batch_alter_table('kiosk_calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_kiosk_calls_kiosk_id'), ['kiosk_id'], unique=False)
        batch_op.create_index('ix_kiosk_calls_unit_open', ['unit_id', 'answered_at'], unique=False)

    op.create_table('kiosk_counters',
    sa.Column('kiosk_id', sa.Integer(), nullable=False),
    sa.Column('counter_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['counter_id'], ['counters.id'], name=op.f('fk_kiosk_counters_counter_id_counters'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['kiosk_id'], ['kiosks.id'], name=op.f('fk_kiosk_counters_kiosk_id_kiosks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('kiosk_id', 'counter_id', name=op.f('pk_kiosk_counters'))
    )
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flag_fast', sa.Boolean(), server_default=sa.text('false'), nullable=False))
        batch_op.add_column(sa.Column('flag_burst', sa.Boolean(), server_default=sa.text('false'), nullable=False))
        batch_op.add_column(sa.Column('kiosk_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('started_at', app.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_responses_kiosk_id'), ['kiosk_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_responses_kiosk_id_kiosks'), 'kiosks', ['kiosk_id'], ['id'], ondelete='RESTRICT')
        batch_op.create_check_constraint(op.f('ck_responses_kiosk_channel'),
                                         "kiosk_id IS NULL OR channel = 'kiosk'")



def downgrade() -> None:
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_responses_kiosk_channel'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_responses_kiosk_id_kiosks'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_responses_kiosk_id'))
        batch_op.drop_column('started_at')
        batch_op.drop_column('kiosk_id')
        batch_op.drop_column('flag_burst')
        batch_op.drop_column('flag_fast')

    op.drop_table('kiosk_counters')
    with op.batch_alter_table('kiosk_calls', schema=None) as batch_op:
        batch_op.drop_index('ix_kiosk_calls_unit_open')
        batch_op.drop_index(batch_op.f('ix_kiosk_calls_kiosk_id'))

    op.drop_table('kiosk_calls')
    op.drop_table('kiosk_services')
    with op.batch_alter_table('kiosk_quarantine', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kiosk_quarantine_kiosk_id'))

    op.drop_table('kiosk_quarantine')
    op.drop_table('kiosk_pending')
    with op.batch_alter_table('kiosk_pairings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kiosk_pairings_kiosk_id'))
        batch_op.drop_index('ix_kiosk_pairings_code_hash')

    op.drop_table('kiosk_pairings')
    with op.batch_alter_table('kiosks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_kiosks_unit_id'))

    op.drop_table('kiosks')

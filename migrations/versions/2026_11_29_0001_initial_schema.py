"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.db

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('survey_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('registered_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('length(content_hash) = 64', name=op.f('ck_survey_versions_hash_sha256')),
    sa.CheckConstraint('version > 0', name=op.f('ck_survey_versions_version_positive')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_versions')),
    sa.UniqueConstraint('survey_id', 'version', name=op.f('uq_survey_versions_survey_id_version'))
    )
    op.create_table('units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("kind IN ('disdukcapil', 'puskesmas', 'mpp', 'other')", name=op.f('ck_units_kind_known')),
    sa.CheckConstraint('parent_id IS NULL OR parent_id <> id', name=op.f('ck_units_not_own_parent')),
    sa.ForeignKeyConstraint(['parent_id'], ['units.id'], name=op.f('fk_units_parent_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_units')),
    sa.UniqueConstraint('code', name=op.f('uq_units_code'))
    )
    op.create_table('officers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('nip', sa.String(length=18), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('(true)'), nullable=False),
    sa.CheckConstraint('length(nip) = 18', name=op.f('ck_officers_nip_18_digits')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_officers_unit_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_officers')),
    sa.UniqueConstraint('nip', name=op.f('uq_officers_nip'))
    )
    with op.batch_alter_table('officers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_officers_unit_id'), ['unit_id'], unique=False)

    op.create_table('services',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('standard_minutes', sa.Integer(), nullable=True),
    sa.Column('fee', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.CheckConstraint('fee >= 0', name=op.f('ck_services_fee_not_negative')),
    sa.CheckConstraint('standard_minutes IS NULL OR standard_minutes > 0', name=op.f('ck_services_time_positive')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_services_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_services')),
    sa.UniqueConstraint('unit_id', 'code', name=op.f('uq_services_unit_id_code'))
    )
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_services_unit_id'), ['unit_id'], unique=False)

    op.create_table('counters',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('default_service_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.text('(true)'), nullable=False),
    sa.ForeignKeyConstraint(['default_service_id'], ['services.id'], name=op.f('fk_counters_default_service_id_services'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_counters_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_counters')),
    sa.UniqueConstraint('unit_id', 'code', name=op.f('uq_counters_unit_id_code'))
    )
    with op.batch_alter_table('counters', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_counters_unit_id'), ['unit_id'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=True),
    sa.Column('officer_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.text('(true)'), nullable=False),
    sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role <> 'officer' OR officer_id IS NOT NULL", name=op.f('ck_users_officer_role_has_officer')),
    sa.CheckConstraint("role IN ('admin', 'unit_head', 'officer', 'viewer')", name=op.f('ck_users_role_known')),
    sa.CheckConstraint("role NOT IN ('unit_head', 'officer') OR unit_id IS NOT NULL", name=op.f('ck_users_scoped_role_has_unit')),
    sa.CheckConstraint('email = lower(email)', name=op.f('ck_users_email_lowercase')),
    sa.ForeignKeyConstraint(['officer_id'], ['officers.id'], name=op.f('fk_users_officer_id_officers'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_users_unit_id_units'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email')),
    sa.UniqueConstraint('officer_id', name=op.f('uq_users_officer_id'))
    )
    op.create_table('assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('officer_id', sa.Integer(), nullable=False),
    sa.Column('counter_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('ends_at IS NULL OR ends_at > starts_at', name=op.f('ck_assignments_ends_after_start')),
    sa.ForeignKeyConstraint(['counter_id'], ['counters.id'], name=op.f('fk_assignments_counter_id_counters'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['officer_id'], ['officers.id'], name=op.f('fk_assignments_officer_id_officers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assignments'))
    )
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.create_index('ix_assignments_counter_starts', ['counter_id', 'starts_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_assignments_officer_id'), ['officer_id'], unique=False)
    _forbid_overlapping_assignments()

    op.create_table('counter_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('counter_id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('issued_at', app.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('retired_at', app.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('length(token) >= 16', name=op.f('ck_counter_tokens_token_long_enough')),
    sa.CheckConstraint('retired_at IS NULL OR retired_at >= issued_at', name=op.f('ck_counter_tokens_retired_after')),
    sa.ForeignKeyConstraint(['counter_id'], ['counters.id'], name=op.f('fk_counter_tokens_counter_id_counters'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_counter_tokens')),
    sa.UniqueConstraint('token', name=op.f('uq_counter_tokens_token'))
    )
    with op.batch_alter_table('counter_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_counter_tokens_counter_id'), ['counter_id'], unique=False)
        batch_op.create_index('uq_counter_tokens_live', ['counter_id'], unique=True, sqlite_where=sa.text('retired_at IS NULL'), postgresql_where=sa.text('retired_at IS NULL'))



def downgrade() -> None:
    with op.batch_alter_table('counter_tokens', schema=None) as batch_op:
        batch_op.drop_index('uq_counter_tokens_live', sqlite_where=sa.text('retired_at IS NULL'), postgresql_where=sa.text('retired_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_counter_tokens_counter_id'))

    op.drop_table('counter_tokens')
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assignments_officer_id'))
        batch_op.drop_index('ix_assignments_counter_starts')

    _allow_overlapping_assignments()
    op.drop_table('assignments')
    op.drop_table('users')
    with op.batch_alter_table('counters', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_counters_unit_id'))

    op.drop_table('counters')
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_services_unit_id'))

    op.drop_table('services')
    with op.batch_alter_table('officers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_officers_unit_id'))

    op.drop_table('officers')
    op.drop_table('units')
    op.drop_table('survey_versions')


# At most one officer per counter at any moment, enforced by the database itself.
# PostgreSQL: an exclusion constraint over the time range (safe under concurrency; btree_gist
# lets the integer counter_id take part, and is a trusted extension since PostgreSQL 13).
# SQLite: triggers; SQLite serialises writers, so the check cannot race.
_OVERLAP = (
    "SELECT 1 FROM assignments a WHERE a.counter_id = NEW.counter_id {same_row}"
    " AND (NEW.ends_at IS NULL OR a.starts_at < NEW.ends_at)"
    " AND (a.ends_at IS NULL OR NEW.starts_at < a.ends_at)"
)


def _forbid_overlapping_assignments() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE assignments ADD CONSTRAINT ex_assignments_no_overlap "
            "EXCLUDE USING gist (counter_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)"
        )
        return
    for event, same_row in (("INSERT", ""), ("UPDATE", "AND a.id <> NEW.id")):
        op.execute(
            f"CREATE TRIGGER assignments_no_overlap_{event.lower()} BEFORE {event} ON assignments "
            f"WHEN EXISTS ({_OVERLAP.format(same_row=same_row)}) "
            "BEGIN SELECT RAISE(ABORT, 'assignment overlaps another at the same counter'); END"
        )


def _allow_overlapping_assignments() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE assignments DROP CONSTRAINT ex_assignments_no_overlap")
        return
    op.execute("DROP TRIGGER assignments_no_overlap_insert")
    op.execute("DROP TRIGGER assignments_no_overlap_update")

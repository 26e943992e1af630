"""administration: opening hours, active flags, duties by officer, rosters, served per
counter and day, stale buckets, the audit log, one-time password links, extra unit roles

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04

The organisation becomes something an administrator keeps: units and services can be
deactivated, units have an address and opening hours, counters a staff check-in code.
Duties change meaning: several officers may be on duty at one counter, but one officer is
never at two counters at once, so the no-overlap rule moves from the counter to the officer.
Responses record where their officer came from. The audit log refuses UPDATE and DELETE on
both engines. A downgrade below this revision drops the audit log with its entries: export
it first (/admin/audit/export.csv).
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

import app.db

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

_OVERLAP = (
    "SELECT 1 FROM assignments a WHERE a.{column} = NEW.{column} {same_row}"
    " AND (NEW.ends_at IS NULL OR a.starts_at < NEW.ends_at)"
    " AND (a.ends_at IS NULL OR NEW.starts_at < a.ends_at)"
)


def _forbid_overlap(column: str, message: str) -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE assignments ADD CONSTRAINT ex_assignments_no_overlap "
            f"EXCLUDE USING gist ({column} WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&)"
        )
        return
    for event, same_row in (("INSERT", ""), ("UPDATE", "AND a.id <> NEW.id")):
        op.execute(
            f"CREATE TRIGGER assignments_no_overlap_{event.lower()} BEFORE {event} ON assignments "
            f"WHEN EXISTS ({_OVERLAP.format(column=column, same_row=same_row)}) "
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END"
        )


def _allow_overlap() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE assignments DROP CONSTRAINT ex_assignments_no_overlap")
        return
    op.execute("DROP TRIGGER assignments_no_overlap_insert")
    op.execute("DROP TRIGGER assignments_no_overlap_update")


def _forbid_audit_changes() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$"
        )
        op.execute(
            "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
            "FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()"
        )
        return
    for event in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER audit_log_no_{event.lower()} BEFORE {event} ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
        )


def upgrade() -> None:
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('active', sa.Boolean(), server_default=sa.text('true'),
                                      nullable=False))
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.add_column(sa.Column('active', sa.Boolean(), server_default=sa.text('true'),
                                      nullable=False))
    op.create_table(
        'opening_hours',
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('weekday', sa.SmallInteger(), nullable=False),
        sa.Column('opens', sa.Time(), nullable=False),
        sa.Column('closes', sa.Time(), nullable=False),
        sa.CheckConstraint('closes > opens', name=op.f('ck_opening_hours_closes_after_opening')),
        sa.CheckConstraint('weekday BETWEEN 0 AND 6', name=op.f('ck_opening_hours_weekday_range')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'],
                                name=op.f('fk_opening_hours_unit_id_units'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('unit_id', 'weekday', name=op.f('pk_opening_hours')),
    )

    # Counters: the staff check-in code, one per existing counter.
    with op.batch_alter_table('counters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('checkin_token', sa.String(length=32), nullable=True))
    counters = sa.table('counters', sa.column('id', sa.Integer),
                        sa.column('checkin_token', sa.String))
    bind = op.get_bind()
    for (counter_id,) in bind.execute(sa.select(counters.c.id)).all():
        bind.execute(counters.update().where(counters.c.id == counter_id)
                     .values(checkin_token=secrets.token_urlsafe(12)))
    with op.batch_alter_table('counters', schema=None) as batch_op:
        batch_op.alter_column('checkin_token', existing_type=sa.String(length=32),
                              nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_counters_checkin_token'),
                                          ['checkin_token'])

    # Duties: the no-overlap rule moves from the counter to the officer.
    _allow_overlap()
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=12),
                                      server_default=sa.text("'admin'"), nullable=False))
        batch_op.create_check_constraint(
            op.f('ck_assignments_source_known'),
            "source IN ('checkin', 'correction', 'admin', 'demo')")
    _forbid_overlap('officer_id', 'an officer cannot be on duty at two counters at once')

    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attribution', sa.String(length=12),
                                      server_default=sa.text("'none'"), nullable=False))
        batch_op.create_check_constraint(
            op.f('ck_responses_attribution_known'),
            "attribution IN ('picked', 'checkin', 'roster', 'correction', 'none')")
    # Before this revision an officer came only from the duty at the counter.
    op.execute("UPDATE responses SET attribution = 'checkin' WHERE officer_id IS NOT NULL")

    op.create_table(
        'roster_shifts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('counter_id', sa.Integer(), nullable=False),
        sa.Column('officer_id', sa.Integer(), nullable=False),
        sa.Column('weekday', sa.SmallInteger(), nullable=False),
        sa.Column('starts', sa.Time(), nullable=False),
        sa.Column('ends', sa.Time(), nullable=False),
        sa.Column('valid_from', sa.Date(), nullable=False),
        sa.Column('valid_until', sa.Date(), nullable=True),
        sa.CheckConstraint('ends > starts', name=op.f('ck_roster_shifts_ends_after_start')),
        sa.CheckConstraint('valid_until IS NULL OR valid_until >= valid_from',
                           name=op.f('ck_roster_shifts_valid_range')),
        sa.CheckConstraint('weekday BETWEEN 0 AND 6', name=op.f('ck_roster_shifts_weekday_range')),
        sa.ForeignKeyConstraint(['counter_id'], ['counters.id'],
                                name=op.f('fk_roster_shifts_counter_id_counters'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['officer_id'], ['officers.id'],
                                name=op.f('fk_roster_shifts_officer_id_officers'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_shifts')),
    )
    with op.batch_alter_table('roster_shifts', schema=None) as batch_op:
        batch_op.create_index('ix_roster_shifts_counter_weekday', ['counter_id', 'weekday'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_roster_shifts_officer_id'), ['officer_id'],
                              unique=False)
    op.create_table(
        'roster_exceptions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('shift_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('substitute_id', sa.Integer(), nullable=True),
        sa.Column('note', sa.String(length=200), nullable=True),
        sa.CheckConstraint("kind <> 'swap' OR substitute_id IS NOT NULL",
                           name=op.f('ck_roster_exceptions_swap_has_substitute')),
        sa.CheckConstraint("kind IN ('leave', 'swap')",
                           name=op.f('ck_roster_exceptions_kind_known')),
        sa.ForeignKeyConstraint(['shift_id'], ['roster_shifts.id'],
                                name=op.f('fk_roster_exceptions_shift_id_roster_shifts'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['substitute_id'], ['officers.id'],
                                name=op.f('fk_roster_exceptions_substitute_id_officers'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_roster_exceptions')),
    )
    with op.batch_alter_table('roster_exceptions', schema=None) as batch_op:
        batch_op.create_index('ix_roster_exceptions_day', ['day'], unique=False)
    op.create_table(
        'officer_moves',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('officer_id', sa.Integer(), nullable=False),
        sa.Column('from_unit_id', sa.Integer(), nullable=False),
        sa.Column('to_unit_id', sa.Integer(), nullable=False),
        sa.Column('moved_on', sa.Date(), nullable=False),
        sa.Column('recorded_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['from_unit_id'], ['units.id'],
                                name=op.f('fk_officer_moves_from_unit_id_units'),
                                ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['officer_id'], ['officers.id'],
                                name=op.f('fk_officer_moves_officer_id_officers'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['to_unit_id'], ['units.id'],
                                name=op.f('fk_officer_moves_to_unit_id_units'),
                                ondelete='RESTRICT'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_officer_moves')),
    )
    with op.batch_alter_table('officer_moves', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_officer_moves_officer_id'), ['officer_id'],
                              unique=False)
    op.create_table(
        'served_days',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('counter_id', sa.Integer(), nullable=True),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('served', sa.Integer(), nullable=False),
        sa.Column('source', sa.String(length=12), nullable=False),
        sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint('served >= 0', name=op.f('ck_served_days_served_not_negative')),
        sa.ForeignKeyConstraint(['counter_id'], ['counters.id'],
                                name=op.f('fk_served_days_counter_id_counters'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'],
                                name=op.f('fk_served_days_unit_id_units'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_served_days')),
    )
    with op.batch_alter_table('served_days', schema=None) as batch_op:
        batch_op.create_index('uq_served_days_counter_day', ['counter_id', 'day'], unique=True,
                              sqlite_where=sa.text('counter_id IS NOT NULL'),
                              postgresql_where=sa.text('counter_id IS NOT NULL'))
        batch_op.create_index('uq_served_days_unit_day', ['unit_id', 'day'], unique=True,
                              sqlite_where=sa.text('counter_id IS NULL'),
                              postgresql_where=sa.text('counter_id IS NULL'))
    op.create_table(
        'stale_buckets',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('scope', sa.String(length=8), nullable=False),
        sa.Column('scope_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('marked_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stale_buckets')),
    )
    with op.batch_alter_table('stale_buckets', schema=None) as batch_op:
        batch_op.create_index('ix_stale_buckets_marked_at', ['marked_at'], unique=False)

    op.create_table(
        'audit_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=300), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('request', sa.String(length=500), nullable=True),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('object_type', sa.String(length=32), nullable=True),
        sa.Column('object_id', sa.String(length=64), nullable=True),
        sa.Column('before', sa.Text(), nullable=True),
        sa.Column('after', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index('ix_audit_log_action', ['action'], unique=False)
        batch_op.create_index('ix_audit_log_at', ['at'], unique=False)
        batch_op.create_index('ix_audit_log_object', ['object_type', 'object_id'], unique=False)
    _forbid_audit_changes()
    op.create_table(
        'password_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('purpose', sa.String(length=8), nullable=False),
        sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('used_at', app.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint('expires_at > created_at',
                           name=op.f('ck_password_links_expires_after_creation')),
        sa.CheckConstraint("purpose IN ('set', 'reset')",
                           name=op.f('ck_password_links_purpose_known')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_password_links_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_password_links')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_password_links_token_hash')),
    )
    with op.batch_alter_table('password_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_password_links_user_id'), ['user_id'], unique=False)
    op.create_table(
        'unit_roles',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('acting', sa.Boolean(), nullable=False),
        sa.Column('created_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('unit_head')", name=op.f('ck_unit_roles_role_known')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'],
                                name=op.f('fk_unit_roles_unit_id_units'), ondelete='RESTRICT'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_unit_roles_user_id_users'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_roles')),
        sa.UniqueConstraint('user_id', 'unit_id', name=op.f('uq_unit_roles_user_id_unit_id')),
    )
    with op.batch_alter_table('unit_roles', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_roles_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    op.drop_table('unit_roles')
    op.drop_table('password_links')
    if op.get_bind().dialect.name == "postgresql":
        op.drop_table('audit_log')
        op.execute("DROP FUNCTION audit_log_append_only()")
    else:
        op.execute("DROP TRIGGER audit_log_no_update")
        op.execute("DROP TRIGGER audit_log_no_delete")
        op.drop_table('audit_log')
    op.drop_table('stale_buckets')
    op.drop_table('served_days')
    op.drop_table('officer_moves')
    op.drop_table('roster_exceptions')
    op.drop_table('roster_shifts')
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_responses_attribution_known'), type_='check')
        batch_op.drop_column('attribution')
    # Duties that overlap at one counter (allowed now) cannot go back: ending the later ones
    # would rewrite history, so the downgrade refuses instead (see the trigger's message).
    _allow_overlap()
    with op.batch_alter_table('assignments', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_assignments_source_known'), type_='check')
        batch_op.drop_column('source')
    _forbid_overlap('counter_id', 'assignment overlaps another at the same counter')
    with op.batch_alter_table('counters', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_counters_checkin_token'), type_='unique')
        batch_op.drop_column('checkin_token')
    op.drop_table('opening_hours')
    with op.batch_alter_table('services', schema=None) as batch_op:
        batch_op.drop_column('active')
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_column('active')
        batch_op.drop_column('address')

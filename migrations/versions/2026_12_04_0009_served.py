"""served: a unit's monthly served count becomes rows of people served per counter and day

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04

Every served_counts row (a unit's month) moves into served_days as a row without a counter,
dated the month's first day, source 'migrated'; a unit's month served is from now on the
sum of its served_days rows in the month. served_counts is dropped. The downgrade recreates
it and sums the rows back per unit and month.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from alembic import op

import app.db

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(sa.text(
        "INSERT INTO served_days (unit_id, counter_id, day, served, source, updated_at) "
        "SELECT unit_id, NULL, month, served, 'migrated', updated_at FROM served_counts"))
    op.drop_table('served_counts')


def downgrade() -> None:
    op.create_table(
        'served_counts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('unit_id', sa.Integer(), nullable=False),
        sa.Column('month', sa.Date(), nullable=False),
        sa.Column('served', sa.Integer(), nullable=False),
        sa.Column('updated_at', app.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint('served >= 0', name=op.f('ck_served_counts_served_not_negative')),
        sa.ForeignKeyConstraint(['unit_id'], ['units.id'],
                                name=op.f('fk_served_counts_unit_id_units'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_served_counts')),
        sa.UniqueConstraint('unit_id', 'month', name=op.f('uq_served_counts_unit_id_month')),
    )
    # Months are summed in Python: the first day of a month is written differently on
    # each engine (date_trunc, strftime), and the rows are few. The per-counter detail is
    # lost (0008's served_days keeps no rows, so upgrading again does not count twice).
    served_days = sa.table(
        'served_days', sa.column('unit_id', sa.Integer()), sa.column('day', sa.Date()),
        sa.column('served', sa.Integer()),
        sa.column('updated_at', app.db.UTCDateTime(timezone=True)))
    served_counts = sa.table(
        'served_counts', sa.column('unit_id', sa.Integer()), sa.column('month', sa.Date()),
        sa.column('served', sa.Integer()),
        sa.column('updated_at', app.db.UTCDateTime(timezone=True)))
    totals: dict[tuple[int, date], tuple[int, datetime]] = {}
    for unit_id, day, served, updated_at in op.get_bind().execute(sa.select(
            served_days.c.unit_id, served_days.c.day, served_days.c.served,
            served_days.c.updated_at)):
        key = (unit_id, day.replace(day=1))
        before = totals.get(key)
        totals[key] = ((before[0] + served, max(before[1], updated_at)) if before
                       else (served, updated_at))
    rows = [{"unit_id": unit_id, "month": month, "served": served, "updated_at": at}
            for (unit_id, month), (served, at) in totals.items()]
    if rows:
        op.bulk_insert(served_counts, rows)
    op.execute(served_days.delete())

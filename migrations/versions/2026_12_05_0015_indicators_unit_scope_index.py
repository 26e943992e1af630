"""the indicators' unit index leads with the scope: a unit's counters, services or officers

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05

The summary reads one unit's counters (services, officers) over a period: unit_id, scope,
period_kind and a period_start or a range of them, grouped by scope_id. The old index
(unit_id, period_kind, period_start) gave SQLite's planner one more equality than the unique
key's (scope, ...) prefix but no order for the grouping, so it walked every row of the scope
instead (13-27 ms a query at 1,000,000 responses, against 2-3 ms with this index).
"""

from __future__ import annotations

from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

NEW = ['unit_id', 'scope', 'period_kind', 'period_start', 'scope_id']
OLD = ['unit_id', 'period_kind', 'period_start']


def upgrade() -> None:
    with op.batch_alter_table('indicators') as batch_op:
        batch_op.drop_index('ix_indicators_unit_period')
        batch_op.create_index('ix_indicators_unit_period', NEW, unique=False)


def downgrade() -> None:
    with op.batch_alter_table('indicators') as batch_op:
        batch_op.drop_index('ix_indicators_unit_period')
        batch_op.create_index('ix_indicators_unit_period', OLD, unique=False)

"""drop unused period indexes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29

Since the incremental aggregation reads weeks and months from stored day rows and day
histograms, nothing looks responses up by local week or month alone (the weekly summary goes
through ix_responses_unit_week). Two fewer b-trees to update on every submission.
"""

from __future__ import annotations

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_responses_local_month', table_name='responses')
    op.drop_index('ix_responses_local_week', table_name='responses')


def downgrade() -> None:
    op.create_index('ix_responses_local_week', 'responses', ['local_week'], unique=False)
    op.create_index('ix_responses_local_month', 'responses', ['local_month'], unique=False)

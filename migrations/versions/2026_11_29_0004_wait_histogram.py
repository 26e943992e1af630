"""wait histogram

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

The histogram of measured waits per scope and local day. Existing indicators were computed
without it, so the watermark is dropped: the next aggregation run is a full rebuild, which
fills the histogram.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('wait_histogram',
    sa.Column('scope', sa.String(length=8), nullable=False),
    sa.Column('scope_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('survey_version_id', sa.Integer(), nullable=False),
    sa.Column('minute', sa.Integer(), nullable=False),
    sa.Column('week', sa.Date(), nullable=False),
    sa.Column('month', sa.Date(), nullable=False),
    sa.Column('responses', sa.Integer(), nullable=False),
    sa.CheckConstraint("scope IN ('unit', 'counter', 'service', 'officer')", name=op.f('ck_wait_histogram_scope_known')),
    sa.CheckConstraint('responses > 0', name=op.f('ck_wait_histogram_responses_positive')),
    sa.ForeignKeyConstraint(['survey_version_id'], ['survey_versions.id'], name=op.f('fk_wait_histogram_survey_version_id_survey_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('scope', 'scope_id', 'day', 'survey_version_id', 'minute', name=op.f('pk_wait_histogram')),
    sqlite_with_rowid=False,
    )
    op.execute("DELETE FROM aggregation_state WHERE name = 'indicators'")


def downgrade() -> None:
    op.drop_table('wait_histogram')

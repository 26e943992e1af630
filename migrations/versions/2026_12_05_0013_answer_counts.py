"""answer counts per element and the illegal-fee signal on indicators

Each indicator row gains how many responses gave each of the four answers to each of the
nine elements (``count_u<i>_<answer>``) and ``paid_free``: responses to a free service whose
U4 answer is not "Gratis". The aggregation watermark is dropped so that the next run
rebuilds every indicator with them.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

COLUMNS = [f'count_u{element}_{answer}' for element in range(1, 10) for answer in range(1, 5)]
COLUMNS.append('paid_free')


def upgrade() -> None:
    with op.batch_alter_table('indicators', schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Integer(), server_default=sa.text('0'),
                                          nullable=False))
    # Without a watermark the next aggregation run is a full rebuild of every period.
    op.execute("DELETE FROM aggregation_state")


def downgrade() -> None:
    with op.batch_alter_table('indicators', schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)

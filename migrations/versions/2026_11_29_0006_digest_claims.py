"""digest claims apart from sends

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

A digest was marked sent before it was sent, so a scheduler killed while delivering left it
marked and never delivered. ``claimed_at`` now marks a send in progress; ``sent_at`` is set
once the mail server has it. A claim left behind by a process that died is taken up again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import app.db

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('digests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_at', app.db.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('digests', schema=None) as batch_op:
        batch_op.drop_column('claimed_at')

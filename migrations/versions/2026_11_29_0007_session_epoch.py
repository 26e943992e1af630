"""session epochs: signing out ends the account's sessions

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

Staff sessions live in a signed cookie. Signing out only cleared the browser's copy, so a
copied cookie stayed valid. The session now keeps the account's epoch beside its id, and
signing out raises the epoch, which ends every session of the account. Sessions signed before
this revision carry no epoch and end at once (their users sign in again).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_epoch', sa.Integer(), nullable=False,
                                      server_default=sa.text('0')))


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_epoch')

"""integration tokens; every API token expires

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05

POST /api/v1/responses takes an integration token (or a kiosk's credential) instead of
anyone's poster token: api_tokens gains ``kind`` (personal or integration), an optional
unit an integration token is bound to, and ``expires_at``. Integration tokens belong to no
user. Tokens made before this revision never expired: they now expire 90 days after the
upgrade (API_TOKEN_DAYS's default), so no script stops working on the day of the upgrade.

Self-contained (it touches api_tokens only): it may be re-chained after another revision.
Downgrading deletes the integration tokens, which the older schema cannot hold.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

import app.db

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

EXISTING_TOKENS_LAST = timedelta(days=90)
LIVE_INTEGRATION = "kind = 'integration' AND revoked_at IS NULL"


def _set_expiry() -> None:
    """Tokens made before expiry existed last 90 days from now (at least from creation)."""
    bind = op.get_bind()
    tokens = sa.table('api_tokens', sa.column('id', sa.Integer),
                      sa.column('created_at', app.db.UTCDateTime()),
                      sa.column('expires_at', app.db.UTCDateTime()))
    now = datetime.now(UTC)
    for token_id, created_at in bind.execute(sa.select(tokens.c.id, tokens.c.created_at)):
        bind.execute(tokens.update().where(tokens.c.id == token_id).values(
            expires_at=max(now, created_at) + EXISTING_TOKENS_LAST))


def upgrade() -> None:
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('kind', sa.String(length=12), nullable=False,
                                      server_default=sa.text("'personal'")))
        batch_op.add_column(sa.Column('unit_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('expires_at', app.db.UTCDateTime(timezone=True),
                                      nullable=True))
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(batch_op.f('fk_api_tokens_unit_id_units'), 'units',
                                    ['unit_id'], ['id'], ondelete='RESTRICT')
    _set_expiry()
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.alter_column('expires_at', existing_type=app.db.UTCDateTime(timezone=True),
                              nullable=False)
        batch_op.create_check_constraint(
            op.f('ck_api_tokens_kind_known'), "kind IN ('personal', 'integration')")
        batch_op.create_check_constraint(
            op.f('ck_api_tokens_owner_fits_kind'),
            "(kind = 'personal' AND user_id IS NOT NULL AND unit_id IS NULL) OR "
            "(kind = 'integration' AND user_id IS NULL)")
        batch_op.create_check_constraint(
            op.f('ck_api_tokens_expires_after_creation'), 'expires_at > created_at')
        batch_op.create_index('uq_api_tokens_live_integration', ['label'], unique=True,
                              sqlite_where=sa.text(LIVE_INTEGRATION),
                              postgresql_where=sa.text(LIVE_INTEGRATION))


def downgrade() -> None:
    op.execute("DELETE FROM api_tokens WHERE kind = 'integration'")
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index('uq_api_tokens_live_integration',
                            sqlite_where=sa.text(LIVE_INTEGRATION),
                            postgresql_where=sa.text(LIVE_INTEGRATION))
        batch_op.drop_constraint(op.f('ck_api_tokens_expires_after_creation'), type_='check')
        batch_op.drop_constraint(op.f('ck_api_tokens_owner_fits_kind'), type_='check')
        batch_op.drop_constraint(op.f('ck_api_tokens_kind_known'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_api_tokens_unit_id_units'),
                                 type_='foreignkey')
        batch_op.alter_column('user_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('expires_at')
        batch_op.drop_column('unit_id')
        batch_op.drop_column('kind')

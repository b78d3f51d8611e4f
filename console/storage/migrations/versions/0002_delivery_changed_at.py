"""deliveries.changed_at: when a delivery last changed, so live views read only what changed

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 06:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('changed_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE deliveries SET changed_at = COALESCE(sent_at, claimed_at, created_at)")
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_broadcast_changed', ['broadcast_id', 'changed_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_broadcast_changed')
        batch_op.drop_column('changed_at')

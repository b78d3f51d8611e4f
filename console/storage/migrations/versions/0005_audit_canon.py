"""audit log: each entry's canonical form (RFC 8785 from now on) and the log's own id

Entries already written keep form 1 (the JSON form they were hashed with) and
keep verifying; entries written from now on are form 2, RFC 8785. The log id
names this database's log in signed checkpoints kept outside the database, so
a checkpoint file never vouches for another database's log.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27 21:00:00
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN, not a batch copy: the log can be millions of rows, and SQLite adds a
    # column with a constant default in place.
    op.add_column('audit_log', sa.Column('canon', sa.SmallInteger(), nullable=False, server_default='1'))
    settings = sa.table('settings', sa.column('key', sa.String), sa.column('value', sa.Text))
    op.bulk_insert(settings, [{'key': 'audit.log_id', 'value': uuid.uuid4().hex}])


def downgrade() -> None:
    op.execute("DELETE FROM settings WHERE \"key\" = 'audit.log_id'")
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_column('canon')

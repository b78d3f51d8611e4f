"""answer integrity: typed "needs help" options, answer sources, self-reports

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 15:00:00
"""

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# Before this revision the safety check's second answer was recognised by its words;
# from here on the flag is stored. This is the one place that still reads the words.
_OLD_HELP_TEXT = "I need help"


def _options(value: str | list[Any] | None) -> list[Any]:
    """An options column as read: a list, or its JSON text where a driver hands it back undecoded."""
    if value is None:
        return []
    return list(json.loads(value)) if isinstance(value, str) else list(value)


def upgrade() -> None:
    for table in ('broadcasts', 'templates'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('help_options', sa.JSON(), nullable=True))
    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answer_source', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('needs_help', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column('self_report', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('self_report_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('link_requested_at', sa.DateTime(timezone=True), nullable=True))

    conn = op.get_bind()
    for table in ('broadcasts', 'templates'):
        t = sa.table(table, sa.column('id', sa.Integer), sa.column('options', sa.JSON),
                     sa.column('help_options', sa.JSON))
        for row_id, options in conn.execute(sa.select(t.c.id, t.c.options)).all():
            helps = [o for o in _options(options) if o == _OLD_HELP_TEXT]
            conn.execute(t.update().where(t.c.id == row_id).values(help_options=helps))
    # Answers recorded before this revision: the row did not keep its source (the audit entry's
    # "via" does); they count as given through the personal link, as the console showed them.
    conn.execute(sa.text("UPDATE recipients SET answer_source = 'link' WHERE answer IS NOT NULL"))
    conn.execute(sa.text(
        "UPDATE recipients SET needs_help = :t WHERE answer = :help"), {"t": True, "help": _OLD_HELP_TEXT})


def downgrade() -> None:
    with op.batch_alter_table('recipients', schema=None) as batch_op:
        for column in ('link_requested_at', 'self_report_at', 'self_report', 'needs_help', 'answer_source'):
            batch_op.drop_column(column)
    for table in ('broadcasts', 'templates'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('help_options')

"""incident follow-through: answer notes, help requests, managers, automatic reminders,
escalation and scheduled sends

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 18:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('answer_note', sa.String(length=500), nullable=True))
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('manager', sa.String(length=320), nullable=True))
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.add_column(sa.Column('closed_by', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('close_reason', sa.Text(), nullable=True))
    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('remind_every_s', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('remind_max', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reminders_sent', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('next_remind_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('escalate_after_s', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True))
    # Not in the batch: a foreign key added there makes SQLite copy the table, and dropping the old
    # copy would cascade to every recipient and delivery (foreign keys are on). ADD COLUMN with an
    # inline REFERENCES keeps the rows where they are.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute('ALTER TABLE broadcasts ADD COLUMN fallback_channel_id INTEGER '
                   'REFERENCES channels (id) ON DELETE SET NULL')
    else:
        op.add_column('broadcasts', sa.Column('fallback_channel_id', sa.Integer(), nullable=True))
        op.create_foreign_key('fk_broadcasts_fallback_channel', 'broadcasts', 'channels',
                              ['fallback_channel_id'], ['id'], ondelete='SET NULL')
    op.create_index('ix_broadcasts_next_remind', 'broadcasts', ['next_remind_at'])
    op.create_index('ix_broadcasts_state_scheduled', 'broadcasts', ['state', 'scheduled_at'])
    op.create_table(
        'help_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('incident_id', sa.Integer(), nullable=False),
        sa.Column('contact_id', sa.Integer(), nullable=True),
        sa.Column('email', sa.String(length=320), nullable=False),
        sa.Column('recipient_id', sa.Integer(), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False, server_default='open'),
        sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('handled_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('handled_by', sa.String(length=200), nullable=True),
        sa.Column('handled_note', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['incident_id'], ['incidents.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['recipient_id'], ['recipients.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('incident_id', 'email', name='uq_help_requests_incident_email'),
    )
    op.create_index('ix_help_requests_incident_state', 'help_requests', ['incident_id', 'state'])


def downgrade() -> None:
    op.drop_index('ix_help_requests_incident_state', table_name='help_requests')
    op.drop_table('help_requests')
    op.drop_index('ix_broadcasts_state_scheduled', table_name='broadcasts')
    op.drop_index('ix_broadcasts_next_remind', table_name='broadcasts')
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint('fk_broadcasts_fallback_channel', 'broadcasts', type_='foreignkey')
    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        for column in ('escalated_at', 'escalate_after_s', 'fallback_channel_id', 'next_remind_at',
                       'reminders_sent', 'remind_max', 'remind_every_s', 'scheduled_at'):
            batch_op.drop_column(column)
    with op.batch_alter_table('incidents', schema=None) as batch_op:
        batch_op.drop_column('close_reason')
        batch_op.drop_column('closed_by')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('manager')
    with op.batch_alter_table('recipients', schema=None) as batch_op:
        batch_op.drop_column('answer_note')

"""Schedules say when their plan starts, why it was made and what it is worth; entries carry their
transition and whether they were running; the sequences a schedule leaves out are stored with the
reason (``schedule_unplaced``).

Schedules stored before this revision get ``planned_from`` = their night's start, ``trigger`` =
``manual`` and ``objective`` = 0; their entries a transition of 0 s and ``running`` false.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 09:09:38.113519
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGERS = ("night_start", "new_request", "cancelled", "alert", "conditions", "failed", "manual",
            "sequences_changed")
"""The values of ``schedules.trigger`` at this revision (``SCHEDULE_TRIGGERS`` of the model)."""


def upgrade() -> None:
    """Add the columns (filled for existing rows, then required) and the ``schedule_unplaced`` table."""
    with op.batch_alter_table('schedules', schema=None) as batch_op:
        batch_op.add_column(sa.Column('planned_from', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('trigger', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('objective', sa.Double(), nullable=True))
    op.execute("UPDATE schedules SET planned_from = night_start, \"trigger\" = 'manual', objective = 0.0")
    choices = ", ".join(f"'{name}'" for name in TRIGGERS)
    with op.batch_alter_table('schedules', schema=None) as batch_op:
        batch_op.alter_column('planned_from', existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.alter_column('trigger', existing_type=sa.String(length=32), nullable=False)
        batch_op.alter_column('objective', existing_type=sa.Double(), nullable=False)
        batch_op.create_check_constraint(op.f('ck_schedules_trigger'), f'"trigger" IN ({choices})')
        batch_op.create_check_constraint(op.f('ck_schedules_objective'), 'objective >= 0.0')
        batch_op.create_check_constraint(op.f('ck_schedules_planned_in_night'),
                                         'planned_from >= night_start AND planned_from <= night_end')

    with op.batch_alter_table('schedule_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('transition_s', sa.Double(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('running', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('schedule_entries', schema=None) as batch_op:
        batch_op.alter_column('transition_s', existing_type=sa.Double(), existing_nullable=False,
                              server_default=None)
        batch_op.alter_column('running', existing_type=sa.Boolean(), existing_nullable=False,
                              server_default=None)
        batch_op.create_check_constraint(op.f('ck_schedule_entries_transition_s'), 'transition_s >= 0.0')

    op.create_table('schedule_unplaced',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('schedule_id', sa.Integer(), nullable=False),
        sa.Column('sequence_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=32), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.Column('blockers', sa.JSON(), nullable=False),
        sa.CheckConstraint('length(trim(reason)) > 0', name=op.f('ck_schedule_unplaced_reason')),
        sa.ForeignKeyConstraint(['schedule_id'], ['schedules.id'],
            name=op.f('fk_schedule_unplaced_schedule_id_schedules'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['sequence_id'], ['sequences.id'],
            name=op.f('fk_schedule_unplaced_sequence_id_sequences'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_schedule_unplaced')),
        sa.UniqueConstraint('schedule_id', 'sequence_id', name=op.f('uq_schedule_unplaced_schedule_id_sequence_id'))
    )
    op.create_index(op.f('ix_schedule_unplaced_schedule_id'), 'schedule_unplaced', ['schedule_id'])
    op.create_index(op.f('ix_schedule_unplaced_sequence_id'), 'schedule_unplaced', ['sequence_id'])


def downgrade() -> None:
    """Remove them again (the reasons of the unplaced sequences are lost)."""
    op.drop_index(op.f('ix_schedule_unplaced_sequence_id'), table_name='schedule_unplaced')
    op.drop_index(op.f('ix_schedule_unplaced_schedule_id'), table_name='schedule_unplaced')
    op.drop_table('schedule_unplaced')
    with op.batch_alter_table('schedule_entries', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_schedule_entries_transition_s'), type_='check')
        batch_op.drop_column('running')
        batch_op.drop_column('transition_s')
    with op.batch_alter_table('schedules', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_schedules_planned_in_night'), type_='check')
        batch_op.drop_constraint(op.f('ck_schedules_objective'), type_='check')
        batch_op.drop_constraint(op.f('ck_schedules_trigger'), type_='check')
        batch_op.drop_column('objective')
        batch_op.drop_column('trigger')
        batch_op.drop_column('planned_from')

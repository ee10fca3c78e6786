"""Plans get a binning and an image type; bias frames have an exposure time of 0 s.

Observation requests (``pyros/requests``) carry both, and a bias frame is an
exposure of zero seconds, which the first schema refused.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 07:13:58.441990
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add ``plans.binning`` and ``plans.image_type``; allow ``exposure_s = 0``."""
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('binning', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('image_type', sa.String(length=8), server_default='light', nullable=False))
        batch_op.drop_constraint(op.f('ck_plans_exposure_s'), type_='check')
        batch_op.create_check_constraint(op.f('ck_plans_exposure_s'), 'exposure_s >= 0.0')
        batch_op.create_check_constraint(op.f('ck_plans_binning'), 'binning >= 1 AND binning <= 16')
        batch_op.create_check_constraint(op.f('ck_plans_image_type'),
                                         "image_type IN ('light', 'dark', 'flat', 'bias')")


def downgrade() -> None:
    """Remove them again (plans with a 0 s exposure must be deleted first)."""
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_plans_image_type'), type_='check')
        batch_op.drop_constraint(op.f('ck_plans_binning'), type_='check')
        batch_op.drop_constraint(op.f('ck_plans_exposure_s'), type_='check')
        batch_op.create_check_constraint(op.f('ck_plans_exposure_s'), 'exposure_s > 0.0')
        batch_op.drop_column('image_type')
        batch_op.drop_column('binning')

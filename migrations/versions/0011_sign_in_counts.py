"""sign-in attempts counted in the database

Flask-Limiter counted failed sign-ins in each process's memory unless Redis was set up,
so ``tsunagu serve``'s workers (and several hosts) each allowed the full number. The
counts now live in this table by default (``web.rate_limits``): every worker and host
sharing the database counts together.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 17:15:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0010'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'rate_limit_count',
        sa.Column('key', sa.String(length=1024), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('expires_at', sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_rate_limit_count')),
    )


def downgrade() -> None:
    op.drop_table('rate_limit_count')

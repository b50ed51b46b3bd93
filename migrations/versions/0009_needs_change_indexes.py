"""indexes that make the unmet report's freshness check and the report years index-only

* ``need.updated_at``, ``match.updated_at``: the latest change of a need or a referral,
  part of the fingerprint that says whether a remembered unmet report is still true
  (``web.report_cache``).
* ``need.recorded_on``, ``need.created_at``: the earliest need, for the fiscal years a
  report offers.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 12:00:00

"""
from typing import Sequence, Union

from alembic import op

revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('need', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_need_updated_at'), ['updated_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_need_recorded_on'), ['recorded_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_need_created_at'), ['created_at'], unique=False)
    with op.batch_alter_table('match', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_match_updated_at'), ['updated_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('match', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_match_updated_at'))
    with op.batch_alter_table('need', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_need_created_at'))
        batch_op.drop_index(batch_op.f('ix_need_recorded_on'))
        batch_op.drop_index(batch_op.f('ix_need_updated_at'))

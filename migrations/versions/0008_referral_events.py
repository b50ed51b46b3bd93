"""referral events: a need's timeline; the §8 end causes of a match; the directory change log

* ``match_event``: what happened with a referral (a match's new status) or with the need
  (recorded / closed / reopened), with the coordinator's note, the day it happened, who
  recorded it and when. Rows are only ever added.
* ``match.status`` gains the end causes of DATA_FORMATS §8: ``not_eligible``,
  ``no_capacity``, ``unreachable`` (beside ``declined`` and ``ended``).
* ``directory_change``: which resources each directory version changed, so a matching
  snapshot re-reads only those (a version without a row makes readers rebuild).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05 12:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: Union[str, Sequence[str], None] = '0007'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_OLD_MATCH = ('proposed', 'contacted', 'connected', 'declined', 'ended')
_NEW_MATCH = ('proposed', 'contacted', 'connected', 'declined', 'not_eligible', 'no_capacity',
              'unreachable', 'ended')
_NEED_EVENTS = ('recorded', 'closed', 'reopened')


def _in(values: tuple[str, ...]) -> str:
    return f"status IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    with op.batch_alter_table('match', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_match_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_match_status'), _in(_NEW_MATCH))
    op.create_table(
        'match_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('need_id', sa.Integer(), nullable=False),
        sa.Column('match_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('happened_on', sa.Date(), nullable=False),
        sa.Column('recorded_by', sa.String(length=128), nullable=False),
        sa.Column('recorded_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint(_in(_NEW_MATCH + _NEED_EVENTS), name=op.f('ck_match_event_status')),
        sa.ForeignKeyConstraint(['match_id'], ['match.id'], ondelete='CASCADE',
                                name=op.f('fk_match_event_match_id_match')),
        sa.ForeignKeyConstraint(['need_id'], ['need.id'], ondelete='CASCADE',
                                name=op.f('fk_match_event_need_id_need')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_match_event')),
    )
    with op.batch_alter_table('match_event', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_match_event_need_id'), ['need_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_match_event_match_id'), ['match_id'], unique=False)
    op.create_table(
        'directory_change',
        sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('resource_ids', sa.JSON(), nullable=False),
        sa.Column('changed_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('version', name=op.f('pk_directory_change')),
    )


def downgrade() -> None:
    op.drop_table('directory_change')
    with op.batch_alter_table('match_event', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_match_event_match_id'))
        batch_op.drop_index(batch_op.f('ix_match_event_need_id'))
    op.drop_table('match_event')
    op.execute(
        "UPDATE match SET status = 'declined' "
        "WHERE status IN ('not_eligible', 'no_capacity', 'unreachable')"
    )
    with op.batch_alter_table('match', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_match_status'), type_='check')
        batch_op.create_check_constraint(op.f('ck_match_status'), _in(_OLD_MATCH))

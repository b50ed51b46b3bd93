"""schedule.anchor_date: 隔週 keeps its weeks; one-off dates

A fortnightly schedule counts its weeks from the week of ``anchor_date`` (a date in the
text, else its first occurrence after import), so no expansion or export depends on the
window asked for. A one-off date (RRULE ``FREQ=DAILY;COUNT=1``) is ``anchor_date`` itself.
Rows stored before this revision keep NULL: re-importing them sets the anchor.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 02:05:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0005'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table('schedule') as batch:
        batch.add_column(sa.Column('anchor_date', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('schedule') as batch:
        batch.drop_column('anchor_date')

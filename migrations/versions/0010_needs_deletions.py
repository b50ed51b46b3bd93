"""a counter of deletions of needs and referrals, kept by triggers

The unmet report's fingerprint (``web.report_cache``) must see a need or a referral
deleted. It counted both tables on every page view, which grows with every need ever
recorded; a deletion now moves ``needs_state.deletions`` instead, in the deleting
transaction, whoever deletes (the app, a retention script, psql). PostgreSQL: one
statement-level trigger per table (also on TRUNCATE); SQLite: a row trigger.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 16:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

TABLES = ('need', 'match')
BUMP = 'UPDATE needs_state SET deletions = deletions + 1 WHERE id = 1'


def upgrade() -> None:
    table = op.create_table(
        'needs_state',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('deletions', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_needs_state')),
    )
    op.bulk_insert(table, [{'id': 1, 'deletions': 0}])
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            'CREATE FUNCTION needs_state_count_deletion() RETURNS trigger LANGUAGE plpgsql '
            f'AS $$ BEGIN {BUMP}; RETURN NULL; END $$'
        )
        for name in TABLES:
            op.execute(
                f'CREATE TRIGGER {name}_deleted AFTER DELETE OR TRUNCATE ON "{name}" '
                'FOR EACH STATEMENT EXECUTE FUNCTION needs_state_count_deletion()'
            )
    else:
        for name in TABLES:
            op.execute(f'CREATE TRIGGER {name}_deleted AFTER DELETE ON "{name}" BEGIN {BUMP}; END')


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == 'postgresql'
    for name in TABLES:
        op.execute(f'DROP TRIGGER {name}_deleted' + (f' ON "{name}"' if postgresql else ''))
    if postgresql:
        op.execute('DROP FUNCTION needs_state_count_deletion()')
    op.drop_table('needs_state')

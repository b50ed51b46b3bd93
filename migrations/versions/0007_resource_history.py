"""resource_change: the history of every change to a resource

Who changed a resource, when, and what (``changes``: ``{field: [old, new]}``), with the
resource's version after the change. ``changed_by`` is a login as text (the directory
knows no accounts; the history outlives them).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05 10:00:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0006'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    op.create_table(
        'resource_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('resource_id', sa.Integer(), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('changed_at', sa.DateTime(), nullable=False),
        sa.Column('changed_by', sa.String(length=128), nullable=False),
        sa.Column('action', sa.String(length=16), nullable=False),
        sa.Column('changes', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['resource_id'], ['resource.id'], ondelete='CASCADE',
                                name=op.f('fk_resource_change_resource_id_resource')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_resource_change')),
    )
    with op.batch_alter_table('resource_change', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_resource_change_resource_id'), ['resource_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('resource_change', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_resource_change_resource_id'))
    op.drop_table('resource_change')

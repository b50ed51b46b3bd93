"""accounts, areas, API tokens and the append-only audit log

Users with roles and areas (DATA_FORMATS §8), hashed API tokens, and the hash-chained
audit log. The database itself refuses UPDATE and DELETE on ``audit_event`` (and
TRUNCATE on PostgreSQL): only rows older than ``audit_anchor.prune_before`` may be
deleted, and that boundary only moves forward and never to less than a year ago.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 01:10:00

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: Union[str, Sequence[str], None] = '0004'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

GENESIS = '0' * 64

SQLITE_TRIGGERS = (
    """CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event
       BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: UPDATE refused'); END""",
    """CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event
       WHEN OLD.at >= (SELECT prune_before FROM audit_anchor WHERE id = 1)
       BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: DELETE refused'); END""",
    """CREATE TRIGGER audit_anchor_forward_only BEFORE UPDATE ON audit_anchor
       WHEN NEW.id != OLD.id OR NEW.prune_before < OLD.prune_before
            OR NEW.prune_before > datetime('now', '-365 days')
       BEGIN SELECT RAISE(ABORT, 'audit_anchor only moves forward, to at least a year ago'); END""",
    """CREATE TRIGGER audit_anchor_no_delete BEFORE DELETE ON audit_anchor
       BEGIN SELECT RAISE(ABORT, 'audit_anchor cannot be deleted'); END""",
)

POSTGRESQL_TRIGGERS = (
    """CREATE FUNCTION audit_event_guard() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'DELETE'
            AND OLD.at < (SELECT prune_before FROM audit_anchor WHERE id = 1) THEN
           RETURN OLD;
         END IF;
         RAISE EXCEPTION 'audit_event is append-only: % refused', TG_OP;
       END $$""",
    """CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
       FOR EACH ROW EXECUTE FUNCTION audit_event_guard()""",
    """CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
       FOR EACH STATEMENT EXECUTE FUNCTION audit_event_guard()""",
    """CREATE FUNCTION audit_anchor_guard() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.prune_before >= OLD.prune_before
            AND NEW.prune_before <= (now() AT TIME ZONE 'UTC') - interval '365 days' THEN
           RETURN NEW;
         END IF;
         RAISE EXCEPTION 'audit_anchor only moves forward, to at least a year ago (% refused)', TG_OP;
       END $$""",
    """CREATE TRIGGER audit_anchor_forward_only BEFORE UPDATE OR DELETE ON audit_anchor
       FOR EACH ROW EXECUTE FUNCTION audit_anchor_guard()""",
    """CREATE TRIGGER audit_anchor_no_truncate BEFORE TRUNCATE ON audit_anchor
       FOR EACH STATEMENT EXECUTE FUNCTION audit_anchor_guard()""",
)


def upgrade() -> None:
    op.create_table(
        'app_user',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('login', sa.String(length=64), nullable=False),
        sa.Column('display_name', sa.String(length=100), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('password_hash', sa.String(length=255), nullable=False),
        sa.Column('totp_secret', sa.String(length=64), nullable=True),
        sa.Column('disabled', sa.Boolean(), nullable=False),
        sa.Column('session_version', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('password_changed_at', sa.DateTime(), nullable=False),
        sa.Column('last_sign_in_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_app_user')),
        sa.UniqueConstraint('login', name=op.f('uq_app_user_login')),
    )
    op.create_table(
        'user_area',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('district_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['district_id'], ['district.id'], ondelete='CASCADE',
                                name=op.f('fk_user_area_district_id_district')),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ondelete='CASCADE',
                                name=op.f('fk_user_area_user_id_app_user')),
        sa.PrimaryKeyConstraint('user_id', 'district_id', name=op.f('pk_user_area')),
    )
    op.create_table(
        'api_token',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.Column('last_used_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['app_user.id'], ondelete='CASCADE',
                                name=op.f('fk_api_token_user_id_app_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_token')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_api_token_token_hash')),
    )
    op.create_index(op.f('ix_api_token_user_id'), 'api_token', ['user_id'], unique=False)
    op.create_table(
        'audit_event',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('actor', sa.String(length=128), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('areas', sa.String(length=500), nullable=False),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('record_type', sa.String(length=32), nullable=False),
        sa.Column('record_id', sa.String(length=128), nullable=True),
        sa.Column('outcome', sa.String(length=16), nullable=False),
        sa.Column('detail', sa.String(length=200), nullable=True),
        sa.Column('prev_hash', sa.String(length=64), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_event')),
    )
    op.create_index(op.f('ix_audit_event_at'), 'audit_event', ['at'], unique=False)
    op.create_index(op.f('ix_audit_event_actor'), 'audit_event', ['actor'], unique=False)
    op.create_index(op.f('ix_audit_event_record_id'), 'audit_event', ['record_id'], unique=False)
    anchor = op.create_table(
        'audit_anchor',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('prune_before', sa.DateTime(), nullable=False),
        sa.Column('anchor_hash', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_anchor')),
    )
    import datetime as dt

    op.bulk_insert(anchor, [{'id': 1, 'prune_before': dt.datetime(1970, 1, 1),
                             'anchor_hash': GENESIS}])
    dialect = op.get_bind().dialect.name
    for statement in POSTGRESQL_TRIGGERS if dialect == 'postgresql' else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == 'postgresql':
        op.execute('DROP TABLE audit_anchor CASCADE')
        op.execute('DROP TABLE audit_event CASCADE')
        op.execute('DROP FUNCTION audit_event_guard()')
        op.execute('DROP FUNCTION audit_anchor_guard()')
    else:
        op.drop_table('audit_anchor')
        op.drop_table('audit_event')
    op.drop_index(op.f('ix_api_token_user_id'), table_name='api_token')
    op.drop_table('api_token')
    op.drop_table('user_area')
    op.drop_table('app_user')

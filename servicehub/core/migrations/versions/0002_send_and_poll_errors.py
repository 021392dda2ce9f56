"""send and poll error kinds, claim time of a send, intake failures

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06 19:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import servicehub.core.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error_kind", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", servicehub.core.db.UTCDateTime(), nullable=True))
    with op.batch_alter_table("poll_cursors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error_kind", sa.String(length=16), nullable=True))
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("intake_error", sa.String(length=500), server_default="", nullable=False)
        )
        batch_op.add_column(sa.Column("intake_failed_at", servicehub.core.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("intake_failed_at")
        batch_op.drop_column("intake_error")
    with op.batch_alter_table("poll_cursors", schema=None) as batch_op:
        batch_op.drop_column("error_kind")
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("error_kind")

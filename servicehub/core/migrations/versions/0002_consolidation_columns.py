"""columns the consolidated code already uses (issue 10) but no migration added

Revision ID: 0002
Revises: 0001

The consolidation on main reads and writes ``outbound_messages.error_kind`` and
``claimed_at``, ``poll_cursors.error_kind`` and ``accounts.intake_error`` /
``intake_failed_at``, and the states ``unknown`` / error kinds, but neither the models nor a
migration had them: every import of the outbox failed. Features branch from this revision.
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
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("intake_error", sa.String(length=500), nullable=False, server_default="")
        )
        batch_op.add_column(sa.Column("intake_failed_at", servicehub.core.db.UTCDateTime(), nullable=True))
    with op.batch_alter_table("poll_cursors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error_kind", sa.String(length=16), nullable=True))
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error_kind", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", servicehub.core.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("error_kind")
    with op.batch_alter_table("poll_cursors", schema=None) as batch_op:
        batch_op.drop_column("error_kind")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("intake_failed_at")
        batch_op.drop_column("intake_error")

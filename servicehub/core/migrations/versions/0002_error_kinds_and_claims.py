"""Outbox claim times and error kinds, poll error kinds, account intake errors.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-06

``outbound_messages.claimed_at`` lets the sweep tell a send that is still running from one
whose worker died; ``error_kind`` (outbox and poll cursors) says in a word what went wrong,
so the workbench can explain it; ``accounts.intake_error`` shows an intake failure inside
the hub on the accounts page.
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
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.alter_column("intake_error", server_default=None)

    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error_kind", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", servicehub.core.db.UTCDateTime(), nullable=True))

    with op.batch_alter_table("poll_cursors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("error_kind", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("poll_cursors", schema=None) as batch_op:
        batch_op.drop_column("error_kind")

    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")
        batch_op.drop_column("error_kind")

    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("intake_failed_at")
        batch_op.drop_column("intake_error")

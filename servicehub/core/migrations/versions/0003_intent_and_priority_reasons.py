"""What customers want and threaten, on messages and requests, and why a request got its priority.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06

The filters now read each kept message's intent (inquiry, complaint, praise, suggestion,
other) and its escalation threats; requests keep the most pressing intent of their
messages, every threat, whether one was furious, and the signals that set their priority.
Existing rows get "no intent, no threats": their priority stays as it was.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("intent", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("escalation", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("intent", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("escalation", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("furious", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("priority_reasons", sa.JSON(), nullable=False, server_default="[]"))
    for table, columns in (
        ("messages", ("escalation",)),
        ("service_requests", ("escalation", "furious", "priority_reasons")),
    ):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(column, server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("service_requests", schema=None) as batch_op:
        batch_op.drop_column("priority_reasons")
        batch_op.drop_column("furious")
        batch_op.drop_column("escalation")
        batch_op.drop_column("intent")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("escalation")
        batch_op.drop_column("intent")

"""exactly-once under real conditions (issue 11)

Revision ID: 0011
Revises: 0016

- ``account_pauses``: what part of an account waits for a platform limit (``writes``,
  ``source:<name>``) and until when, so a limit on one API stops only that API;
- ``outbound_messages.in_doubt`` (an attempt may have reached the platform: read it back
  before any resend) and ``rip`` (the IP of the person who wrote it, Weibo's ``rip``);
- ``messages.attachments``: photos, voice notes and videos a customer sent.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import servicehub.core.db

revision = "0011"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "account_pauses",
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=48), nullable=False),
        sa.Column("until", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.Column("code", sa.Integer(), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_account_pauses_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", "scope", name=op.f("pk_account_pauses")),
    )
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("in_doubt", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("rip", sa.String(length=45), nullable=True))
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attachments", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_column("attachments")
    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.drop_column("rip")
        batch_op.drop_column("in_doubt")
    op.drop_table("account_pauses")

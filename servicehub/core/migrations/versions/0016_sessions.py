"""Server-side workbench sessions (the cookie carries only a random token).

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-06

Logout, "log out everywhere", a password change or reset and deactivation now end sessions
at once: a copied cookie stops working. Sessions signed into cookies before this revision
are not carried over; everyone logs in once more.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import servicehub.core.db

revision = "0016"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", servicehub.core.db.UTCDateTime(), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_web_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_web_sessions_token_hash")),
    )
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_sessions_user_id"), ["user_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_web_sessions_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("web_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_sessions_expires_at"))
        batch_op.drop_index(batch_op.f("ix_web_sessions_user_id"))
    op.drop_table("web_sessions")

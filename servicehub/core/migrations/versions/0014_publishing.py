"""Publishing: publications and their accounts, contact lists, tracked posts.

Revision ID: 0014
Revises: 0015
Create Date: 2026-12-06

Outbox rows gain ``publication_id``: a publication's per-target delivery record is the
outbox row itself, sent at most once like any reply. ``tracked_posts`` holds when each sent
post is sampled next; the samples land in ``engagement_snapshots`` (from 0015).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import servicehub.core.db

revision = "0014"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "contact_lists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.Column("rule", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_contact_lists_created_by_users")),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_contact_lists_org_id_organizations")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contact_lists")),
    )
    with op.batch_alter_table("contact_lists", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_contact_lists_org_id"), ["org_id"], unique=False)

    op.create_table(
        "publications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("image", sa.String(length=120), nullable=True),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("scheduled_at", servicehub.core.db.UTCDateTime(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=80), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.Column("reviewed_by", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", servicehub.core.db.UTCDateTime(), nullable=True),
        sa.Column("review_comment", sa.String(length=500), nullable=False),
        sa.Column("released_at", servicehub.core.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["created_by"], ["users.id"], name=op.f("fk_publications_created_by_users")),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_publications_org_id_organizations")
        ),
        sa.ForeignKeyConstraint(
            ["reviewed_by"], ["users.id"], name=op.f("fk_publications_reviewed_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_publications")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_publications_idempotency_key")),
    )
    with op.batch_alter_table("publications", schema=None) as batch_op:
        batch_op.create_index("ix_publications_due", ["state", "scheduled_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_publications_org_id"), ["org_id"], unique=False)

    op.create_table(
        "contact_list_members",
        sa.Column("list_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_contact_list_members_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["list_id"],
            ["contact_lists.id"],
            name=op.f("fk_contact_list_members_list_id_contact_lists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("list_id", "customer_id", name=op.f("pk_contact_list_members")),
    )
    op.create_table(
        "publication_accounts",
        sa.Column("publication_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("as_post", sa.Boolean(), nullable=False),
        sa.Column("list_ids", sa.JSON(), nullable=False),
        sa.Column("tag_ids", sa.JSON(), nullable=False),
        sa.Column("tag_names", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_publication_accounts_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["publication_id"],
            ["publications.id"],
            name=op.f("fk_publication_accounts_publication_id_publications"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("publication_id", "account_id", name=op.f("pk_publication_accounts")),
    )
    with op.batch_alter_table("publication_accounts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_publication_accounts_account_id"), ["account_id"], unique=False)

    op.create_table(
        "tracked_posts",
        sa.Column("outbound_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("platform_id", sa.String(length=64), nullable=False),
        sa.Column("sent_at", servicehub.core.db.UTCDateTime(), nullable=False),
        sa.Column("next_at", servicehub.core.db.UTCDateTime(), nullable=True),
        sa.Column("samples", sa.Integer(), nullable=False),
        sa.Column("reposts", sa.Integer(), nullable=False),
        sa.Column("comments", sa.Integer(), nullable=False),
        sa.Column("likes", sa.Integer(), nullable=False),
        sa.Column("reposts_since", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_tracked_posts_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["outbound_id"],
            ["outbound_messages.id"],
            name=op.f("fk_tracked_posts_outbound_id_outbound_messages"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("outbound_id", name=op.f("pk_tracked_posts")),
    )
    with op.batch_alter_table("tracked_posts", schema=None) as batch_op:
        batch_op.create_index("ix_tracked_posts_due", ["account_id", "next_at"], unique=False)

    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("publication_id", sa.Integer(), nullable=True))
        batch_op.create_index(
            batch_op.f("ix_outbound_messages_publication_id"), ["publication_id"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_outbound_messages_publication_id_publications"),
            "publications",
            ["publication_id"],
            ["id"],
        )

    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("publication_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_notifications_publication_id_publications"),
            "publications",
            ["publication_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_notifications_publication_id_publications"), type_="foreignkey"
        )
        batch_op.drop_column("publication_id")

    with op.batch_alter_table("outbound_messages", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_outbound_messages_publication_id_publications"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_outbound_messages_publication_id"))
        batch_op.drop_column("publication_id")

    with op.batch_alter_table("tracked_posts", schema=None) as batch_op:
        batch_op.drop_index("ix_tracked_posts_due")

    op.drop_table("tracked_posts")
    with op.batch_alter_table("publication_accounts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_publication_accounts_account_id"))

    op.drop_table("publication_accounts")
    op.drop_table("contact_list_members")
    with op.batch_alter_table("publications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_publications_org_id"))
        batch_op.drop_index("ix_publications_due")

    op.drop_table("publications")
    with op.batch_alter_table("contact_lists", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_contact_lists_org_id"))

    op.drop_table("contact_lists")

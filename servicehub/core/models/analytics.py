"""Analytics: rollup tables the periodic task keeps current, and the inputs only analytics reads.

Every rollup row is keyed by the account it counts (and, for service figures, by the
request's team and assignee), so ``permissions.restrict`` limits a figure exactly as it
limits the rows behind it: a partner's figures sum only rows of accounts its company
operates, an operator's only rows of accounts it serves or requests assigned to it.
Rows are derived data: ``servicehub analytics-rebuild`` drops and recomputes them all.

Days are local calendar days in ``[analytics] timezone`` (Asia/Shanghai by default).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from servicehub.core.db import Base, utcnow


class AnalyticsWatermark(Base):
    """How far one rollup stream has read its source (``value`` an id or ``at`` a time).

    ``recent`` keeps the last positions with the time each was reached, so that a run can
    read again from where the stream stood a few minutes ago: a row committed late (its id
    or time below the watermark) is still seen, and recounting it is harmless because
    rollups are recomputed per bucket, not incremented.
    """

    __tablename__ = "analytics_watermarks"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
    at: Mapped[datetime | None]
    recent: Mapped[list[Any]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MessageDaily(Base):
    """Inbound messages per local day, account, team, interaction, sentiment and verdict."""

    __tablename__ = "analytics_message_daily"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date]
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    team_id: Mapped[int | None]  # the team of the message's request; None: no request or no team
    interaction: Mapped[str] = mapped_column(String(16))  # comment, reply, repost, mention, dm, follow, ...
    sentiment: Mapped[str] = mapped_column(String(16), default="")  # positive, neutral, negative, ""
    drop_reason: Mapped[str] = mapped_column(String(32), default="")  # "" = kept
    messages: Mapped[int] = mapped_column(default=0)

    __table_args__ = (Index("ix_analytics_message_daily_day_account", "day", "account_id"),)


class KeywordDaily(Base):
    """How many kept messages of a day and account contain a keyword: ``team_id`` 0 counts all
    of them (the day's ``[analytics] keywords_per_day`` most frequent words), a team's id only
    those of its requests (its 30 most frequent)."""

    __tablename__ = "analytics_keyword_daily"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date]
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    team_id: Mapped[int] = mapped_column(default=0)
    keyword: Mapped[str] = mapped_column(String(32))
    messages: Mapped[int] = mapped_column(default=0)

    __table_args__ = (Index("ix_analytics_keyword_daily_day_account", "day", "account_id"),)


class KeywordMonthly(Base):
    """A month's sum of :class:`KeywordDaily` (so a year's keywords read twelve rows, not 365)."""

    __tablename__ = "analytics_keyword_monthly"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date]
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    team_id: Mapped[int] = mapped_column(default=0)
    keyword: Mapped[str] = mapped_column(String(32))
    messages: Mapped[int] = mapped_column(default=0)

    __table_args__ = (Index("ix_analytics_keyword_monthly_month_account", "month", "account_id"),)


class FanMonthly(Base):
    """One customer's interactions with one account in one local month, by sentiment, and the
    customer's own follower count when the month was last counted (its influence).

    Indexed so that each (month, account)'s top fans by either measure is an index range:
    rankings over many months and accounts read those tops rather than every fan."""

    __tablename__ = "analytics_fan_monthly"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date]  # the first day of the month
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    customer_id: Mapped[int]
    interactions: Mapped[int] = mapped_column(default=0)
    positive: Mapped[int] = mapped_column(default=0)
    negative: Mapped[int] = mapped_column(default=0)
    followers: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        Index("ix_analytics_fan_monthly_interactions", "month", "account_id", "interactions"),
        Index("ix_analytics_fan_monthly_followers", "month", "account_id", "followers"),
        Index("ix_analytics_fan_monthly_customer", "customer_id", "month"),
    )


class FanMonthlyAll(Base):
    """A customer's interactions with all accounts in one month (``FanMonthly`` summed over
    accounts), so ranking fans across every account reads each month's top rather than every
    fan. Not keyed by account: only a viewer of every account reads it (``restrict`` shows it
    to no one else; narrower scopes rank from ``FanMonthly``)."""

    __tablename__ = "analytics_fan_monthly_all"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date]
    customer_id: Mapped[int]
    interactions: Mapped[int] = mapped_column(default=0)
    positive: Mapped[int] = mapped_column(default=0)
    negative: Mapped[int] = mapped_column(default=0)
    followers: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        Index("ix_analytics_fan_monthly_all_interactions", "month", "interactions"),
        Index("ix_analytics_fan_monthly_all_followers", "month", "followers"),
        Index("ix_analytics_fan_monthly_all_customer", "customer_id", "month"),
    )


class TieDaily(Base):
    """Who mentioned, replied to or reposted whom, among customers heard on one account."""

    __tablename__ = "analytics_tie_daily"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date]
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    source_customer_id: Mapped[int]
    target_customer_id: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))  # mention, reply, repost
    ties: Mapped[int] = mapped_column(default=0)

    __table_args__ = (Index("ix_analytics_tie_daily_day_account", "day", "account_id"),)


class RequestFact(Base):
    """One service request as the service figures count it, recomputed whenever it changes.

    Durations are whole minutes, counted within the assignee's shifts when the assignee has
    shifts set (business hours), else on the wall clock. ``sla_met`` is None until decided:
    met when the first response came by ``due_at``, missed when it came later or
    ``due_at`` passed unanswered.
    """

    __tablename__ = "analytics_request_facts"

    request_id: Mapped[int] = mapped_column(
        ForeignKey("service_requests.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    team_id: Mapped[int | None]
    assignee_id: Mapped[int | None]
    created_at: Mapped[datetime]
    created_day: Mapped[date]
    responded_day: Mapped[date | None]
    first_response_minutes: Mapped[int | None]
    resolved_day: Mapped[date | None]
    resolution_minutes: Mapped[int | None]
    due_at: Mapped[datetime | None]
    sla_day: Mapped[date | None]
    sla_met: Mapped[bool | None]
    is_open: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (
        Index("ix_analytics_request_facts_created", "created_day", "account_id"),
        Index("ix_analytics_request_facts_responded", "responded_day", "account_id"),
        Index("ix_analytics_request_facts_resolved", "resolved_day", "account_id"),
        Index("ix_analytics_request_facts_sla", "sla_day", "account_id"),
        Index(
            "ix_analytics_request_facts_open",
            "account_id",
            "created_at",
            postgresql_where=text("is_open"),
            sqlite_where=text("is_open"),
        ),
        Index(
            "ix_analytics_request_facts_sla_pending",
            "due_at",
            postgresql_where=text("sla_met IS NULL"),
            sqlite_where=text("sla_met IS NULL"),
        ),
    )


class ServiceDaily(Base):
    """Service figures of one local day, account, team and assignee.

    Each figure counts on the day its event happened: ``received`` on the day a request
    was opened, ``responded`` (and its time) on the day of the first response, ``resolved``
    on the day of the last resolution, ``sla_*`` on the day the SLA was decided. The two
    histograms are packed ``(bin, count)`` pairs (hex) of :mod:`servicehub.analytics.histogram`.
    """

    __tablename__ = "analytics_service_daily"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date]
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    team_id: Mapped[int | None]
    assignee_id: Mapped[int | None]
    received: Mapped[int] = mapped_column(default=0)
    responded: Mapped[int] = mapped_column(default=0)
    resolved: Mapped[int] = mapped_column(default=0)
    sla_due: Mapped[int] = mapped_column(default=0)
    sla_met: Mapped[int] = mapped_column(default=0)
    first_response_hist: Mapped[str] = mapped_column(Text, default="")
    resolution_hist: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_analytics_service_daily_day_account", "day", "account_id"),)


class ServiceMonthly(Base):
    """A month's sum of :class:`ServiceDaily` per account, team and assignee, histograms merged
    (long periods read a row per month instead of one per day)."""

    __tablename__ = "analytics_service_monthly"

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date]
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    team_id: Mapped[int | None]
    assignee_id: Mapped[int | None]
    received: Mapped[int] = mapped_column(default=0)
    responded: Mapped[int] = mapped_column(default=0)
    resolved: Mapped[int] = mapped_column(default=0)
    sla_due: Mapped[int] = mapped_column(default=0)
    sla_met: Mapped[int] = mapped_column(default=0)
    first_response_hist: Mapped[str] = mapped_column(Text, default="")
    resolution_hist: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_analytics_service_monthly_month_account", "month", "account_id"),)


class FollowerSnapshot(Base):
    """An account's follower count as its platform reported it, and the fans new since the last."""

    __tablename__ = "analytics_follower_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)
    followers: Mapped[int]
    # Fans in the newest-first follower page not seen there before (None: not observed).
    new_followers: Mapped[int | None]

    __table_args__ = (Index("ix_analytics_follower_snapshots_account_taken", "account_id", "taken_at"),)


class Follower(Base):
    """A fan seen in an account's follower list (the platform shows only the newest ones)."""

    __tablename__ = "analytics_followers"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    platform_uid: Mapped[str] = mapped_column(String(64))
    screen_name: Mapped[str] = mapped_column(String(120), default="")
    followers_count: Mapped[int | None]
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("account_id", "platform_uid"),)


class Followed(Base):
    """An account that one of our accounts follows, where the platform reveals it."""

    __tablename__ = "analytics_followed"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    platform_uid: Mapped[str] = mapped_column(String(64))
    screen_name: Mapped[str] = mapped_column(String(120), default="")
    followers_count: Mapped[int | None]
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("account_id", "platform_uid"),)


class FansDaily(Base):
    """Followers at the end of a local day (last snapshot), fans gained and lost that day."""

    __tablename__ = "analytics_fans_daily"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date]
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    followers: Mapped[int | None]
    gained: Mapped[int] = mapped_column(default=0)
    lost: Mapped[int] = mapped_column(default=0)

    __table_args__ = (UniqueConstraint("account_id", "day"),)


class EngagementSnapshot(Base):
    """Reposts, comments and likes of one sent post at one moment (filled by publishing)."""

    __tablename__ = "engagement_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    outbound_id: Mapped[int] = mapped_column(ForeignKey("outbound_messages.id", ondelete="CASCADE"))
    sampled_at: Mapped[datetime] = mapped_column(default=utcnow)
    reposts: Mapped[int] = mapped_column(default=0)
    comments: Mapped[int] = mapped_column(default=0)
    likes: Mapped[int] = mapped_column(default=0)

    __table_args__ = (Index("ix_engagement_snapshots_outbound_sampled", "outbound_id", "sampled_at"),)


class PostFact(Base):
    """One sent post with its latest engagement, as the publishing figures count it."""

    __tablename__ = "analytics_post_facts"

    outbound_id: Mapped[int] = mapped_column(
        ForeignKey("outbound_messages.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(40), default="")
    sent_at: Mapped[datetime]
    day: Mapped[date]
    hour: Mapped[int]  # local hour 0-23
    weekday: Mapped[int]  # Monday = 0
    reposts: Mapped[int] = mapped_column(default=0)
    comments: Mapped[int] = mapped_column(default=0)
    likes: Mapped[int] = mapped_column(default=0)

    __table_args__ = (Index("ix_analytics_post_facts_day_account", "day", "account_id"),)

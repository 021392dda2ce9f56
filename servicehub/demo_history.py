"""Months of plausible history for the demo, so every analytics chart has something to show.

The live simulator only starts talking when the hub starts; a manager opening the
dashboards of a fresh demo would see one afternoon. This writes ``MONTHS`` months before
today for the demo accounts, quickly (bulk inserts, no filters, no routing) and once (a
second start finds its rows and only makes sure the rollups exist):

- customers -- the simulator's own recurring customers (so the fans in the graph are the
  people who keep writing live) and more;
- messages of every kind: mentions, reposts (``retweeted_status``), comments, replies to
  other fans (``reply_comment``), private messages, dropped spam, WeChat follow events; more on
  weekdays, a slow rise over the months, and a burst of complaints about broadband outages
  today and yesterday (an alert on the overview);
- service requests for the kept ones, answered and resolved by the accounts' operators
  with realistic delays, some late, the most recent still open;
- daily follower snapshots, a follower list, followed accounts, and posts with
  engagement snapshots.

Then it rebuilds the rollups once. One call from :func:`servicehub.demo.seed_demo`.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicehub.adapters.simulator import corpus
from servicehub.analytics.rollup import rebuild
from servicehub.core.bulk import insert_rows, reserve_ids
from servicehub.core.db import is_postgres, utcnow
from servicehub.core.models import (
    Account,
    AccountOperator,
    AnalyticsWatermark,
    Customer,
    CustomerIdentity,
    EngagementSnapshot,
    Followed,
    Follower,
    FollowerSnapshot,
    Message,
    OutboundMessage,
    RequestState,
    ServiceRequest,
)
from servicehub.core.runtime import Runtime

log = logging.getLogger(__name__)

MONTHS = 6
MARK = "hist-"  # platform ids (and thread keys) of history rows
CATEGORIES = ("announcement", "promotion", "knowledge", "other", "service_notice")
POST_TEXTS = {  # by publication category (``Category``)
    "announcement": "【服务公告】本周六凌晨 2:00-5:00 系统升级，期间话费查询暂停，敬请谅解。",
    "promotion": "【限时优惠】5G 畅爽套餐新用户首月 5 折，详情点击 http://10010.com/5g",
    "knowledge": "【资费说明】国际漫游流量包按天计费，出境前请在 APP 开通。",
    "other": "【节日快乐】感谢一路相伴，祝您节日快乐！",
    "service_notice": "【网络维护】部分地区宽带今晚割接，预计 1 小时内恢复。",
}
CHINA = timezone(timedelta(hours=8))  # the demo's customers write in China time
FOLLOWED = (("中国联通", 8_500_000), ("联通5G", 1_200_000), ("联通宽带", 430_000), ("沃派", 260_000))
OUTAGE = "宽带又断网了，{place}一整片都上不了网，已经报修两次了，到底什么时候修好？"
PLACES = ("朝阳区", "天河区", "浦东新区", "武侯区", "西湖区")


def seed_history(
    runtime: Runtime, *, months: int = MONTHS, seed: int = 15, now: datetime | None = None
) -> int:
    """Write the history once (returns how many messages it wrote; 0 when already there)."""
    now = now or utcnow()
    with runtime.sessions() as session:
        accounts = list(session.scalars(select(Account).order_by(Account.id)))
        done = session.scalar(
            select(func.count()).select_from(Message).where(Message.platform_id.like(f"{MARK}%"))
        )
        built = session.get(AnalyticsWatermark, "messages") is not None
    if not accounts:
        return 0
    if done:
        if not built:
            rebuild(runtime)
        return 0
    rng = random.Random(seed)
    written = 0
    with runtime.sessions.begin() as session:
        people = _customers(session, runtime)
        openids = _wechat_customers(session)
        for account in accounts:
            fans = people if account.platform == "weibo" else openids
            written += _account_history(session, account, fans, rng, now, months)
    report = rebuild(runtime)
    log.info("demo history: %d messages over %d months; rollups: %s", written, months, report)
    return written


# -- people --------------------------------------------------------------------------------------


def _customers(session: Session, runtime: Runtime) -> list[tuple[int, str, str, int]]:
    """(customer id, uid, screen name, followers) of the simulator's customers and some more."""
    now = utcnow().timestamp()
    pool = corpus.build_customers(runtime.settings.simulator.seed, 80, now)
    pool += corpus.build_customers(runtime.settings.simulator.seed + 1000, 220, now)
    known = {
        uid: cid
        for uid, cid in session.execute(
            select(CustomerIdentity.platform_uid, CustomerIdentity.customer_id).where(
                CustomerIdentity.platform == "weibo"
            )
        )
    }
    people = []
    for user in pool:
        uid = str(user.uid)
        if uid in known:
            people.append((known[uid], uid, user.screen_name, user.followers_base))
            continue
        customer = Customer(display_name=user.screen_name, tier=1 if user.verified else 0, tags=[])
        session.add(customer)
        session.flush()
        session.add(
            CustomerIdentity(
                customer_id=customer.id,
                platform="weibo",
                platform_uid=uid,
                screen_name=user.screen_name,
                followers_count=user.followers_base,
            )
        )
        known[uid] = customer.id
        people.append((customer.id, uid, user.screen_name, user.followers_base))
    session.flush()
    return people


def _wechat_customers(session: Session, count: int = 40) -> list[tuple[int, str, str, int]]:
    """Followers of the WeChat account, known by their openids only (as WeChat shows them)."""
    people = []
    for index in range(count):
        openid = f"o_hist_{index:02d}"
        found = session.scalar(
            select(CustomerIdentity.customer_id).where(
                CustomerIdentity.platform == "wechat", CustomerIdentity.platform_uid == openid
            )
        )
        if found is None:
            customer = Customer(display_name=f"微信用户{index + 1:02d}", tags=[])
            session.add(customer)
            session.flush()
            session.add(
                CustomerIdentity(
                    customer_id=customer.id,
                    platform="wechat",
                    platform_uid=openid,
                    screen_name=customer.display_name,
                )
            )
            found = customer.id
        people.append((found, openid, f"微信用户{index + 1:02d}", 0))
    session.flush()
    return people


def _today(now: datetime) -> date:
    return now.astimezone(CHINA).date()


def _new_ids(session: Session, table: str, model: Any, count: int) -> list[int]:
    if count == 0:
        return []
    if is_postgres(session):
        return reserve_ids(session, table, count)
    start = int(session.scalar(select(func.max(model.id))) or 0) + 1
    return list(range(start, start + count))


# -- one account ---------------------------------------------------------------------------------


def _texts(rng: random.Random, pool: Sequence[str], name: str) -> str:
    return corpus.fill(rng.choice(pool), rng).replace(corpus.ACCOUNT, name)


def _account_history(
    session: Session,
    account: Account,
    people: list[tuple[int, str, str, int]],
    rng: random.Random,
    now: datetime,
    months: int,
) -> int:
    operators = list(
        session.scalars(select(AccountOperator.user_id).where(AccountOperator.account_id == account.id))
    )
    wechat = account.platform != "weibo"
    first = _today(now) - timedelta(days=months * 30)
    days = (_today(now) - first).days
    fans = people[:150]
    messages: list[dict[str, Any]] = []
    requests: list[dict[str, Any]] = []
    counter = 0
    for offset in range(days + 1):
        day = first + timedelta(days=offset)
        growth = 0.6 + 0.4 * offset / max(days, 1)
        weekday_factor = 1.0 if day.weekday() < 5 else 0.65
        volume = int(rng.gauss(60 if not wechat else 20, 8) * growth * weekday_factor)
        outage = (
            (_today(now) - day).days in (0, 1)
            and account.platform == "weibo"
            and not messages_of_partner(account)
        )
        for _ in range(max(0, volume)):
            counter += 1
            at = _moment(rng, day, now)
            if at is None:
                continue
            customer = rng.choice(fans)
            row, request = _one(account, customer, fans, rng, at, now, operators, counter, wechat)
            messages.append(row)
            if request is not None:
                requests.append(request)
        if outage:
            for _ in range(rng.randrange(55, 70)):
                counter += 1
                at = _moment(rng, day, now)
                if at is None:
                    continue
                customer = rng.choice(fans)
                text = OUTAGE.format(place=rng.choice(PLACES))
                row, request = _one(
                    account, customer, fans, rng, at, now, operators, counter, wechat, text=text
                )
                messages.append(row)
                if request is not None:
                    requests.append(request)
    ids = _new_ids(session, "service_requests", ServiceRequest, len(requests))
    for request, request_id in zip(requests, ids, strict=True):
        request["id"] = request_id
        request["message"]["request_id"] = request_id
        request["message"]["routed"] = True
    stored = [{k: v for k, v in r.items() if k != "message"} for r in requests]
    for part in range(0, len(stored), 2000):
        insert_rows(session, ServiceRequest, stored[part : part + 2000])
    for part in range(0, len(messages), 2000):
        insert_rows(session, Message, messages[part : part + 2000])
    if not wechat:
        _fans_and_posts(session, account, people, rng, first, now)
    return len(messages)


def messages_of_partner(account: Account) -> bool:
    """The outage burst is on the in-house accounts (the partner's account stays calm)."""
    return account.display_name.startswith("联通上海")


def _moment(rng: random.Random, day: date, now: datetime) -> datetime | None:
    hour = min(23, max(0, int(rng.gauss(14, 4.5))))
    at = datetime(day.year, day.month, day.day, hour, rng.randrange(60), rng.randrange(60), tzinfo=CHINA)
    return at if at < now - timedelta(minutes=5) else None


def _one(
    account: Account,
    customer: tuple[int, str, str, int],
    fans: list[tuple[int, str, str, int]],
    rng: random.Random,
    at: datetime,
    now: datetime,
    operators: list[int],
    counter: int,
    wechat: bool,
    text: str | None = None,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """One message row (and the request it opens, when kept)."""
    roll = rng.random()
    raw: dict[str, Any] = {}
    keep, reason = True, None
    sentiment: str | None = "neutral"
    if text is not None:
        kind, sentiment = "mention", "negative"
    elif wechat:
        kind = "private_message"
        if roll < 0.08:
            kind, keep, reason, sentiment = "event", False, "event", None
            event = "subscribe" if rng.random() < 0.7 else "unsubscribe"
            raw, text = {"Event": event, "MsgType": "event"}, event
    elif roll < 0.05:
        kind, keep, reason, sentiment, text = "mention", False, "spam", None, _texts(rng, corpus.SPAM, "")
    elif roll < 0.35:
        kind = "mention"
    elif roll < 0.45:
        kind = "mention"
        other = rng.choice(fans)
        raw = {"retweeted_status": {"user": {"idstr": other[1]}}}
        text = f"//@{other[2]}:{_texts(rng, corpus.COMPLAINTS, account.display_name)}"
    elif roll < 0.72:
        kind = "comment"
    elif roll < 0.82:
        kind = "comment"
        other = rng.choice(fans)
        raw = {"reply_comment": {"user": {"idstr": other[1]}}}
        text = f"回复@{other[2]}:{_texts(rng, corpus.FOLLOW_UPS + corpus.COMPLAINTS, account.display_name)}"
    else:
        kind = "private_message"
    if text is None:
        pick = rng.random()
        if pick < 0.42:
            text, sentiment = _texts(rng, corpus.COMPLAINTS, account.display_name), "negative"
        elif pick < 0.8:
            text, sentiment = _texts(rng, corpus.QUESTIONS + corpus.MESSAGES, account.display_name), "neutral"
        else:
            text, sentiment = _texts(rng, corpus.PRAISE, account.display_name), "positive"
        if kind == "mention" and f"@{account.display_name}" not in text:
            text = f"@{account.display_name} {text}"
    uid, name = customer[1], customer[2]
    row = {
        "platform": account.platform,
        "kind": kind,
        "platform_id": f"{MARK}{account.id}-{counter}",
        "account_id": account.id,
        "customer_id": customer[0],
        "author_uid": uid,
        "author_name": name,
        "text": text,
        "created_at": at,
        "received_at": at + timedelta(seconds=rng.randrange(2, 40)),
        "thread_id": f"{MARK}{counter}",
        "reply_target": {},
        "raw": raw,
        "keep": keep,
        "drop_reason": reason,
        "tags": [],
        "sentiment": {"negative": 0.15, "neutral": 0.5, "positive": 0.85}.get(sentiment or ""),
        "sentiment_label": sentiment,
        "duplicate_of": None,
        "routed": not keep,
        "request_id": None,
    }
    if not keep:
        return row, None
    return row, _request(row, rng, at, now, operators, account, customer)


def _request(
    message: dict[str, Any],
    rng: random.Random,
    at: datetime,
    now: datetime,
    operators: list[int],
    account: Account,
    customer: tuple[int, str, str, int],
) -> dict[str, Any]:
    priority = 2 if message["sentiment_label"] == "negative" else 1
    due = at + timedelta(minutes=120 if priority == 2 else 480)
    wait = timedelta(minutes=max(1.0, rng.lognormvariate(math.log(35), 1.0)))
    responded = at + wait if at + wait < now else None
    resolved = None
    recent = now - at < timedelta(days=3)
    if responded is not None and (not recent or rng.random() < 0.7):
        resolved = responded + timedelta(minutes=max(5.0, rng.lognormvariate(math.log(240), 1.1)))
        if resolved >= now:
            resolved = None
    state = (
        RequestState.RESOLVED
        if resolved
        else (RequestState.IN_PROGRESS if responded else RequestState.ASSIGNED)
    )
    return {
        "account_id": account.id,
        "customer_id": customer[0],
        "thread_key": f"{message['thread_id']}:{message['author_uid']}",
        "state": state,
        "priority": priority,
        "subject": message["text"][:200],
        "assignee_id": rng.choice(operators) if operators else None,
        "team_id": None,
        "sentiment": message["sentiment"],
        "message_count": 1,
        "created_at": at,
        "updated_at": resolved or responded or at,
        "last_message_at": at,
        "due_at": due,
        "first_response_at": responded,
        "resolved_at": resolved,
        "message": message,
    }


# -- fans, followers and posts -------------------------------------------------------------------


def _fans_and_posts(
    session: Session,
    account: Account,
    people: list[tuple[int, str, str, int]],
    rng: random.Random,
    first: date,
    now: datetime,
) -> None:
    followers = 52_000 if not messages_of_partner(account) else 8_600
    snapshots = []
    day = first
    while day <= _today(now):
        gained = rng.randrange(20, 90)
        lost = rng.randrange(5, 40)
        followers += gained - lost
        taken = datetime(day.year, day.month, day.day, 9, 0, tzinfo=CHINA)
        if taken < now:
            snapshots.append(
                {"account_id": account.id, "taken_at": taken, "followers": followers, "new_followers": gained}
            )
        day += timedelta(days=1)
    insert_rows(session, FollowerSnapshot, snapshots)
    seen = rng.sample(people[:150], 60)
    insert_rows(
        session,
        Follower,
        [
            {
                "account_id": account.id,
                "platform_uid": uid,
                "screen_name": name,
                "followers_count": count,
                "first_seen_at": now - timedelta(days=rng.randrange(1, 150)),
                "last_seen_at": now,
            }
            for _, uid, name, count in seen
        ],
    )
    insert_rows(
        session,
        Followed,
        [
            {
                "account_id": account.id,
                "platform_uid": f"hist-followed-{index}",
                "screen_name": name,
                "followers_count": count,
                "first_seen_at": now,
                "last_seen_at": now,
            }
            for index, (name, count) in enumerate(FOLLOWED)
        ],
    )
    posts, samples = [], []
    day = first
    ids_needed = 0
    plan = []
    while day < _today(now):
        for _ in range(rng.choice((1, 2, 2, 3))):
            hour = rng.choice((8, 9, 10, 12, 12, 15, 18, 19, 20, 20, 21))
            sent = datetime(day.year, day.month, day.day, hour, rng.randrange(60), tzinfo=CHINA)
            plan.append((sent, rng.choice(CATEGORIES)))
            ids_needed += 1
        day += timedelta(days=1)
    ids = _new_ids(session, "outbound_messages", OutboundMessage, ids_needed)
    for (sent, category), post_id in zip(plan, ids, strict=True):
        text = POST_TEXTS[category]
        posts.append(
            {
                "id": post_id,
                "account_id": account.id,
                "request_id": None,
                "kind": "post",
                "target": {"category": category},
                "text": text,
                "idempotency_key": f"{MARK}post-{post_id}",
                "state": "sent",
                "platform_id": f"{MARK}{post_id}",
                "sent_text": text,
                "error": "",
                "attempts": 1,
                "created_by": None,
                "created_at": sent - timedelta(minutes=5),
                "sent_at": sent,
            }
        )
        evening = 1.6 if 18 <= sent.hour <= 21 else 1.0
        appeal = {"promotion": 2.2, "other": 1.5}.get(category, 1.0) * evening
        for hours in (2, 24):
            if sent + timedelta(hours=hours) < now:
                grow = 0.6 if hours == 2 else 1.0
                samples.append(
                    {
                        "outbound_id": post_id,
                        "sampled_at": sent + timedelta(hours=hours),
                        "reposts": int(rng.randrange(2, 40) * appeal * grow),
                        "comments": int(rng.randrange(3, 60) * appeal * grow),
                        "likes": int(rng.randrange(10, 300) * appeal * grow),
                    }
                )
    insert_rows(session, OutboundMessage, posts)
    insert_rows(session, EngagementSnapshot, samples)

"""Publishing over HTTP against the simulator (issue 14): several accounts at once, private
messages to a contact list, scheduling on a controlled clock, approval, a crash between the
platform call and the commit, and tracking that follows the platform's counts -- through a
rate-limit storm that must not touch service polling."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from servicehub.core.db import utcnow
from servicehub.core.errors import ActionError
from servicehub.core.models import (
    Account,
    AccountPause,
    Category,
    Customer,
    DeliveryState,
    EngagementSnapshot,
    ErrorKind,
    Health,
    Message,
    Notification,
    OutboundKind,
    OutboundMessage,
    PollCursor,
    Publication,
    PublicationState,
    TrackedPost,
)
from servicehub.core.permissions import NotVisible
from servicehub.core.tasks import SyncRunner
from servicehub.listener.poller import poll_cursor
from servicehub.publishing import delivery, images, tracking
from servicehub.publishing.audiences import ListRule, do_add_members, do_save_list
from servicehub.publishing.compose import Draft, TargetSpec
from servicehub.publishing.monitor import monitor
from servicehub.publishing.outbox import do_queue_reply, due_for_retry, send_outbound, sweep_interrupted
from servicehub.publishing.publications import access_publication, do_review, do_submit
from servicehub.publishing.release import release_due
from servicehub.publishing.tracking import TRACKING, track_due
from tests.factories import principal_of
from tests.live import LiveHub, add_live_wechat_account, live_hub

UID, PARTNER_UID = "1902538057", "1902538058"
LINK = "https://www.10010.com/5g"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[LiveHub]:
    with live_hub(tmp_path, SyncRunner(), serve_web=False, weibo={"share_domains": "10010.com"}) as h:
        yield h


def _submit(hub: LiveHub, user_id: int, draft: Draft, nonce: str = "n1", now: datetime | None = None) -> int:
    with hub.runtime.sessions() as s:
        publication = do_submit(s, hub.runtime, principal_of(s, user_id), draft, nonce=nonce, now=now)
        s.commit()
        return publication.id


def _post(text: str, *account_ids: int, at: datetime | None = None) -> Draft:
    targets = tuple(TargetSpec(a, as_post=True) for a in account_ids)
    return Draft(text=text, category=Category.ANNOUNCEMENT, targets=targets, scheduled_at=at)


def _rows(hub: LiveHub, publication_id: int) -> list[OutboundMessage]:
    with hub.runtime.sessions() as s:
        rows = list(
            s.scalars(
                select(OutboundMessage)
                .where(OutboundMessage.publication_id == publication_id)
                .order_by(OutboundMessage.id)
            )
        )
        s.expunge_all()
        return rows


def _shares(hub: LiveHub) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = hub.sim_call("GET", "/_sim/outbox?endpoint=statuses/share")["items"]
    return items


def _cursor(hub: LiveHub, source: str) -> int:
    """The in-house Weibo account's poll cursor of ``source``."""
    with hub.runtime.sessions() as s:
        return s.scalars(
            select(PollCursor.id).where(
                PollCursor.account_id == hub.world.inhouse_account_id, PollCursor.source == source
            )
        ).one()


def _state(hub: LiveHub, publication_id: int) -> PublicationState:
    with hub.runtime.sessions() as s:
        publication = s.get(Publication, publication_id)
        assert publication is not None
        return publication.state


# -- several accounts at once ---------------------------------------------------------------


def test_a_post_to_two_accounts_goes_out_once_on_each(hub: LiveHub) -> None:
    w = hub.world
    draft = _post(f"宽带提速通知：本周六起全城千兆 {LINK}", w.inhouse_account_id, w.partner_account_id)
    publication_id = _submit(hub, w.admin_id, draft)
    assert _submit(hub, w.admin_id, draft) == publication_id  # a double-clicked submit adds nothing

    rows = _rows(hub, publication_id)
    assert [r.state for r in rows] == [DeliveryState.SENT, DeliveryState.SENT]
    shares = _shares(hub)
    assert sorted(str(s["uid"]) for s in shares) == [UID, PARTNER_UID]
    assert {r.platform_id for r in rows} == {str(s["id"]) for s in shares}
    assert all(r.target["category"] == "announcement" for r in rows)
    assert _state(hub, publication_id) == PublicationState.RELEASED
    with hub.runtime.sessions() as s:
        tracked = {t.platform_id for t in s.scalars(select(TrackedPost))}
    assert tracked == {r.platform_id for r in rows}


def test_a_post_the_platform_would_refuse_says_why_per_account_and_queues_nothing(hub: LiveHub) -> None:
    w = hub.world
    draft = _post("#宽带提速# 没有链接的微博", w.inhouse_account_id, w.partner_account_id)
    with pytest.raises(ActionError) as refused:
        _submit(hub, w.admin_id, draft)
    assert refused.value.code == "publish_problems"
    problems = refused.value.params["problems"]
    assert isinstance(problems, list)
    both = (w.inhouse_account_id, w.partner_account_id)
    expected = [(a, code) for a in both for code in ("topic", "domain")]
    assert sorted((p.account_id, p.code) for p in problems) == sorted(expected)
    with hub.runtime.sessions() as s:
        assert s.scalars(select(Publication)).first() is None
    assert _shares(hub) == []


# -- private messages to a group ------------------------------------------------------------


def _customers_who_wrote(hub: LiveHub, n: int, *, hours_ago: float = 0.0) -> list[int]:
    """``n`` simulated fans who follow the account and sent it a private message (that long
    ago), taken in by the hub's poller; returns their customer ids."""
    if hours_ago:
        made = hub.sim_call(
            "POST",
            "/_sim/backlog",
            account_uid=UID,
            n=n,
            kind="message",
            text="私信{i}",
            from_hours=hours_ago + 1,
            to_hours=hours_ago,
        )
    else:
        made = hub.sim_call(
            "POST", "/_sim/burst", account_uid=UID, n=n, kind="message", text="私信{i}", push=False
        )
    cursor = _cursor(hub, "direct_messages")
    assert poll_cursor(hub.runtime, cursor).error == ""
    with hub.runtime.sessions() as s:
        rows = s.execute(
            select(Message.customer_id, Message.author_uid).where(Message.platform_id.in_(made["ids"]))
        ).all()
    for _, uid in rows:
        hub.sim_call("POST", "/_sim/events", account_uid=UID, user_uid=uid, subtype="follow")
    return sorted({c for c, _ in rows if c is not None})


def test_private_messages_to_a_contact_list_reach_each_reachable_member_once(hub: LiveHub) -> None:
    w = hub.world
    stale = _customers_who_wrote(hub, 2, hours_ago=60)  # beyond the 48-hour window
    recent = _customers_who_wrote(hub, 3)
    assert len(stale) == 2 and len(recent) == 3 and not set(stale) & set(recent)
    with hub.runtime.sessions() as s:
        for customer in s.scalars(select(Customer).where(Customer.id.in_(recent[:2] + stale[:1]))):
            customer.tags = ["宽带"]
        who = principal_of(s, w.operator_id)
        by_tag = do_save_list(s, who, name="宽带用户", rule=ListRule(tags=("宽带",)))
        by_hand = do_save_list(s, who, name="回访名单", rule=ListRule())
        do_add_members(s, who, by_hand.id, [recent[2], recent[0]])
        s.commit()
        lists = (by_tag.id, by_hand.id)
    draft = Draft(
        text="您好，您反馈的宽带问题已处理，如仍有疑问请回复本消息。",
        category=Category.SERVICE_NOTICE,
        targets=(TargetSpec(w.inhouse_account_id, list_ids=lists),),
    )
    publication_id = _submit(hub, w.operator_id, draft)

    rows = _rows(hub, publication_id)
    sent = [r for r in rows if r.state == DeliveryState.SENT]
    refused = [r for r in rows if r.state == DeliveryState.FAILED]
    assert sorted(r.target["customer_id"] for r in sent) == recent  # recent[0] is in both lists: once
    assert [r.target["customer_id"] for r in refused] == stale[:1]
    assert refused[0].error_kind == ErrorKind.WINDOW_CLOSED and refused[0].attempts == 0
    receivers = hub.sim_call("GET", "/_sim/outbox?endpoint=direct_messages/new")["items"]
    assert sorted(str(m["receiver_id"]) for m in receivers) == sorted(r.target["user_uid"] for r in sent)
    assert all(r.kind == OutboundKind.DIRECT_MESSAGE for r in rows)


# -- schedule and approval ------------------------------------------------------------------


def test_a_scheduled_publication_goes_at_its_time_and_not_before(hub: LiveHub) -> None:
    w = hub.world
    now = utcnow()
    at = now + timedelta(hours=2)
    publication_id = _submit(
        hub, w.operator_id, _post(f"周末营业厅延长营业 {LINK}", w.inhouse_account_id, at=at)
    )
    assert _state(hub, publication_id) == PublicationState.SCHEDULED
    assert release_due(hub.runtime, now=now + timedelta(hours=1)) == []
    assert _shares(hub) == [] and _rows(hub, publication_id) == []
    assert release_due(hub.runtime, now=at + timedelta(seconds=1)) == [publication_id]
    assert release_due(hub.runtime, now=at + timedelta(seconds=2)) == []  # released once
    assert [r.state for r in _rows(hub, publication_id)] == [DeliveryState.SENT]
    assert len(_shares(hub)) == 1


def test_a_partner_publication_waits_for_approval_and_a_rejection_says_why(hub: LiveHub) -> None:
    w = hub.world
    publication_id = _submit(hub, w.partner_id, _post(f"上海地区宽带维护通知 {LINK}", w.partner_account_id))
    assert _state(hub, publication_id) == PublicationState.PENDING
    assert _shares(hub) == []
    with hub.runtime.sessions() as s:
        told = set(
            s.scalars(select(Notification.user_id).where(Notification.publication_id == publication_id))
        )
    assert w.manager_id in told and w.partner_id not in told

    with hub.runtime.sessions() as s:
        with pytest.raises(ActionError) as no_comment:
            do_review(s, hub.runtime, principal_of(s, w.manager_id), publication_id, approve=False)
        assert no_comment.value.code == "comment_required"
        with pytest.raises(NotVisible):  # an operator may not approve
            do_review(s, hub.runtime, principal_of(s, w.operator_id), publication_id, approve=True)
    with hub.runtime.sessions() as s:
        do_review(
            s,
            hub.runtime,
            principal_of(s, w.manager_id),
            publication_id,
            approve=False,
            comment="链接请换成活动页",
        )
        s.commit()
    assert _state(hub, publication_id) == PublicationState.REJECTED

    second = _submit(
        hub, w.partner_id, _post(f"上海地区宽带维护通知 {LINK}/sh", w.partner_account_id), nonce="n2"
    )
    with hub.runtime.sessions() as s:
        do_review(s, hub.runtime, principal_of(s, w.manager_id), second, approve=True, comment="可以")
        s.commit()
    assert _state(hub, second) == PublicationState.RELEASED
    assert [str(s["uid"]) for s in _shares(hub)] == [PARTNER_UID]


def test_partners_see_and_publish_only_within_their_scope(hub: LiveHub) -> None:
    w = hub.world
    both = _submit(hub, w.admin_id, _post(f"全网公告 {LINK}", w.inhouse_account_id, w.partner_account_id))
    own = _submit(hub, w.partner_id, _post(f"上海公告 {LINK}", w.partner_account_id), nonce="p1")
    with hub.runtime.sessions() as s:
        partner, other = principal_of(s, w.partner_id), principal_of(s, w.other_partner_id)
        with pytest.raises(NotVisible):
            access_publication(s, partner, both)  # reaches an account outside the partner's scope
        assert access_publication(s, partner, own).id == own
        with pytest.raises(NotVisible):
            access_publication(s, other, own)
    with pytest.raises(NotVisible):
        _submit(hub, w.partner_id, _post(f"越权 {LINK}", w.inhouse_account_id), nonce="p2")


# -- a crash between the platform call and the commit --------------------------------------


class Crash(BaseException):
    """The worker dies: nothing after the platform call is committed."""


def test_a_crash_after_the_platform_took_the_post_is_reconciled_not_posted_again(
    hub: LiveHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    w = hub.world
    real_sent = delivery.sent

    def die(*args: Any, **kwargs: Any) -> None:
        raise Crash

    monkeypatch.setattr(delivery, "sent", die)
    with pytest.raises(Crash):
        _submit(hub, w.operator_id, _post(f"新品上市 {LINK}", w.inhouse_account_id))
    with hub.runtime.sessions() as s:
        row = s.scalars(select(OutboundMessage).where(OutboundMessage.kind == OutboundKind.POST)).one()
        assert row.state == DeliveryState.SENDING  # claimed; the send's outcome never committed
        row_id = row.id
    assert len(_shares(hub)) == 1  # ...but Weibo has the post
    monkeypatch.setattr(delivery, "sent", real_sent)

    assert sweep_interrupted(hub.runtime, now=utcnow() + timedelta(minutes=6)) == [row_id]
    assert send_outbound(hub.runtime, row_id) == DeliveryState.SENT
    shares = _shares(hub)
    assert len(shares) == 1
    [row] = [r for r in _rows_all(hub) if r.id == row_id]
    assert row.platform_id == str(shares[0]["id"]) and not row.in_doubt


def _rows_all(hub: LiveHub) -> list[OutboundMessage]:
    with hub.runtime.sessions() as s:
        rows = list(s.scalars(select(OutboundMessage)))
        s.expunge_all()
        return rows


# -- tracking -------------------------------------------------------------------------------


def _one_post(hub: LiveHub) -> OutboundMessage:
    publication_id = _submit(
        hub, hub.world.operator_id, _post(f"流量包优惠 {LINK}", hub.world.inhouse_account_id)
    )
    [row] = _rows(hub, publication_id)
    assert row.state == DeliveryState.SENT and row.sent_at is not None
    return row


def _snapshots(hub: LiveHub, outbound_id: int) -> list[tuple[int, int, int]]:
    with hub.runtime.sessions() as s:
        return [
            (e.reposts, e.comments, e.likes)
            for e in s.scalars(
                select(EngagementSnapshot)
                .where(EngagementSnapshot.outbound_id == outbound_id)
                .order_by(EngagementSnapshot.sampled_at)
            )
        ]


def test_tracking_follows_the_simulator_counts_often_at_first_then_less(hub: LiveHub) -> None:
    row = _one_post(hub)
    assert row.sent_at is not None
    start = row.sent_at
    hub.sim_call("POST", "/_sim/engagement", status_id=row.platform_id, likes=5, comments=2)
    assert track_due(hub.runtime, now=start + timedelta(seconds=20)).calls == 0  # not due yet
    assert track_due(hub.runtime, now=start + timedelta(seconds=31)).calls == 1  # the first: soon
    hub.sim_call("POST", "/_sim/engagement", status_id=row.platform_id, likes=7)
    assert track_due(hub.runtime, now=start + timedelta(seconds=61)).calls == 0  # every minute now
    assert track_due(hub.runtime, now=start + timedelta(seconds=92)).calls == 1
    assert _snapshots(hub, row.id) == [(0, 2, 5), (0, 2, 12)]
    # an hour on, the post is sampled every 15 minutes, not every minute
    assert track_due(hub.runtime, now=start + timedelta(hours=1, minutes=1)).calls == 1
    assert track_due(hub.runtime, now=start + timedelta(hours=1, minutes=3)).calls == 0
    with hub.runtime.sessions() as s:
        tracked = s.get(TrackedPost, row.id)
        assert tracked is not None and tracked.likes == 12 and tracked.samples == 3
        assert tracked.next_at == start + timedelta(hours=1, minutes=16)


def test_a_rate_limit_storm_while_tracking_leaves_service_polling_unharmed(hub: LiveHub) -> None:
    row = _one_post(hub)
    assert row.sent_at is not None
    hub.sim_call(
        "POST", "/_sim/faults", errors=[{"path": "/2/statuses/count.json", "code": 10023, "times": 50}]
    )
    start = utcnow() + timedelta(minutes=2)
    report = track_due(hub.runtime, now=start)
    assert report.calls == 1 and report.sampled == 0
    with hub.runtime.sessions() as s:
        pauses = {p.scope for p in s.scalars(select(AccountPause))}
        account = s.get(Account, hub.world.inhouse_account_id)
        assert account is not None and account.health == Health.OK and account.rate_limited_until is None
    cursor = _cursor(hub, "mentions")
    assert pauses == {TRACKING}
    # paused for as long as Weibo said: the next rounds make no call at all
    assert track_due(hub.runtime, now=start + timedelta(seconds=30)).calls == 0
    mention = hub.sim_call("POST", "/_sim/mentions", account_uid=UID, text="@中国联通客服 宽带又断了，快来人")
    outcome = poll_cursor(hub.runtime, cursor)
    assert outcome.error == "" and outcome.stored == 1
    with hub.runtime.sessions() as s:
        stored = s.scalars(select(Message).where(Message.platform_id == str(mention["id"]))).one()
        assert stored.request_id is not None
    # the storm over and the pause ended, tracking takes up where it stopped
    hub.sim_call("POST", "/_sim/faults", clear=True)
    resumed = track_due(hub.runtime, now=start + timedelta(minutes=10))
    assert (resumed.calls, resumed.sampled) == (1, 1)


def test_the_monitor_shows_deliveries_counts_replies_and_the_requests_they_caused(hub: LiveHub) -> None:
    row = _one_post(hub)
    assert row.sent_at is not None and row.publication_id is not None
    text = "办了这个流量包网速反而更慢了，太坑了，请回电13812345678"
    hub.sim_call("POST", "/_sim/comments", account_uid=UID, status_id=row.platform_id, text=text)
    hub.sim_call("POST", "/_sim/comments", account_uid=UID, status_id=row.platform_id, text="[赞][赞]")
    hub.sim_call("POST", "/_sim/engagement", status_id=row.platform_id, likes=4)
    cursor = _cursor(hub, "comments_to_me")
    assert poll_cursor(hub.runtime, cursor).error == ""
    track_due(hub.runtime, now=row.sent_at + timedelta(minutes=1))
    with hub.runtime.sessions() as s:
        view = monitor(s, principal_of(s, hub.world.operator_id), row.publication_id)
        approver = monitor(s, principal_of(s, hub.world.manager_id), row.publication_id)
        with pytest.raises(NotVisible):
            monitor(s, principal_of(s, hub.world.partner_id), row.publication_id)
    assert [(d.account, d.state) for d in view.deliveries] == [("中国联通客服", "sent")]
    [samples] = view.series.values()
    assert [(x.comments, x.likes) for x in samples] == [(2, 4)]
    assert view.reaction_count == 2
    complaint = next(r for r in view.reactions if r.text == text)
    assert complaint.kind == "comment" and complaint.sentiment == "negative"
    assert complaint.request_id is not None
    assert [request_id for request_id, _, _ in view.requests] == [complaint.request_id]
    assert {r.message_id for r in approver.reactions} == {r.message_id for r in view.reactions}


# -- WeChat: mass send by the account's own tags --------------------------------------------


@pytest.fixture
def web_hub(tmp_path: Path) -> Iterator[LiveHub]:
    with live_hub(tmp_path, SyncRunner(), weibo={"share_domains": "10010.com"}) as h:
        yield h


def test_a_post_on_weibo_and_a_mass_send_by_wechat_tag_go_out_at_once_and_a_lost_answer_sends_once(
    web_hub: LiveHub,
) -> None:
    hub = web_hub
    wechat_id = add_live_wechat_account(hub, "wxpub1")
    tags = {t["name"]: t for t in hub.sim_call("GET", "/_sim/wechat/accounts/wxpub1/tags")["tags"]}
    broadband = tags["宽带用户"]
    hub.sim_call("POST", "/_sim/wechat/accounts/wxpub1/faults", api="mass/sendall", lose_ack_next=1)
    draft = Draft(
        text=f"宽带用户专享：免费提速到千兆，详见 {LINK}",
        category=Category.PROMOTION,
        targets=(
            TargetSpec(hub.world.inhouse_account_id, as_post=True),
            TargetSpec(wechat_id, tag_ids=(str(broadband["id"]),)),
        ),
    )
    publication_id = _submit(hub, hub.world.operator_id, draft)
    rows = {r.kind: r for r in _rows(hub, publication_id)}
    assert rows[OutboundKind.POST].state == DeliveryState.SENT
    mass = rows[OutboundKind.MASS]
    assert mass.state == DeliveryState.RETRY and mass.in_doubt  # the answer was lost
    assert mass.target["tag_name"] == "宽带用户"  # as people know it, read when submitted
    assert send_outbound(hub.runtime, mass.id) == DeliveryState.SENT  # same clientmsgid: 45065
    sent = hub.sim_call("GET", "/_sim/wechat/accounts/wxpub1/mass")["mass"]
    assert len(sent) == 1 and sorted(sent[0]["recipients"]) == sorted(broadband["openids"])
    [after] = [r for r in _rows(hub, publication_id) if r.kind == OutboundKind.MASS]
    assert after.platform_id == str(sent[0]["msg_id"])


def test_what_a_wechat_account_cannot_publish_is_refused_per_target(web_hub: LiveHub) -> None:
    hub = web_hub
    wechat_id = add_live_wechat_account(hub, "wxpub2")
    draft = Draft(
        text=f"公告 {LINK}",
        category=Category.ANNOUNCEMENT,
        targets=(TargetSpec(hub.world.inhouse_account_id, as_post=True), TargetSpec(wechat_id, as_post=True)),
    )
    with pytest.raises(ActionError) as refused:
        _submit(hub, hub.world.operator_id, draft)
    problems = refused.value.params["problems"]
    assert isinstance(problems, list)
    assert [(p.account_id, p.code) for p in problems] == [(wechat_id, "cannot_post")]
    gone = Draft(
        text="会员日", category=Category.PROMOTION, targets=(TargetSpec(wechat_id, tag_ids=("999",)),)
    )
    with pytest.raises(ActionError) as unknown:
        _submit(hub, hub.world.operator_id, gone, nonce="gone")
    assert [(p.account_id, p.code) for p in unknown.value.params["problems"]] == [(wechat_id, "unknown_tag")]


def test_the_reposts_and_comments_a_post_draws_are_taken_in_once_through_filters_and_routing(
    hub: LiveHub,
) -> None:
    row = _one_post(hub)
    assert row.sent_at is not None and row.publication_id is not None
    hub.sim_call("POST", f"/_sim/statuses/{row.platform_id}/reactions", likes=6, comments=3, reposts=4)
    hub.sim_call("POST", "/_sim/clock", advance_seconds=600)  # every planned reaction is in
    counts = hub.sim_call("POST", f"/_sim/statuses/{row.platform_id}/engage")
    assert (counts["reposts"], counts["comments"], counts["attitudes"]) == (4, 3, 6)

    assert track_due(hub.runtime, now=row.sent_at + timedelta(minutes=1)).sampled == 1  # reposts rose: read
    cursor = _cursor(hub, "comments_to_me")
    assert poll_cursor(hub.runtime, cursor).error == ""
    # a second sample with nothing new reads no reposts again, and stores nothing twice
    track_due(hub.runtime, now=row.sent_at + timedelta(minutes=2))
    with hub.runtime.sessions() as s:
        kinds = sorted(
            s.scalars(select(Message.kind).where(Message.account_id == hub.world.inhouse_account_id))
        )
        view = monitor(s, principal_of(s, hub.world.operator_id), row.publication_id)
        tracked = s.get(TrackedPost, row.id)
        assert tracked is not None and tracked.reposts_since is not None
    assert kinds.count("mention") == 4 and kinds.count("comment") == 3
    assert view.reaction_count == 7
    assert {r.kind for r in view.reactions} == {"repost", "comment"}
    assert view.requests  # the planned complaint became a service request


# -- a picture with the post ----------------------------------------------------------------

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082"
)


def test_a_post_carries_its_picture_to_weibo_as_multipart(hub: LiveHub) -> None:
    name = images.store_upload(hub.runtime, PNG)
    assert images.store_upload(hub.runtime, PNG) == name  # stored once, by its content
    draft = dataclasses.replace(_post(f"新品图集 {LINK}", hub.world.inhouse_account_id), image=name)
    [row] = _rows(hub, _submit(hub, hub.world.operator_id, draft))
    assert row.state == DeliveryState.SENT, row.error
    [share] = _shares(hub)
    assert share["result"]["pic_urls"] and share["result"]["original_pic"].endswith(".jpg")


def test_what_is_not_a_picture_is_refused_on_upload(hub: LiveHub) -> None:
    for data, code in ((b"%PDF-1.4 not a picture", "image_type"), (b"", "image_empty")):
        with pytest.raises(ActionError) as refused:
            images.store_upload(hub.runtime, data)
        assert refused.value.code == code
    draft = dataclasses.replace(_post(f"新品 {LINK}", hub.world.inhouse_account_id), image="../../etc/passwd")
    with pytest.raises(ActionError) as missing:
        _submit(hub, hub.world.operator_id, draft)
    assert missing.value.code == "image_missing"


def test_a_spent_mass_send_quota_waits_for_its_day_while_replies_on_the_account_go_on(
    web_hub: LiveHub,
) -> None:
    hub = web_hub
    wechat_id = add_live_wechat_account(hub, "wxpub3")
    hub.sim_call("POST", "/_sim/wechat/accounts/wxpub3/mass-quota", per_day=0)
    [tag] = [
        t for t in hub.sim_call("GET", "/_sim/wechat/accounts/wxpub3/tags")["tags"] if t["name"] == "VIP客户"
    ]
    draft = Draft(
        text="尊敬的VIP客户：本月积分翻倍。",
        category=Category.PROMOTION,
        targets=(TargetSpec(wechat_id, tag_ids=(str(tag["id"]),)),),
    )
    [mass] = _rows(hub, _submit(hub, hub.world.operator_id, draft))
    assert (mass.state, mass.error_kind) == (DeliveryState.RETRY, ErrorKind.RATE_LIMITED)
    with hub.runtime.sessions() as s:
        [pause] = list(s.scalars(select(AccountPause).where(AccountPause.account_id == wechat_id)))
        assert pause.scope == "writes:mass" and pause.until > utcnow() + timedelta(minutes=1)
    assert mass.id not in due_for_retry_now(hub)  # waits for the quota's day, no call meanwhile

    hub.sim_call(
        "POST", "/_sim/wechat/accounts/wxpub3/push", openid="o_fan_9", type="text", content="宽带坏了"
    )
    with hub.runtime.sessions() as s:
        request_id = s.scalars(select(Message.request_id).where(Message.platform == "wechat")).one()
        assert request_id is not None
        reply = do_queue_reply(
            s, hub.runtime, principal_of(s, hub.world.operator_id), request_id, "马上安排", nonce="r"
        )
        s.commit()
        reply_id = reply.id
    assert [r.state for r in _rows_all(hub) if r.id == reply_id] == [DeliveryState.SENT]


def due_for_retry_now(hub: LiveHub) -> list[int]:
    with hub.runtime.sessions() as s:
        return due_for_retry(s, now=utcnow() + timedelta(minutes=5))


def test_two_overlapping_tracking_rounds_read_a_post_once(hub: LiveHub) -> None:
    row = _one_post(hub)
    assert row.sent_at is not None
    due = row.sent_at + timedelta(minutes=1)
    with hub.runtime.sessions() as first, hub.runtime.sessions() as second:
        # both read before either claims (each ends its transaction: SQLite's file lock)
        mine = list(first.scalars(select(TrackedPost)))
        first.commit()
        theirs = list(second.scalars(select(TrackedPost)))
        second.commit()
        assert tracking._claim(first, mine, due)
        assert not tracking._claim(second, theirs, due)
    assert track_due(hub.runtime, now=due).calls == 0  # claimed: not due until the lease ends

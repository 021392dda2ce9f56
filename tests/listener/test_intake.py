from __future__ import annotations

import dataclasses

from sqlalchemy import func, select

from servicehub.adapters.base import InboundItem, ItemKind, PlatformUser
from servicehub.core.models import Account, Customer, CustomerIdentity, Message
from servicehub.core.runtime import Runtime
from servicehub.listener.filtering import chain_for
from servicehub.listener.intake import intake
from tests.concurrency import run_at_once
from tests.factories import build_world, mention


def _pushed(platform_id: str, text: str, uid: str = "2489518277") -> InboundItem:
    """A private message as a fans-service push delivers it: the sender's uid, no profile."""
    return dataclasses.replace(
        mention(platform_id, text),
        kind=ItemKind.PRIVATE_MESSAGE,
        author=PlatformUser(platform="weibo", uid=uid, screen_name=""),
    )


def _intake(runtime: Runtime, account_id: int, items: list) -> list[int]:  # type: ignore[type-arg]
    with runtime.sessions() as s:
        account = s.get(Account, account_id)
        assert account is not None
        ids = intake(s, account, items, chain_for(s, runtime))
        s.commit()
        return ids


def test_replayed_page_adds_nothing_and_returns_only_new_ids(runtime: Runtime) -> None:
    world = build_world(runtime)
    page = [
        mention("4900000000000001", "宽带又断网了，三天了没人管！"),
        mention("4900000000000002", "话费怎么多扣了20元？", author_uid="77"),
    ]
    first = _intake(runtime, world.inhouse_account_id, page)
    again = _intake(runtime, world.inhouse_account_id, page)
    more = _intake(
        runtime, world.inhouse_account_id, [*page, mention("4900000000000003", "5G信号太差", author_uid="78")]
    )
    assert len(first) == 2
    assert again == []
    assert len(more) == 1
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 3


def test_same_post_heard_by_two_accounts_is_kept_for_each(runtime: Runtime) -> None:
    world = build_world(runtime)
    item = mention("4900000000000009", "@中国联通客服 @联通上海 网络故障")
    assert len(_intake(runtime, world.inhouse_account_id, [item])) == 1
    assert len(_intake(runtime, world.partner_account_id, [item])) == 1


def test_customers_are_created_once_and_kept_current(runtime: Runtime) -> None:
    world = build_world(runtime)
    _intake(runtime, world.inhouse_account_id, [mention("4900000000000011", "查询流量", name="老王")])
    _intake(runtime, world.inhouse_account_id, [mention("4900000000000012", "还在吗", name="老王2024")])
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Customer)) == 1
        ident = s.scalars(select(CustomerIdentity)).one()
        assert ident.screen_name == "老王2024"


def test_empty_and_spam_are_stored_as_dropped_with_reason(runtime: Runtime) -> None:
    world = build_world(runtime)
    _intake(
        runtime,
        world.inhouse_account_id,
        [
            mention("4900000000000021", "[哈哈][哈哈]"),
            mention("4900000000000022", "正常咨询：怎么办理宽带", author_uid="90"),
        ],
    )
    with runtime.sessions() as s:
        rows = {m.platform_id: m for m in s.scalars(select(Message))}
    dropped = rows["4900000000000021"]
    assert dropped.keep is False and dropped.drop_reason == "empty" and dropped.routed is True
    kept = rows["4900000000000022"]
    assert kept.keep is True and kept.routed is False and kept.sentiment is not None


def test_concurrent_intake_of_the_same_page_stores_each_message_once(runtime: Runtime) -> None:
    world = build_world(runtime)
    page = [
        mention(str(4900000000000100 + i), f"第{i}条：宽带故障", author_uid=str(1000 + i % 7))
        for i in range(40)
    ]
    results = run_at_once([lambda: _intake(runtime, world.inhouse_account_id, page)] * 4)
    assert sum(len(r) for r in results) == 40
    with runtime.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 40
        assert s.scalar(select(func.count()).select_from(CustomerIdentity)) == 7


def test_follow_events_are_stored_but_never_become_requests(runtime: Runtime) -> None:
    world = build_world(runtime)
    event = dataclasses.replace(mention("push-1-2-3", "关注事件消息"), kind=ItemKind.EVENT)
    _intake(runtime, world.inhouse_account_id, [event])
    with runtime.sessions() as s:
        stored = s.scalars(select(Message)).one()
        assert (stored.keep, stored.drop_reason, stored.routed) == (False, "event", True)


def test_a_payload_without_the_profile_keeps_what_is_known_of_the_customer(runtime: Runtime) -> None:
    """A fans-service push names only the sender's uid: the customer's screen name and follower
    count, known from an earlier mention, stay, and the pushed message shows that name."""
    world = build_world(runtime)
    _intake(runtime, world.inhouse_account_id, [mention("4900000000000031", "宽带断了", name="老王2024")])
    _intake(runtime, world.inhouse_account_id, [_pushed("push-2489518277-1-a", "还没修好")])
    with runtime.sessions() as s:
        ident = s.scalars(select(CustomerIdentity)).one()
        assert (ident.screen_name, ident.followers_count) == ("老王2024", 10)
        names = {pid: name for pid, name in s.execute(select(Message.platform_id, Message.author_name))}
    assert names == {"4900000000000031": "老王2024", "push-2489518277-1-a": "老王2024"}


def test_a_customer_first_heard_by_push_takes_the_screen_name_once_one_arrives(runtime: Runtime) -> None:
    world = build_world(runtime)
    _intake(runtime, world.inhouse_account_id, [_pushed("push-2489518277-2-b", "在吗")])
    with runtime.sessions() as s:
        assert s.scalars(select(Customer.display_name)).one() == "2489518277"  # nothing better known
    _intake(runtime, world.inhouse_account_id, [mention("4900000000000051", "宽带断了", name="老王2024")])
    with runtime.sessions() as s:
        assert s.scalars(select(Customer.display_name)).one() == "老王2024"

"""Chinese first: every text the workbench asks for exists (in both languages), and no page
shows a raw code, an enum value, a platform's code name or a platform's English error.

Found by using the hub: weibo/wechat, (default), kept/spam/event/sent, raw platform errors,
teams as #1 and the audit log as JSON with \\u534e escapes; the reply box showed Weibo's
140-character rule on WeChat requests and let an over-long reply through.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

import servicehub
from servicehub.adapters.base import InboundItem, ItemKind, PlatformUser, ReplyTarget, Source
from servicehub.core.models import (
    AccountKind,
    Category,
    DeliveryState,
    ErrorKind,
    Health,
    ListeningTask,
    Message,
    Organization,
    OrgKind,
    OutboundKind,
    OutboundMessage,
    Presence,
    Priority,
    PublicationState,
    RequestState,
    RoutingRule,
    Scope,
    Strategy,
    Team,
)
from servicehub.core.notifications import KINDS as NOTIFICATION_KINDS
from servicehub.core.runtime import Runtime
from servicehub.filters.settings import FILTER_NAMES
from servicehub.listener.filtering import chain_for
from servicehub.listener.intake import intake
from servicehub.routing.conversations import route_messages
from servicehub.workbench.i18n import LOCALES, MESSAGES, load_catalogs
from tests.factories import World, add_wechat_account
from tests.workbench.conftest import csrf_of, hear, hear_dropped, login

PACKAGE = Path(servicehub.__file__).parent
LITERAL_KEY = re.compile(r"""\bt\(\s*['"]([a-z_][\w.]*)['"]""")
CODE_RAISED = re.compile(r"""(?:ActionError|UserError)\(\s*\n?\s*f?["']([a-z_]+)["']""")
AUDITED = re.compile(r"""audit\.(?:record|event_row)\(\s*(?:session,\s*)?\n?\s*["']([a-z_]+\.[a-z_]+)["']""")


def _sources() -> list[Path]:
    return [*PACKAGE.rglob("*.py"), *PACKAGE.rglob("*.html")]


def test_every_literal_key_exists_in_both_languages() -> None:
    used = {
        k for path in _sources() for k in LITERAL_KEY.findall(path.read_text()) if not k.endswith((".", "_"))
    }
    missing = sorted(k for k in used if k not in MESSAGES)
    assert missing == []
    assert sorted(k for k, v in MESSAGES.items() if set(v) != set(LOCALES)) == []


@pytest.mark.parametrize(
    ("prefix", "codes"),
    [
        ("state", [str(s) for s in RequestState]),
        ("delivery", [str(s) for s in DeliveryState]),
        ("priority", [str(int(p)) for p in Priority]),
        ("health", [str(h) for h in Health]),
        ("source", [str(s) for s in Source]),
        ("strategy", [str(s) for s in Strategy]),
        ("presence", [str(p) for p in Presence]),
        ("send_error", [str(k) for k in ErrorKind]),
        ("accounts.kind", [str(k) for k in AccountKind]),
        ("org", [str(k) for k in OrgKind]),
        ("scope", [str(s) for s in Scope]),
        ("drop", [n for n in FILTER_NAMES if n not in ("keywords", "sentiment")] + ["event"]),
        ("intent", ["inquiry", "complaint", "praise", "suggestion", "other"]),
        (
            "priority_reason",
            [
                *("complaint", "praise", "suggestion", "other", "negative", "escalation"),
                *("furious", "vip", "repeat", "long_wait"),
            ],
        ),
        (
            "poll_error",
            ["token_expired", "rate_limited", "unavailable", "rejected", "malformed", "internal", "budget"],
        ),
        ("publication_state", [str(s) for s in PublicationState]),
        ("publish.no_deliveries", [str(s) for s in PublicationState]),
        ("category", [str(c) for c in Category]),
        (
            "publish.kind",
            [str(k) for k in (OutboundKind.POST, OutboundKind.DIRECT_MESSAGE, OutboundKind.MASS)],
        ),
        (
            "publish.problem",
            [
                *("cannot_post", "cannot_message", "cannot_mass_send", "too_long", "topic", "domain"),
                *("image_post_only", "other"),
            ],
        ),
        ("notif", list(NOTIFICATION_KINDS)),
    ],
)
def test_every_code_a_page_can_show_has_words(prefix: str, codes: list[str]) -> None:
    assert [c for c in codes if f"{prefix}.{c}" not in MESSAGES] == []


def test_every_refusal_and_every_audited_action_has_words() -> None:
    text = "\n".join(p.read_text() for p in PACKAGE.rglob("*.py"))
    refused = set(CODE_RAISED.findall(text)) - {"assign_"}
    assert refused and sorted(c for c in refused if f"error.{c}" not in MESSAGES) == []
    audited = set(AUDITED.findall(text))
    assert audited and sorted(a for a in audited if f"audit.action.{a}" not in MESSAGES) == []


def test_a_key_defined_twice_stops_the_import(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text('["x.y"]\nzh-CN = "甲"\nen = "a"\n')
    (tmp_path / "b.toml").write_text('["x.y"]\nzh-CN = "乙"\nen = "b"\n')
    with pytest.raises(ValueError, match="defined twice"):
        load_catalogs(tmp_path)


# -- rendered pages ----------------------------------------------------------------------------

RAW_WORDS = [
    *("weibo", "wechat", "default", "kept", "spam", "event", "sent", "failed", "queued", "retry"),
    *("unknown", "needs_reauth", "rate_limited", "in_progress", "waiting_customer", "round_robin"),
    *("least_loaded", "comment_status", "reply_comment", "private_message", "internal", "None"),
    *("True", "False"),
]
RAW = re.compile(r"(?<![A-Za-z_])(" + "|".join(RAW_WORDS) + r")(?![A-Za-z_])|\\u[0-9a-f]{4}")


class _Visible(HTMLParser):
    """The text a person reads: no tags, attributes, scripts, folded technical detail or URLs."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("code", "script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("code", "script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(re.sub(r"https?://\S+", "", data))


def _visible(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return " ".join(parser.parts)


def _wechat_request(runtime: Runtime, world: World, text: str) -> int:
    with runtime.sessions.begin() as s:
        org = s.get(Organization, world.inhouse_org_id)
        assert org is not None
        account = add_wechat_account(
            s,
            runtime,
            org=org,
            original_id="gh_i18n",
            appid="wxi18n",
            secret="s",
            push_token="t",
            operator_ids=(world.operator_id,),
        )
        item = InboundItem(
            platform="wechat",
            kind=ItemKind.PRIVATE_MESSAGE,
            platform_id="wx-msg-1",
            account_uid="gh_i18n",
            author=PlatformUser(platform="wechat", uid="o_user_1", screen_name=""),
            text=text,
            created_at=datetime.now(UTC),
            thread_id="o_user_1",
            reply_target=ReplyTarget(kind="private_message", user_uid="o_user_1"),
        )
        ids = intake(s, account, [item], chain_for(s, runtime))
    route_messages(runtime, ids)
    with runtime.sessions() as s:
        request_id = s.scalars(select(Message.request_id).where(Message.id == ids[0])).one()
        assert request_id is not None
        return request_id


@pytest.fixture
def busy_hub(world: World, sqlite_runtime: Runtime) -> dict[str, int]:
    """A little of everything a page can show: both platforms, a drop, a failed reply, rules."""
    weibo = hear(sqlite_runtime, world.inhouse_account_id, "4900000000000901", "宽带断网三天了")
    wechat = _wechat_request(sqlite_runtime, world, "你好，话费怎么查？")
    hear_dropped(sqlite_runtime, world.inhouse_account_id, "4900000000000902", "")
    with sqlite_runtime.sessions.begin() as s:
        team = Team(name="宽带专组", org_id=world.inhouse_org_id)
        s.add(team)
        s.flush()
        s.add(RoutingRule(name="宽带", team_id=team.id, keyword="宽带"))
        s.add(ListeningTask(name="断网", keywords=["断网"], account_ids=[world.inhouse_account_id]))
        s.add(
            OutboundMessage(
                account_id=world.inhouse_account_id,
                request_id=weibo,
                kind="reply",
                target={"kind": "comment_status", "status_id": "4900000000000901"},
                text="您好",
                idempotency_key="i18n-failed",
                state=DeliveryState.FAILED,
                error_kind=ErrorKind.REJECTED,
                error="Repeat conetnt! (code 20019) on comments/create",
            )
        )
    return {"weibo": weibo, "wechat": wechat}


@pytest.mark.parametrize("role", ["admin", "zhangwei"])
def test_no_page_shows_a_raw_code(
    role: str, client: TestClient, busy_hub: dict[str, int], sqlite_runtime: Runtime
) -> None:
    login(client, role)
    client.get("/audit")  # so the audit log has denials and logins to show
    paths = [
        "/",
        "/queue?view=all",
        f"/requests/{busy_hub['weibo']}",
        f"/requests/{busy_hub['wechat']}",
        "/accounts",
    ]
    if role == "admin":
        paths += ["/review", "/audit", "/workload", "/admin/routing", "/admin/listening", "/admin/users"]
        paths += ["/admin/teams", "/admin/roles", "/admin/orgs"]
    leaks = {}
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        found = sorted({m.group(0) for m in RAW.finditer(_visible(response.text))})
        if found:
            leaks[path] = found
    assert leaks == {}
    if role == "admin":  # rules name their team, listening task and account, not their ids
        routing = _visible(client.get("/admin/routing").text)
        assert "宽带专组" in routing and not re.search(r"#\d", routing)


def test_the_reply_box_follows_the_platform_of_the_request(
    client: TestClient, busy_hub: dict[str, int], sqlite_runtime: Runtime
) -> None:
    login(client, "zhangwei")
    wechat_page = client.get(f"/requests/{busy_hub['wechat']}").text
    assert 'data-limit="2048"' in wechat_page and 'data-counting="utf8_bytes"' in wechat_page
    assert "不超过2048字节" in wechat_page and "140" not in _visible(wechat_page)
    weibo_page = client.get(f"/requests/{busy_hub['weibo']}").text
    assert 'data-limit="140"' in weibo_page and "不超过140字" in weibo_page
    too_long = "好" * 683  # 2,049 bytes in UTF-8
    refused = client.post(
        f"/requests/{busy_hub['wechat']}/reply", data={"text": too_long, "csrf_token": csrf_of(wechat_page)}
    )
    assert refused.status_code == 422
    assert (
        "内容超过2048字节（当前2049字节）" in refused.text and too_long in refused.text
    )  # the draft is kept
    with sqlite_runtime.sessions() as s:
        assert (
            s.scalars(select(OutboundMessage).where(OutboundMessage.request_id == busy_hub["wechat"])).all()
            == []
        )

"""User tags and mass sends (群发) of the WeChat simulator, as reference §5.4 and §6 describe.

API: ``GET /cgi-bin/tags/get`` (tags with fan counts), ``POST /cgi-bin/tags/create``,
``POST /cgi-bin/user/tag/get`` (a tag's openids, paged by ``next_openid``),
``POST /cgi-bin/tags/members/batchtagging`` / ``batchuntagging``,
``POST /cgi-bin/message/mass/sendall`` and ``POST /cgi-bin/message/mass/get``.

Mass sends follow WeChat's rules where the hub can meet them: the recipients are fixed when
the send is accepted (subscribed followers carrying the tag, or all of them); a
``clientmsgid`` seen before is refused with 45065 and the first send's ``msg_id``, so a
retry after a lost answer never reaches anyone twice; after ``mass_per_day`` accepted sends
in one Beijing day the account meets 45028 "has no masssend quota" until midnight. Only
``text`` is sent (the hub sends nothing else); other types answer 40008. WeChat's 45066
(the same clientmsgid retried within a minute) is not raised on its own: a test injects it.

Control: ``GET|POST /_sim/wechat/accounts/{appid}/tags`` (list; create a tag and tag
followers), ``GET …/mass`` (what was mass-sent, to whom), ``GET|POST …/mass-quota``.
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from aiohttp import web

from servicehub.adapters.simulator.wechat_model import (
    Follower,
    MassSend,
    OfficialAccount,
    WeChatState,
    account_of,
    answer_or_lose,
    api_payload,
    bad_request,
    caller,
    errcode_response,
    json_object,
    ok,
    text_field,
    wechat_state,
)
from servicehub.adapters.wechat.reply_rules import TEXT_LIMIT_BYTES

MAX_TAGS = 100  # "一个公众号最多可以创建100个标签"
TAG_NAME_BYTES = 30
MAX_TAGS_PER_USER = 20
MAX_BATCH = 50  # openids per batchtagging call
CLIENTMSGID_BYTES = 64
# The tags a new simulated account starts with, and the share of its followers in each.
SEED_TAGS: tuple[tuple[str, float], ...] = (("宽带用户", 0.4), ("5G套餐", 0.35), ("VIP客户", 0.15))
_BEIJING = timezone(timedelta(hours=8))


def follower_openid(appid: str, index: int) -> str:
    """A stable 28-character openid, as WeChat's look (``o`` + 27 url-safe characters)."""
    return "o" + hashlib.sha256(f"{appid}:{index}".encode()).hexdigest()[:27]


def seed_audience(account: OfficialAccount, followers: int, *, tags: bool = True) -> None:
    """``followers`` silent followers (no open 48-hour window), and with ``tags`` the
    :data:`SEED_TAGS`, each carried by its share of them, so a mass send has someone to reach."""
    rng = random.Random(f"wechat-audience:{account.appid}")
    for index in range(followers):
        openid = follower_openid(account.appid, index)
        account.followers.setdefault(openid, Follower(openid))
    if not tags:
        return
    openids = list(account.followers)
    for name, share in SEED_TAGS:
        tag_id = _create_tag(account, name)
        if not openids:
            continue
        for openid in rng.sample(openids, max(1, round(len(openids) * share))):
            account.followers[openid].tag_ids.add(tag_id)


def _create_tag(account: OfficialAccount, name: str) -> int:
    tag_id = account.next_tag_id
    account.next_tag_id += 1
    account.tags[tag_id] = name
    return tag_id


def tag_members(account: OfficialAccount, tag_id: int | None) -> list[str]:
    """Subscribed followers carrying ``tag_id`` (None: all of them), in follow order."""
    return [
        f.openid
        for f in account.followers.values()
        if f.subscribed and (tag_id is None or tag_id in f.tag_ids)
    ]


def beijing_day(ts: float) -> str:
    return datetime.fromtimestamp(ts, _BEIJING).date().isoformat()


def _quota(state: WeChatState, account: OfficialAccount) -> dict[str, Any]:
    now = state.clock()
    today = beijing_day(now)
    per_day = account.mass_per_day if account.mass_per_day is not None else state.mass_per_day
    midnight = datetime.fromisoformat(today).replace(tzinfo=_BEIJING) + timedelta(days=1)
    return {
        "per_day": per_day,
        "used_today": sum(1 for m in account.mass_sends if beijing_day(m.sent_at) == today),
        "resets_at": midnight.astimezone(UTC).timestamp(),
    }


def _int_id(value: Any) -> int | None:
    """A numeric id given as a number or a digit string (WeChat accepts both), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


# -- WeChat API ----------------------------------------------------------------------------


async def tags_get(request: web.Request) -> web.Response:
    """``GET /cgi-bin/tags/get``: every tag with its number of fans."""
    account = caller(request)
    if isinstance(account, int):
        return errcode_response(account)
    tags = [
        {"id": tag_id, "name": name, "count": len(tag_members(account, tag_id))}
        for tag_id, name in account.tags.items()
    ]
    return ok({"tags": tags})


async def tags_create(request: web.Request) -> web.Response:
    """``POST /cgi-bin/tags/create`` ``{"tag": {"name": ...}}``."""
    account = caller(request)
    if isinstance(account, int):
        return errcode_response(account)
    payload = await api_payload(request)
    tag = payload.get("tag") if payload is not None else None
    name = tag.get("name") if isinstance(tag, dict) else None
    if not isinstance(name, str):
        return errcode_response(47001)
    if not name.strip() or name in account.tags.values():
        return errcode_response(45157)
    if len(name.encode("utf-8")) > TAG_NAME_BYTES:
        return errcode_response(45158)
    if len(account.tags) >= MAX_TAGS:
        return errcode_response(45056)
    return ok({"tag": {"id": _create_tag(account, name), "name": name}})


async def _called(request: web.Request) -> tuple[OfficialAccount, dict[str, Any]] | web.Response:
    """The calling account and its JSON body, or the errcode answer (bad token, bad JSON)."""
    account = caller(request)
    if isinstance(account, int):
        return errcode_response(account)
    payload = await api_payload(request)
    if payload is None:
        return errcode_response(47001)
    return account, payload


async def user_tag_get(request: web.Request) -> web.Response:
    """``POST /cgi-bin/user/tag/get`` ``{"tagid", "next_openid"}``: one page of a tag's fans.

    A page names its last openid as ``next_openid``; asked from the last one, the answer is
    ``count`` 0 with no ``data`` and an empty ``next_openid``."""
    called = await _called(request)
    if isinstance(called, web.Response):
        return called
    account, payload = called
    tag_id = _int_id(payload.get("tagid"))
    if tag_id is None or tag_id not in account.tags:
        return errcode_response(45159)
    members = tag_members(account, tag_id)
    after = payload.get("next_openid") or ""
    if not isinstance(after, str):
        return errcode_response(47001)
    start = 0
    if after:
        if after not in members:
            return errcode_response(40003)
        start = members.index(after) + 1
    page = members[start : start + wechat_state(request).tag_page_size]
    if not page:
        return ok({"count": 0, "next_openid": ""})
    return ok({"count": len(page), "data": {"openid": page}, "next_openid": page[-1]})


async def _batch(request: web.Request, *, tag: bool) -> web.Response:
    called = await _called(request)
    if isinstance(called, web.Response):
        return called
    account, payload = called
    tag_id = _int_id(payload.get("tagid"))
    if tag_id is None or tag_id not in account.tags:
        return errcode_response(45159)
    openids = payload.get("openid_list")
    if not isinstance(openids, list) or not 0 < len(openids) <= MAX_BATCH:
        return errcode_response(40032)
    if not all(isinstance(o, str) and o in account.followers for o in openids):
        return errcode_response(40003)
    chosen = [account.followers[o] for o in openids]
    if tag and any(tag_id not in f.tag_ids and len(f.tag_ids) >= MAX_TAGS_PER_USER for f in chosen):
        return errcode_response(45059)
    for follower in chosen:
        if tag:
            follower.tag_ids.add(tag_id)
        else:
            follower.tag_ids.discard(tag_id)
    return ok({"errcode": 0, "errmsg": "ok"})


async def batch_tagging(request: web.Request) -> web.Response:
    """``POST /cgi-bin/tags/members/batchtagging`` ``{"openid_list": [...≤50], "tagid"}``."""
    return await _batch(request, tag=True)


async def batch_untagging(request: web.Request) -> web.Response:
    return await _batch(request, tag=False)


def _check_mass(account: OfficialAccount, payload: dict[str, Any]) -> tuple[int, bool, int | None, str]:
    """(errcode or 0, is_to_all, tag_id, text content) for a ``mass/sendall`` body."""
    if payload.get("msgtype") != "text":
        return 40008, False, None, ""
    target = payload.get("filter")
    if not isinstance(target, dict):
        return 47001, False, None, ""
    is_to_all = target.get("is_to_all", False)
    if not isinstance(is_to_all, bool):
        return 47001, False, None, ""
    tag_id = None
    if not is_to_all:
        tag_id = _int_id(target.get("tag_id"))
        if tag_id is None or tag_id not in account.tags:
            return 45159, False, None, ""
    body = payload.get("text")
    content = body.get("content") if isinstance(body, dict) else None
    if not isinstance(content, str) or not content.strip():
        return 44004, is_to_all, tag_id, ""
    if len(content.encode("utf-8")) > TEXT_LIMIT_BYTES:
        return 45002, is_to_all, tag_id, content
    return 0, is_to_all, tag_id, content


async def mass_sendall(request: web.Request) -> web.Response:
    """``POST /cgi-bin/message/mass/sendall``: a text to one tag's fans, or to all of them."""
    called = await _called(request)
    if isinstance(called, web.Response):
        return called
    account, payload = called
    if account.mass_faults.errcodes:
        return errcode_response(account.mass_faults.errcodes.pop(0))
    code, is_to_all, tag_id, content = _check_mass(account, payload)
    if code:
        return errcode_response(code)
    clientmsgid = payload.get("clientmsgid")
    if clientmsgid is not None:
        if not isinstance(clientmsgid, str):
            return errcode_response(47001)
        if len(clientmsgid.encode("utf-8")) > CLIENTMSGID_BYTES:
            return errcode_response(45067)
        earlier = next((m for m in account.mass_sends if m.clientmsgid == clientmsgid), None)
        if earlier is not None:  # sent already: nobody gets it twice
            return errcode_response(45065, msg_id=earlier.msg_id)
    state = wechat_state(request)
    quota = _quota(state, account)
    if quota["used_today"] >= quota["per_day"]:
        return errcode_response(45028)
    send = MassSend(
        msg_id=state.next_mass_id,
        clientmsgid=clientmsgid or None,
        is_to_all=is_to_all,
        tag_id=tag_id,
        msgtype="text",
        content=content,
        recipients=tag_members(account, tag_id),
        sent_at=state.clock(),
        payload=payload,
    )
    state.next_mass_id += 1
    account.mass_sends.append(send)
    answer = ok({"errcode": 0, "errmsg": "send job submission success", "msg_id": send.msg_id})
    return await answer_or_lose(account.mass_faults, answer)


async def mass_get(request: web.Request) -> web.Response:
    """``POST /cgi-bin/message/mass/get`` ``{"msg_id"}``: a simulated send is done at once."""
    called = await _called(request)
    if isinstance(called, web.Response):
        return called
    account, payload = called
    msg_id = _int_id(payload.get("msg_id"))
    found = next((m for m in account.mass_sends if m.msg_id == msg_id), None)
    if found is None:
        return errcode_response(40035)  # the real code for an unknown msg_id is undocumented
    return ok({"msg_id": found.msg_id, "msg_status": "SEND_SUCCESS"})


# -- control -------------------------------------------------------------------------------


def _tag_json(account: OfficialAccount, tag_id: int) -> dict[str, Any]:
    members = tag_members(account, tag_id)
    return {"id": tag_id, "name": account.tags[tag_id], "count": len(members), "openids": members}


async def control_tags(request: web.Request) -> web.Response:
    """GET: every tag with its fans. POST ``{name, openids?: [str], new_followers?: n}``:
    the tag of that name (created if new) carried by those followers (made followers if
    they were not) and by ``new_followers`` new ones; answers the tag."""
    account = account_of(request)
    if request.method == "GET":
        return ok({"tags": [_tag_json(account, tag_id) for tag_id in account.tags]})
    data = await json_object(request)
    name = text_field(data, "name")
    if len(name.encode("utf-8")) > TAG_NAME_BYTES:
        raise bad_request(f"a tag name is at most {TAG_NAME_BYTES} bytes in UTF-8")
    openids = data.get("openids", [])
    if not isinstance(openids, list) or not all(isinstance(o, str) and o for o in openids):
        raise bad_request("'openids' must be a list of openids")
    extra = data.get("new_followers", 0)
    if isinstance(extra, bool) or not isinstance(extra, int) or extra < 0:
        raise bad_request("'new_followers' must be a non-negative integer")
    tag_id = next((i for i, n in account.tags.items() if n == name), None)
    if tag_id is None:
        if len(account.tags) >= MAX_TAGS:
            raise bad_request(f"an account has at most {MAX_TAGS} tags")
        tag_id = _create_tag(account, name)
    start = len(account.followers)
    openids = openids + [follower_openid(account.appid, start + i) for i in range(extra)]
    for openid in openids:
        account.followers.setdefault(openid, Follower(openid)).tag_ids.add(tag_id)
    return ok(_tag_json(account, tag_id), 201)


async def control_mass(request: web.Request) -> web.Response:
    """What the account mass-sent, oldest first, with each send's recipients."""
    state, account = wechat_state(request), account_of(request)
    return ok(
        {
            "mass": [m.as_json() for m in account.mass_sends],
            "quota": _quota(state, account),
        }
    )


async def control_mass_quota(request: web.Request) -> web.Response:
    """GET: ``{per_day, used_today, resets_at}``. POST ``{per_day: n | null}`` sets the
    account's daily mass-send allowance (null: back to the simulator's default)."""
    state, account = wechat_state(request), account_of(request)
    if request.method == "POST":
        data = await json_object(request)
        if "per_day" in data:
            value = data["per_day"]
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise bad_request("'per_day' must be a non-negative integer or null")
            account.mass_per_day = value
    return ok(_quota(state, account))


def register_mass(app: web.Application) -> None:
    r = app.router
    r.add_get("/cgi-bin/tags/get", tags_get)
    r.add_post("/cgi-bin/tags/create", tags_create)
    r.add_post("/cgi-bin/user/tag/get", user_tag_get)
    r.add_post("/cgi-bin/tags/members/batchtagging", batch_tagging)
    r.add_post("/cgi-bin/tags/members/batchuntagging", batch_untagging)
    r.add_post("/cgi-bin/message/mass/sendall", mass_sendall)
    r.add_post("/cgi-bin/message/mass/get", mass_get)
    for path, handler in (
        ("/_sim/wechat/accounts/{appid}/tags", control_tags),
        ("/_sim/wechat/accounts/{appid}/mass-quota", control_mass_quota),
    ):
        r.add_get(path, handler)
        r.add_post(path, handler)
    r.add_get("/_sim/wechat/accounts/{appid}/mass", control_mass)

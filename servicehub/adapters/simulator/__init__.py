"""A fake Sina Weibo (and WeChat) that speaks the real wire protocol over HTTP on 127.0.0.1.

The hub's real httpx adapter, the demo and the tests talk to it exactly as they would talk
to ``api.weibo.com``; state lives in memory. Seeded traffic makes it feel like a telecom
operator's customer-service inbox. See ``/work/shared/reference/weibo-api.md`` for the
protocol it imitates.

Running it
----------
- ``python -m servicehub.adapters.simulator --host 127.0.0.1 --port 8900 --rate 2 --seed 1``
  (prints the base URL and a default account's credentials as JSON lines; ``--reactions``
  and ``--reaction-intensity`` make the hub's posts draw reactions).
- ``async with SimulatorServer(seed=1, rate=0) as server: server.base_url`` or
  ``await server.start(host, port=0)`` / ``await server.stop()``.
- ``handle = run_simulator_in_thread("127.0.0.1", 0, seed=1, rate=0.0)``; ``handle.base_url``;
  ``handle.stop()`` (also a context manager).

Platform routes (Weibo)
-----------------------
``GET /oauth2/authorize`` (302 to ``redirect_uri?code=…&state=…``; simulator-only ``uid`` or
``screen_name`` picks the consenting account, ``deny=1`` refuses), ``POST /oauth2/access_token``,
``GET|POST /oauth2/get_token_info``, ``POST /oauth2/revokeoauth2``, and ``/2/<name>.json`` for
statuses/mentions(/ids), comments/mentions, comments/to_me, comments/by_me, comments/show,
comments/show_batch, comments/create, comments/reply, statuses/share, statuses/update (10014),
statuses/repost, statuses/repost_timeline, statuses/user_timeline, statuses/count,
statuses/show, users/show, friendships/followers(/ids), friendships/friends, direct_messages(/sent),
direct_messages/new, messages/reply, account/rate_limit_status, account/get_uid.

Control API (``/_sim/``, JSON in and out)
-----------------------------------------
Ids are returned as strings and accepted as strings or numbers. Errors are
``{"error": "..."}`` with 400 (bad input) or 404 (unknown account / user / post).
``account_uid`` may be left out wherever there is a first managed account to default to.
A "user" in a body is ``user_uid`` (existing), or ``screen_name`` (created if new, with
optional ``followers_count``, ``verified``), or nothing (a random recurring customer).

``GET  /_sim/health`` -> ``{"ok": true}``
``GET  /_sim/state`` -> record counts, seed, simulated ``now``, traffic and reactions status.
``POST /_sim/accounts`` ``{screen_name?, uid?, app_key?, app_secret?, app_name?, redirect_uri?,
       safe_domains?: [str], followers?: int, token_ttl?: int, seed_posts?: int}`` -> 201
       ``{uid, screen_name, app_key, app_secret, redirect_uri, safe_domains, access_token,
       expires_in}``. Passing an existing ``app_key`` adds the account to that app (several
       accounts under one hub app); default safe domains are example.com and 10010.com.
``GET  /_sim/accounts`` -> ``{"accounts": [{uid, screen_name, app_key, app_secret, redirect_uri,
       safe_domains, callback_url, followers, tokens: [{access_token, expires_in, revoked}]}]}``
``POST /_sim/tokens`` ``{account_uid?, ttl?}`` -> 201 ``{uid, access_token, expires_in}``
``POST /_sim/mentions`` ``{account_uid?, text, user…}`` -> 201 ``{id, status}`` (a customer post
       that @-mentions the account; the @name is prepended when the text lacks it).
``POST /_sim/comments`` ``{account_uid?, text, user…, status_id?, reply_to?, mention?: bool}``
       -> 201 ``{id, comment}``; default target is the account's newest post.
``POST /_sim/messages`` ``{account_uid?, text, user…, push?: true}`` -> 201
       ``{id, message, push: PushRecord | null}`` (the push is awaited).
``POST /_sim/events`` ``{account_uid?, user…, subtype: follow|unfollow|subscribe|…}`` -> 201
       ``{user_uid, changed, push}``; follow/unfollow change the follow graph.
``POST /_sim/engagement`` ``{status_id, likes?, reposts?, comments?}`` -> current counts.
``POST /_sim/statuses/{id}/engage`` ``{likes?, comments?, reposts?}`` -> ``{id, reposts,
       comments, attitudes, items: [{kind, category, user_uid, id}]}``: reactions by simulated
       customers now (comments from the corpus, the first a service question or complaint).
``POST /_sim/statuses/{id}/reactions`` ``{likes?, comments?, reposts?} | {intensity?}`` -> 201
       ``{id, planned, …reactions status}``: the decaying schedule on any post from now on.
``GET|POST /_sim/reactions`` ``{enabled?: bool, intensity?: number, clear?: bool,
       status_id?}`` (GET: ``?status_id=``) -> ``{enabled, intensity, pending, next_due_in,
       applied: {like, comment, repost}, status?: {id, planned, applied, pending}}``. When on
       (``SimConfig.reactions`` / ``reaction_intensity``, the demo's default), every
       ``statuses/share`` draws likes, comments and reposts: the first within 10-25 s, most
       within two minutes, none after five (see :mod:`.reactions`). They happen as the
       simulated clock passes them: ``POST /_sim/clock`` applies what it jumped over.
``POST /_sim/burst`` ``{account_uid?, n, kind?: mention|comment|message, text?: "…{i}…",
       user…?, push?: true}`` -> 201 ``{count, kind, ids, first_id, last_id}``.
``POST /_sim/backlog`` ``{account_uid?, n, kind?, text?, from_hours?: 24, to_hours?: 0.1}`` -> 201
       ``{count, kind, ids, first_id, last_id}``: items that arrived that many hours *before now*
       (ids fit their times), what an account already holds when the hub connects it.
``GET  /_sim/outbox?endpoint=&uid=&status_id=&comment_id=&receiver_id=&since_seq=`` ->
       ``{"items": [{seq, endpoint, uid, created_at, params, text, request_text, id,
       status_id, comment_id, receiver_id, result}], "total"}``; ``endpoint`` is one of
       comments/create, comments/reply, statuses/share, statuses/repost,
       direct_messages/new, messages/reply; ``text`` is as stored (``回复@…:`` added, t.cn links).
``GET|POST /_sim/faults`` ``{latency_ms?, fail_rate?, malformed_rate?, fail_next?,
       malformed_next?, paths?: [prefix], rate_limit_storm?: bool, expire_token?: str,
       revoke_token?: str, expire_account?: uid, clear?: bool, lose_ack_next?: n,
       lose_ack?: "5xx"|"timeout", ack_delay_ms?, errors?: [{path, code, times?, uid?}]}`` ->
       current settings. ``lose_ack_next`` carries the next calls out and loses their answer (a
       write lands, the client sees a 5xx or times out); ``errors`` answers a Weibo error code
       on one API before anything happens (10022/10023/10024/20016 limits, 10014 permission
       ...), for every account or only the calls of account ``uid`` -- e.g.
       ``{"path": "/2/statuses/count.json", "code": 10024, "uid": "…"}`` refuses that
       account's ``statuses/count`` while its ``comments/to_me`` and mentions answer.
``GET|POST /_sim/limits`` ``{user_per_hour?, posts_per_hour?, comments_per_hour?,
       messages_per_hour?, ip_per_hour?}`` -> current limits.
``GET|POST /_sim/clock`` ``{advance_seconds}`` -> ``{now, created_at, offset_seconds}``; due
       reactions are applied on the spot.
``GET|POST /_sim/traffic`` ``{rate?: items/s, accounts?: [uid] | null, step?: n}`` ->
       ``{rate, accounts, generated, skipped, by_kind, running, items}``.
``POST /_sim/reset`` ``{keep_accounts?: bool}`` -> ``{ok, …counts}``.
``POST /_sim/callbacks`` ``{account_uid?, url: str | null, app_secret?, verify?: bool}`` ->
       ``{account_uid, url, verified}``; pushes are signed with ``app_secret`` (default: the
       app's secret).
``POST /_sim/push/verify`` ``{account_uid?}`` -> ``{ok, status, body, echostr}`` (GET echostr check).
``GET  /_sim/pushes?since_seq=`` -> ``{"items": [{seq, account_uid, url, payload, attempts,
       delivered, status, error, response_body}], "total"}``.

WeChat (``/cgi-bin/token``, ``/cgi-bin/message/custom/send``, ``/cgi-bin/media/get``,
``/cgi-bin/tags/get``, ``/cgi-bin/tags/create``, ``/cgi-bin/user/tag/get``,
``/cgi-bin/tags/members/batchtagging|batchuntagging``, ``/cgi-bin/message/mass/sendall``,
``/cgi-bin/message/mass/get``; see :mod:`.wechat` and :mod:`.wechat_mass`):
``POST /_sim/wechat/accounts`` ``{appid, secret, token, original_id?, encoding_aes_key?,
followers?: 30, seed_tags?: true}`` (a new account has ``followers`` silent followers and the
tags 宽带用户, 5G套餐 and VIP客户 on some of them, besides the system tag 星标组),
``…/{appid}/callback``, ``…/{appid}/push`` (``type`` text, image, voice, video, shortvideo or
event; media bytes from ``media_base64`` or made up), ``GET …/{appid}/sent``,
``POST …/{appid}/expire-tokens``, ``POST …/{appid}/faults`` ``{api?: "custom/send" |
"mass/sendall", errcodes?: [int], lose_ack_next?, lose_ack?, ack_delay_ms?, clear?}``,
``GET …/{appid}/tags`` -> ``{"tags": [{id, name, count, openids}]}``, ``POST …/{appid}/tags``
``{name, openids?: [str], new_followers?: n}`` -> 201 the tag (created if new; unknown openids
become followers), ``GET …/{appid}/mass`` -> ``{"mass": [{msg_id, clientmsgid, is_to_all,
tag_id, msgtype, content, recipients, total, sent_at, msg_status}], "quota"}``,
``GET|POST …/{appid}/mass-quota`` ``{per_day: n | null}`` -> ``{per_day, used_today,
resets_at}`` (default 100 a Beijing day, then errcode 45028).
"""

from __future__ import annotations

from servicehub.adapters.simulator.config import Limits, SimConfig
from servicehub.adapters.simulator.context import Simulator
from servicehub.adapters.simulator.push import push_signature
from servicehub.adapters.simulator.server import (
    SimulatorServer,
    SimulatorThread,
    create_app,
    run_simulator_in_thread,
)
from servicehub.adapters.simulator.textrules import weibo_length

__all__ = [
    "Limits",
    "SimConfig",
    "Simulator",
    "SimulatorServer",
    "SimulatorThread",
    "create_app",
    "push_signature",
    "run_simulator_in_thread",
    "weibo_length",
]

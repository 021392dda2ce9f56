"""Media of the WeChat simulator: the files followers send, served by ``/cgi-bin/media/get``.

A pushed photo, voice note or video gets a MediaId whose bytes are kept here (made up, or
given as ``media_base64``); ``media/get`` answers the bytes, or for a video
``{"video_url": ...}`` pointing at ``/_sim/wechat/media/<id>``, as WeChat does.
"""

from __future__ import annotations

import base64
import secrets
import struct
import zlib
from typing import Any

from aiohttp import web

from servicehub.adapters.simulator.wechat_model import (
    WeChatState,
    bad_request,
    errcode_response,
    ok,
    text_field,
    token_owner,
    wechat_state,
)

MEDIA_KINDS = {"image": "image/png", "voice": "audio/amr", "video": "video/mp4", "shortvideo": "video/mp4"}


def _png(seed: bytes, width: int = 160, height: int = 120) -> bytes:
    """A valid PNG (a striped card in one colour from ``seed``): what a customer's photo is here."""
    r, g, b = seed[0], seed[1], seed[2]
    light = bytes((255 - (255 - r) // 3, 255 - (255 - g) // 3, 255 - (255 - b) // 3))
    rows = b"".join(
        b"\x00" + b"".join((bytes((r, g, b)) if (x // 16 + y // 16) % 2 else light) for x in range(width))
        for y in range(height)
    )

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def store_media(state: WeChatState, kind: str, data: dict[str, Any]) -> str:
    """Keep the bytes of a pushed file under a new MediaId (``media_base64`` gives them)."""
    media_id = secrets.token_urlsafe(24)
    content_type = MEDIA_KINDS.get(kind, "image/jpeg")
    raw = data.get("media_base64")
    if raw is not None:
        if not isinstance(raw, str):
            raise bad_request("'media_base64' must be a base64 string")
        body = base64.b64decode(raw)
        content_type = text_field(data, "content_type", required=False) or content_type
    elif content_type.startswith("image/"):
        body = _png(secrets.token_bytes(3))
    else:
        body = b"#!AMR\n" if kind == "voice" else b"\x00\x00\x00\x18ftypmp42"
        body += secrets.token_bytes(512)
    state.media[media_id] = (content_type, body)
    return media_id


async def media_get(request: web.Request) -> web.StreamResponse:
    """``GET /cgi-bin/media/get``: the file's bytes, a video's download link, or an errcode."""
    state = wechat_state(request)
    owner = token_owner(state, request.query.get("access_token"))
    if isinstance(owner, int):
        return errcode_response(owner)
    media_id = request.query.get("media_id", "")
    found = state.media.get(media_id)
    if found is None:
        return errcode_response(40007)
    content_type, body = found
    if content_type.startswith("video/"):
        return ok({"video_url": str(request.url.origin()) + f"/_sim/wechat/media/{media_id}"})
    extension = content_type.split("/")[-1]
    return web.Response(
        body=body,
        content_type=content_type,
        headers={"Content-disposition": f'attachment; filename="{media_id}.{extension}"'},
    )


async def video_file(request: web.Request) -> web.StreamResponse:
    """Where a video's ``video_url`` points (no token: WeChat's links are signed URLs)."""
    found = wechat_state(request).media.get(request.match_info["media_id"])
    if found is None or not found[0].startswith("video/"):
        raise web.HTTPNotFound()
    return web.Response(body=found[1], content_type=found[0])

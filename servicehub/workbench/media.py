"""A customer's photo, voice note or video, streamed from the platform when an operator opens it.

Thin view over ``routing.requests.request_media``: it checks that the viewer may see the
request (and the message on it), the adapter fetches the file (WeChat ``media/get``), and
the bytes go straight through. Only image, audio and video types are served inline; anything
else is a download, so a file can never be rendered as a page of this site.
"""

from __future__ import annotations

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from servicehub.adapters.base import MediaStream
from servicehub.adapters.errors import NotFound, PlatformError, Unsupported
from servicehub.core.permissions import NotVisible
from servicehub.routing.requests import request_media
from servicehub.workbench.forms import principal, runtime_of
from servicehub.workbench.i18n import translator
from servicehub.workbench.rendering import locale_of, render
from servicehub.workbench.security import guard

INLINE = ("image/", "audio/", "video/")


@guard("request.view")
async def media_view(request: Request) -> Response:
    request_id = int(request.path_params["request_id"])
    message_id = int(request.path_params["message_id"])
    index = int(request.path_params["index"])
    runtime, who = runtime_of(request), principal(request)

    def load() -> MediaStream:
        with runtime.sessions() as session:
            return request_media(session, runtime, who, request_id, message_id, index)

    t = translator(locale_of(request))
    back = f"/requests/{request_id}"
    try:
        stream = await run_in_threadpool(load)
    except Unsupported as exc:
        raise NotVisible(f"media of message {message_id}") from exc
    except NotFound:
        return render(request, "error.html", status_code=404, message=t("media.expired"), back=back)
    except PlatformError:
        return render(request, "error.html", status_code=502, message=t("media.unavailable"), back=back)
    inline = stream.content_type.startswith(INLINE)
    headers = {
        "Cache-Control": "private, max-age=3600",
        "Content-Disposition": "inline" if inline else f'attachment; filename="media-{message_id}-{index}"',
    }
    if stream.length is not None:
        headers["Content-Length"] = str(stream.length)
    return StreamingResponse(
        stream.chunks,
        media_type=stream.content_type if inline else "application/octet-stream",
        headers=headers,
        background=BackgroundTask(stream.close),
    )


ROUTES: list[BaseRoute] = [
    Route("/requests/{request_id:int}/messages/{message_id:int}/media/{index:int}", media_view),
]

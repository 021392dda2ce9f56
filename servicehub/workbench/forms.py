"""One way every form POST is handled: CSRF, parse, one action in one transaction, answer.

A view hands :func:`submit` the action to run as ``act(session, principal, form)``. The
form arrives CSRF-checked and wrapped in :class:`Form`, whose accessors turn bad input
(a number that is not one, an over-long name) into an :class:`ActionError` just like the
action's own checks. The action runs in one transaction, committed when it returns:

- success redirects (303, so a reload never re-posts) to ``back`` or to where the action
  says, with ``?notice=<done>`` for the page to confirm in words;
- an :class:`ActionError` changes nothing and is explained in the user's language
  (``error.<code>``), by ``on_error`` when the view re-renders its own page (a reply
  keeps its draft), else on the error page with a way back;
- ``NotVisible`` and ``Forbidden`` reach the app's 404 / 403 handlers (and their audit).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from servicehub.core.errors import ActionError
from servicehub.core.permissions import Principal
from servicehub.core.runtime import Runtime
from servicehub.workbench import MAX_ID, IdConvertor
from servicehub.workbench.i18n import has_text, translator
from servicehub.workbench.rendering import locale_of, render
from servicehub.workbench.security import HubUser, checked_form

Act = Callable[[Session, Principal, "Form"], str | None]
OnError = Callable[[ActionError, "Form"], Awaitable[Response]]

MAX_INT = MAX_ID
CHINA = timezone(timedelta(hours=8))


class Form:
    """The submitted fields, read with the rules every form shares."""

    def __init__(self, data: FormData) -> None:
        self.data = data

    def __contains__(self, name: str) -> bool:
        return name in self.data

    def text(self, name: str, *, max_length: int = 500, default: str = "") -> str:
        value = self.data.get(name, default)
        text = (value if isinstance(value, str) else default).strip()
        if len(text) > max_length:
            raise ActionError("too_long", f"{name} is longer than {max_length}", field=name, limit=max_length)
        return text

    def raw(self, name: str, default: str = "") -> str:
        """The value as typed (not stripped): replies keep their own spacing."""
        value = self.data.get(name, default)
        return value if isinstance(value, str) else default

    def number(self, name: str, default: int | None = None) -> int | None:
        text = self.text(name)
        if not text:
            return default
        return _number(name, text)

    def numbers(self, name: str) -> list[int]:
        return sorted({_number(name, str(v)) for v in self.data.getlist(name) if str(v).strip()})

    def strings(self, name: str) -> list[str]:
        return [str(v) for v in self.data.getlist(name)]

    def flag(self, name: str) -> bool:
        """A checkbox: ticked sends "on", unticked sends nothing at all."""
        return self.data.get(name) == "on"

    def when(self, name: str) -> datetime | None:
        """A ``datetime-local`` field, read as China time (the operators' clock), in UTC."""
        text = self.text(name, max_length=32)
        if not text:
            return None
        try:
            local = datetime.fromisoformat(text)
        except ValueError:
            raise ActionError("not_a_time", f"{name} is not a time", field=name) from None
        return (local if local.tzinfo else local.replace(tzinfo=CHINA)).astimezone(UTC)

    def words(self, name: str) -> list[str]:
        """Comma-separated words (Chinese or ASCII commas), trimmed, without repeats."""
        return sorted(
            {w.strip() for w in self.text(name, max_length=2000).replace("，", ",").split(",") if w.strip()}
        )


def _number(name: str, text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise ActionError("not_a_number", f"{name} is not a number", field=name) from None
    if not 0 <= value <= MAX_INT:
        raise ActionError("not_a_number", f"{name} is out of range", field=name)
    return value


_ID = re.compile(IdConvertor.regex)


def id_or_none(text: str) -> int | None:
    """A row id or cursor typed into a URL or field, or None: ASCII digits only (``"²".isdigit()``
    is true, and ``int("²")`` fails), never more than the tables' INTEGER ids hold."""
    return int(text) if _ID.fullmatch(text) else None


class BadJson(ValueError):
    """A JSON body that is not JSON, or nested too deeply to read safely."""


async def json_body(request: Request) -> Any:
    """The request's JSON body; :class:`BadJson` for one that cannot be read (never a 500:
    ``json.loads`` raises RecursionError on a few thousand nested brackets)."""
    raw = await request.body()
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise BadJson("body is not JSON") from None


def principal(request: Request) -> Principal:
    user = request.user
    assert isinstance(user, HubUser), "guarded views only"
    return user.principal


def runtime_of(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def explain(request: Request, error: ActionError) -> str:
    """The error in the user's language, its parameters' codes translated too."""
    t = translator(locale_of(request))
    params = {
        k: t(f"{k}.{v}") if isinstance(v, str) and has_text(f"{k}.{v}") else v
        for k, v in error.params.items()
    }
    key = f"error.{error.code}"
    return t(key, **params) if has_text(key) else t("error.invalid")


async def submit(
    request: Request, act: Act, *, back: str, done: str = "saved", on_error: OnError | None = None
) -> Response:
    """Run ``act`` for a CSRF-checked form (see the module docstring)."""
    form = Form(await checked_form(request))
    runtime, who = runtime_of(request), principal(request)

    def run() -> str | None:
        with runtime.sessions() as session:
            target = act(session, who, form)
            session.commit()
            return target

    try:
        target = await run_in_threadpool(run)
    except ActionError as error:
        if on_error is not None:
            return await on_error(error, form)
        return render(request, "error.html", status_code=422, message=explain(request, error), back=back)
    return RedirectResponse(with_notice(target or back, done), status_code=303)


def with_notice(url: str, notice: str) -> str:
    """``url`` with ``?notice=`` for the page to confirm in words (kept if it has one)."""
    path, _, anchor = url.partition("#")
    if "notice=" in path:
        return url
    joined = f"{path}{'&' if '?' in path else '?'}{urlencode({'notice': notice})}"
    return f"{joined}#{anchor}" if anchor else joined


def form_values(form: Form, names: list[str]) -> dict[str, Any]:
    return {name: form.raw(name) for name in names}

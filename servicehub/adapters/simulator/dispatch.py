"""The ``/2/<name>.json`` front door: route table, token check, quota charge, error envelope.

Handlers only see an :class:`ApiCall` with merged query/form parameters and a valid token,
and answer with plain JSON data or by raising :class:`ApiError`; everything Weibo does
around them (10020 unknown API, 10021 wrong method, 10006 / 21332 / 21327 token errors,
10022-10024 quotas, the ``request`` field of errors) happens here, once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from servicehub.adapters.simulator.api_errors import (
    ERRORS,
    ApiError,
    error_response,
    invalid,
    json_response,
    missing,
)
from servicehub.adapters.simulator.context import SIM_KEY, Simulator
from servicehub.adapters.simulator.models import Token, User
from servicehub.adapters.simulator.state import SimState

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ApiCall:
    sim: Simulator
    request: web.Request
    params: dict[str, str]
    token: Token
    name: str  # "comments/reply"

    @property
    def state(self) -> SimState:
        return self.sim.state

    @property
    def uid(self) -> int:
        return self.token.uid

    @property
    def me(self) -> User:
        return self.sim.state.users[self.token.uid]

    def get(self, name: str) -> str | None:
        return self.params.get(name)

    def require(self, name: str) -> str:
        value = self.params.get(name)
        if value is None or not value.strip():
            raise missing(name)
        return value

    def text(self, name: str) -> str:
        """Required text: absent is 10016, blank is 20008 Content is null."""
        value = self.params.get(name)
        if value is None:
            raise missing(name)
        if not value.strip():
            raise ApiError(20008)
        return value

    def require_id(self, name: str) -> int:
        raw = self.require(name).strip()
        if not raw.isdigit():
            raise invalid(name, "int64", raw)
        return int(raw)

    def flag(self, name: str) -> int:
        raw = (self.params.get(name) or "0").strip()
        if raw not in ("0", "1", "2", "3"):
            raise invalid(name, "0 or 1", raw)
        return int(raw)

    def target_user(self) -> User:
        """``uid`` or ``screen_name`` (uid wins): unknown users are 20003."""
        uid, name = self.params.get("uid", "").strip(), self.params.get("screen_name", "").strip()
        if not uid and not name:
            raise missing("uid")
        user: User | None
        if uid:
            if not uid.isdigit():
                raise invalid("uid", "int64", uid)
            user = self.state.users.get(int(uid))
        else:
            user = self.state.user_by_name(name)
        if user is None:
            raise ApiError(20003)
        return user


Handler = Callable[[ApiCall], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class ApiRoute:
    name: str
    methods: frozenset[str]
    handler: Handler
    quota: str | None  # "post", "comment", "message" or None
    counted: bool  # False for account/rate_limit_status


class RouteTable:
    """A module's endpoints, collected with the :meth:`api` decorator."""

    def __init__(self) -> None:
        self.routes: list[ApiRoute] = []

    def api(
        self, name: str, method: str = "GET", *, quota: str | None = None, counted: bool = True
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append(ApiRoute(name, frozenset({method}), handler, quota, counted))
            return handler

        return register


async def read_params(request: web.Request) -> dict[str, str]:
    """Query string plus url-encoded or multipart form fields (form wins on clashes)."""
    params = {key: request.query[key] for key in request.query}
    if (
        request.method == "POST"
        and request.can_read_body
        and request.content_type
        in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        )
    ):
        form = await request.post()
        for key in form:
            value = form[key]
            if isinstance(value, str):
                params[key] = value
    return params


def token_value(request: web.Request, params: dict[str, str]) -> str | None:
    header = request.headers.get("Authorization", "").strip()
    if header[:7].lower() == "oauth2 " and header[7:].strip():
        return header[7:].strip()
    return params.get("access_token", "").strip() or None


def authenticate(sim: Simulator, value: str | None) -> Token:
    if value is None:
        raise ApiError(10006)
    token = sim.state.tokens.get(value)
    if token is None or token.revoked:
        raise ApiError(21332)
    if token.expires_at <= sim.clock.now():
        raise ApiError(21327)
    return token


class Dispatcher:
    def __init__(self, tables: Iterable[RouteTable]) -> None:
        self.routes: dict[str, ApiRoute] = {}
        for table in tables:
            for route in table.routes:
                if route.name in self.routes:
                    raise ValueError(f"endpoint {route.name} registered twice")
                self.routes[route.name] = route

    async def handle(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        path = f"/2/{name}.json"
        sim = request.app[SIM_KEY]
        try:
            route = self.routes.get(name)
            if route is None:
                raise ApiError(10020)
            if request.method not in route.methods:
                raise ApiError(10021)
            params = await read_params(request)
            token = authenticate(sim, token_value(request, params))
            sim.reactions.run_due()  # what the simulated clock has passed has happened
            injected = sim.faults.injected_error(path, token.uid)
            if injected is not None:  # e.g. 10024 names the API: "User requests for (/x) out of ..."
                raise ApiError(injected, *([f"/{name}"] if ERRORS[injected][1].count("%s") == 1 else []))
            if route.counted:
                sim.quotas.charge(token.token, request.remote or "127.0.0.1", route.quota, f"/{name}")
            result = await route.handler(ApiCall(sim, request, params, token, name))
        except ApiError as err:
            return error_response(err, path)
        except Exception:
            log.exception("simulator handler for %s failed", path)
            return error_response(ApiError(10001), path)
        return json_response(result)

    def register(self, app: web.Application) -> None:
        app.router.add_route("*", r"/2/{name:.+}.json", self.handle)

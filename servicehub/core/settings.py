"""The one configuration: ``settings.toml`` plus ``HUB_<SECTION>__<KEY>`` environment overrides.

Every section is a typed dataclass; loading rejects unknown keys and wrong types with a
:class:`SettingsError` that names the key and what to fix, so a typo never silently
falls back to a default.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from servicehub.core.errors import HubError

ENV_PREFIX = "HUB_"
DEFAULT_FILE = "settings.toml"


class SettingsError(HubError, ValueError):
    """Invalid configuration; the message names the key and the fix."""


@dataclass(frozen=True)
class HubSettings:
    mode: str = "embedded"  # embedded | production
    data_dir: str = "var"
    secret_key: str = ""  # empty: generated once into <data_dir>/secret_key
    locale: str = "zh-CN"


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = ""  # empty: sqlite file in data_dir
    echo: bool = False
    pool_size: int = 10


@dataclass(frozen=True)
class RedisSettings:
    url: str = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True)
class TaskSettings:
    backend: str = "inprocess"  # inprocess | celery
    broker_url: str = ""  # empty: the redis url
    workers: int = 4


@dataclass(frozen=True)
class WebSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""  # empty: http://host:port
    session_max_age_seconds: int = 12 * 3600
    # Proxies whose X-Forwarded-For / -Proto uvicorn believes (comma-separated; "*" any).
    forwarded_allow_ips: str = "127.0.0.1"


@dataclass(frozen=True)
class SecuritySettings:
    login_failures_per_user: int = 5  # then the name is locked for lock_minutes
    login_failures_per_address: int = 30  # then the address is (an office NAT shares one)
    login_lock_minutes: int = 15


@dataclass(frozen=True)
class OpsSettings:
    # /metrics answers a request bearing this token ("Authorization: Bearer <token>") ...
    metrics_token: str = ""
    # ... or coming from one of these addresses/networks (comma-separated, e.g. "10.0.0.0/8").
    # Both empty: loopback only when embedded, nobody in production.
    metrics_addresses: str = ""


@dataclass(frozen=True)
class SimulatorSettings:
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = 8900
    rate: float = 0.5  # generated customer items per second
    seed: int = 7


@dataclass(frozen=True)
class ListenerSettings:
    poll_interval_seconds: float = 3.0
    max_interval_seconds: float = 60.0
    hourly_budget: int = 1000
    lease_seconds: int = 60
    # A newly connected account's first poll of each source reaches back this far (the
    # backlog its operators inherit), in at most this many pages.
    first_connect_hours: float = 72.0
    first_connect_pages: int = 20


@dataclass(frozen=True)
class RoutingSettings:
    strategy: str = "round_robin"  # round_robin | least_loaded
    sla_minutes: dict[str, int] = field(
        default_factory=lambda: {"urgent": 30, "high": 120, "normal": 480, "low": 1440}
    )


@dataclass(frozen=True)
class CrmSettings:
    """Where customer records come from (``servicehub.contact.crm``)."""

    backend: str = "builtin"  # builtin (the hub's own table) | http
    url: str = ""  # http: base URL of the CRM's customer API
    auth: str = "bearer"  # bearer | signed (HMAC-SHA256 over the request; see README)
    token: str = ""  # the bearer token, or the signing secret
    timeout_seconds: float = 5.0


@dataclass(frozen=True)
class SmsSettings:
    """The SMS/MMS gateway (``servicehub.contact.sms``), signed like the big cloud SMS APIs."""

    url: str = ""  # the gateway endpoint; empty: the embedded hub starts its SMS simulator
    provider: str = "cloud"  # delivery reports arrive at <public_url>/callbacks/sms/<provider>
    access_key_id: str = "hub-demo-key"
    access_key_secret: str = "hub-demo-secret"
    sign_name: str = "联通客服"
    timeout_seconds: float = 5.0
    # template id -> {kind = "sms" | "mms", label, text with {param}s, params = [names]}
    templates: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class EmailSettings:
    """Outgoing e-mail over SMTP (``servicehub.contact.email``)."""

    host: str = ""  # empty: the embedded hub starts a local SMTP sink
    port: int = 25
    security: str = "none"  # none | starttls | ssl
    username: str = ""
    password: str = ""
    sender: str = "service@example.com"
    sender_name: str = "客服中心"
    ca_file: str = ""  # a CA bundle to trust besides the system's (a private mail server)
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class AnalyticsSettings:
    timezone: str = "Asia/Shanghai"  # days, weeks and months are counted in this zone
    rollup_every_seconds: float = 120.0  # how often the rollups catch up with new rows
    snapshot_every_seconds: float = 3600.0  # how often follower counts are read (lowest budget tier)
    reread_minutes: int = 10  # rows committed this late are still counted
    spike_factor: float = 3.0  # a day with this many times its usual count is a spike
    spike_min_count: int = 10  # ... and at least this many messages
    spike_baseline_days: int = 7  # "usual": the mean of this many days before it
    keywords_per_day: int = 100  # keywords kept per account and day (30 per team)

    def __post_init__(self) -> None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                f"setting analytics.timezone {self.timezone!r} is not a time zone; use e.g. 'Asia/Shanghai'"
            ) from None


@dataclass(frozen=True)
class Settings:
    hub: HubSettings = field(default_factory=HubSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    redis: RedisSettings = field(default_factory=RedisSettings)
    tasks: TaskSettings = field(default_factory=TaskSettings)
    web: WebSettings = field(default_factory=WebSettings)
    simulator: SimulatorSettings = field(default_factory=SimulatorSettings)
    listener: ListenerSettings = field(default_factory=ListenerSettings)
    routing: RoutingSettings = field(default_factory=RoutingSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    ops: OpsSettings = field(default_factory=OpsSettings)
    crm: CrmSettings = field(default_factory=CrmSettings)
    sms: SmsSettings = field(default_factory=SmsSettings)
    email: EmailSettings = field(default_factory=EmailSettings)
    analytics: AnalyticsSettings = field(default_factory=AnalyticsSettings)
    # Free-form tables validated by the packages that own them (core imports no feature package).
    filters: dict[str, Any] = field(default_factory=dict)
    platforms: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def data_path(self) -> Path:
        return Path(self.hub.data_dir)

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.data_path / 'hub.db'}"

    @property
    def broker_url(self) -> str:
        return self.tasks.broker_url or self.redis.url

    @property
    def public_url(self) -> str:
        return self.web.public_url or f"http://{self.web.host}:{self.web.port}"


_CHOICES = {
    ("hub", "mode"): ("embedded", "production"),
    ("tasks", "backend"): ("inprocess", "celery"),
    ("routing", "strategy"): ("round_robin", "least_loaded"),
    ("hub", "locale"): ("zh-CN", "en"),
    ("crm", "backend"): ("builtin", "http"),
    ("crm", "auth"): ("bearer", "signed"),
    ("email", "security"): ("none", "starttls", "ssl"),
}


def load_settings(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the TOML file (``HUB_SETTINGS`` or ./settings.toml when present) and apply env overrides."""
    env = os.environ if env is None else env
    file = Path(path or env.get(f"{ENV_PREFIX}SETTINGS", DEFAULT_FILE))
    raw: dict[str, Any] = {}
    if file.exists():
        try:
            raw = tomllib.loads(file.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"{file}: not valid TOML ({exc}); fix the syntax on that line") from exc
    elif path is not None:
        raise SettingsError(f"settings file {file} does not exist; pass an existing file or omit it")
    _apply_env(raw, env)
    settings: Settings = _build(Settings, raw, prefix="")
    if settings.hub.mode == "production":
        check_production(settings)
    return settings


# Values shipped for the demo and the tests: anyone can read them, so production refuses them.
DEMO_VALUES = frozenset(
    {
        "hub-demo-app",
        "hub-demo-secret",
        "hub-app",
        "hub-secret",
        "test-secret",
        "wx10010demo",
        "wx-demo-secret",
        "wx-demo-token",
        "gh_10010demo",
    }
)
MIN_SECRET_KEY = 32


def _placeholder(value: str) -> bool:
    """A value the deployment example ships for the operator to replace (``change-me``,
    ``your-weibo-app-key``): a production hub started from the example unedited refuses it."""
    return value == "change-me" or value.startswith("your-")


def check_production(settings: Settings) -> None:
    """Refuse to run in production with a demo key, secret or password, naming the setting."""
    key = settings.hub.secret_key
    if not key:
        raise SettingsError(
            "hub.secret_key is empty; production needs one secret shared by every process "
            f"(at least {MIN_SECRET_KEY} random characters, e.g. from `openssl rand -base64 48`)"
        )
    if key in DEMO_VALUES or _placeholder(key):
        raise SettingsError("hub.secret_key is a demo value; set a secret of your own")
    if len(key) < MIN_SECRET_KEY:
        raise SettingsError(
            f"hub.secret_key is shorter than {MIN_SECRET_KEY} characters; set a longer secret"
        )
    if settings.ops.metrics_token and len(settings.ops.metrics_token) < 16:
        raise SettingsError("ops.metrics_token is shorter than 16 characters; set a longer token")
    for name, value in _strings(settings.platforms, "platforms"):
        if value in DEMO_VALUES or _placeholder(value):
            raise SettingsError(f"{name} is the demo value {value!r}; set the one the platform issued you")
    for name, value in _strings({"database": {"url": settings.database.url}}, ""):
        if any(f":{demo}@" in value for demo in DEMO_VALUES):
            raise SettingsError(f"{name.lstrip('.')} holds a demo password; set a real one")


def _strings(table: Mapping[str, Any], prefix: str) -> list[tuple[str, str]]:
    found = []
    for key, value in table.items():
        name = f"{prefix}.{key}"
        if isinstance(value, Mapping):
            found.extend(_strings(value, name))
        elif isinstance(value, str):
            found.append((name, value))
    return found


def _apply_env(raw: dict[str, Any], env: Mapping[str, str]) -> None:
    for name, value in env.items():
        if not name.startswith(ENV_PREFIX) or "__" not in name:
            continue
        section, _, key = name[len(ENV_PREFIX) :].lower().partition("__")
        if "__" in key:  # HUB_PLATFORMS__WEIBO__API_BASE
            sub, _, leaf = key.partition("__")
            raw.setdefault(section, {}).setdefault(sub, {})[leaf] = _EnvValue(name, value)
        else:
            raw.setdefault(section, {})[key] = _EnvValue(name, value)


@dataclass(frozen=True)
class _EnvValue:
    """A raw string from the environment, converted to the field's type when validated."""

    name: str
    value: str


def _build(cls: type[Any], raw: Mapping[str, Any], prefix: str) -> Any:
    if not isinstance(raw, Mapping):
        raise SettingsError(f"[{prefix.rstrip('.')}] must be a table")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    for key in raw:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(sorted(known))}"
            raise SettingsError(f"unknown setting {prefix}{key}{hint}")
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in raw:
            continue
        hint = hints[f.name]
        value = raw[f.name]
        if dataclasses.is_dataclass(hint):
            values[f.name] = _build(typing.cast(type[Any], hint), value, f"{prefix}{f.name}.")
        else:
            values[f.name] = _coerce(f"{prefix}{f.name}", hint, value)
    return cls(**values)


def _coerce(key: str, hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint) or hint
    where = f"environment variable {value.name}" if isinstance(value, _EnvValue) else f"setting {key}"
    if isinstance(value, _EnvValue):
        value = _parse_env(key, origin, value)
    if origin is bool:
        if not isinstance(value, bool):
            raise SettingsError(f"{where} must be true or false, got {value!r}")
    elif origin is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingsError(f"{where} must be a whole number, got {value!r}")
    elif origin is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise SettingsError(f"{where} must be a number, got {value!r}")
        value = float(value)
    elif origin is str:
        if not isinstance(value, str):
            raise SettingsError(f"{where} must be a string, got {value!r}")
        choices = _CHOICES.get(tuple(key.split(".", 1)))  # type: ignore[arg-type]
        if choices and value not in choices:
            raise SettingsError(f"{where} must be one of {', '.join(choices)}, got {value!r}")
    elif origin in (dict, types.GenericAlias) or origin is dict:
        if not isinstance(value, Mapping):
            raise SettingsError(f"{where} must be a table")
        value = _plain(value)
    return value


def _plain(value: Any) -> Any:
    """A free-form table with environment strings unwrapped, at any depth."""
    if isinstance(value, _EnvValue):
        return value.value
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _parse_env(key: str, origin: Any, env: _EnvValue) -> Any:
    text = env.value.strip()
    try:
        if origin is bool:
            lowered = text.lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if origin is int:
            return int(text)
        if origin is float:
            return float(text)
    except ValueError:
        kind = {bool: "true or false", int: "a whole number", float: "a number"}[origin]
        raise SettingsError(f"environment variable {env.name} ({key}) must be {kind}, got {text!r}") from None
    return env.value

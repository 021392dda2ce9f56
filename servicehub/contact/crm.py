"""The CRM seam: find a customer's record by phone, read one record by its CRM number.

``[crm] backend`` picks the implementation:

- ``builtin``: :class:`BuiltinCrm` reads the hub's own ``crm_entries`` table (the embedded
  mode; the demo seeds it);
- ``http``: :class:`HttpCrm` asks the operator's CRM over HTTP::

      GET <url>/customers?phone=13812345678  -> 200 {"customers": [record, ...]}
      GET <url>/customers/<crm_number>       -> 200 record | 404

  where a record is ``{"crm_number", "name", "phone", "plan", "tier", "email"}``.
  ``[crm] auth = "bearer"`` sends ``Authorization: Bearer <token>``; ``auth = "signed"``
  sends ``X-Hub-Timestamp`` (Unix seconds), ``X-Hub-Nonce`` and ``X-Hub-Signature``, the
  hex HMAC-SHA256 with ``token`` as key over ``METHOD\\nPATH\\nCANONICAL_QUERY\\nTIMESTAMP\\nNONCE``
  (canonical query: RFC 3986-encoded ``key=value`` pairs sorted by key, joined by ``&``);
  the CRM should refuse timestamps more than five minutes off and nonces it has seen.

Every failure to get an answer is a :class:`CrmUnavailable`; "no such record" is an empty
list or None, never an error.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Protocol
from urllib.parse import quote, urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from servicehub.core.models import CrmEntry
from servicehub.core.settings import CrmSettings


@dataclass(frozen=True)
class CrmRecord:
    crm_number: str
    name: str
    phone: str
    plan: str = ""
    tier: int = 0
    email: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CrmRecord:
        try:
            return cls(
                crm_number=str(data["crm_number"]),
                name=str(data.get("name") or ""),
                phone=str(data.get("phone") or ""),
                plan=str(data.get("plan") or ""),
                tier=max(0, int(data.get("tier") or 0)),
                email=str(data.get("email") or ""),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CrmUnavailable(f"the CRM answered a record the hub cannot read: {exc}") from exc


class CrmUnavailable(Exception):
    """The CRM gave no usable answer (down, timed out, refused our credentials, malformed)."""


class CrmConnector(Protocol):
    def find_by_phone(self, phone: str) -> list[CrmRecord]: ...

    def get(self, crm_number: str) -> CrmRecord | None: ...

    def close(self) -> None: ...


class BuiltinCrm:
    """The ``crm_entries`` table, read through the caller's session: on SQLite every hub
    session holds the one write lock from its start, so a second one would wait for it."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def find_by_phone(self, phone: str) -> list[CrmRecord]:
        rows = self.session.scalars(select(CrmEntry).where(CrmEntry.phone == phone).order_by(CrmEntry.id))
        return [_record(row) for row in rows]

    def get(self, crm_number: str) -> CrmRecord | None:
        row = self.session.scalars(select(CrmEntry).where(CrmEntry.crm_number == crm_number)).first()
        return _record(row) if row is not None else None

    def close(self) -> None:
        return None


def _record(row: CrmEntry) -> CrmRecord:
    return CrmRecord(row.crm_number, row.name, row.phone, row.plan, row.tier, row.email)


def canonical_query(params: Mapping[str, str]) -> str:
    return "&".join(f"{_encode(k)}={_encode(v)}" for k, v in sorted(params.items()))


def _encode(value: str) -> str:
    return quote(str(value), safe="-_.~")


def crm_signature(secret: str, method: str, path: str, params: Mapping[str, str], ts: str, nonce: str) -> str:
    """The ``X-Hub-Signature`` of a signed CRM request (see the module docstring)."""
    message = "\n".join((method.upper(), path, canonical_query(params), ts, nonce))
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


class HttpCrm:
    """The operator's CRM over HTTP (``[crm] backend = "http"``)."""

    def __init__(self, settings: CrmSettings, *, transport: httpx.BaseTransport | None = None) -> None:
        if not settings.url:
            raise CrmUnavailable("[crm] url is empty; set it, or use backend = 'builtin'")
        self.settings = settings
        self.base = settings.url.rstrip("/")
        self.client = httpx.Client(timeout=settings.timeout_seconds, transport=transport)

    def find_by_phone(self, phone: str) -> list[CrmRecord]:
        data = self._get("/customers", {"phone": phone})
        found = data.get("customers") if isinstance(data, dict) else None
        if not isinstance(found, list):
            raise CrmUnavailable("the CRM answered without a customers list")
        return [CrmRecord.from_dict(item) for item in found if isinstance(item, dict)]

    def get(self, crm_number: str) -> CrmRecord | None:
        data = self._get(f"/customers/{quote(crm_number, safe='')}", {})
        return None if data is None else CrmRecord.from_dict(data)

    def _get(self, path: str, params: dict[str, str]) -> Any:
        url = self.base + path
        headers = self._auth("GET", urlsplit(url).path, params)
        try:
            response = self.client.get(url, params=params, headers=headers)
        except httpx.HTTPError as exc:
            raise CrmUnavailable(f"the CRM did not answer: {type(exc).__name__}: {exc}") from exc
        if response.status_code == 404 and path != "/customers":
            return None
        if response.status_code in (401, 403):
            raise CrmUnavailable(f"the CRM refused the hub's credentials ({response.status_code})")
        if response.status_code != 200:
            raise CrmUnavailable(f"the CRM answered {response.status_code}")
        try:
            return response.json()
        except ValueError as exc:
            raise CrmUnavailable("the CRM answered something other than JSON") from exc

    def _auth(self, method: str, path: str, params: dict[str, str]) -> dict[str, str]:
        token = self.settings.token
        if self.settings.auth == "bearer":
            return {"Authorization": f"Bearer {token}"}
        ts, nonce = str(int(time.time())), secrets.token_hex(8)
        return {
            "X-Hub-Timestamp": ts,
            "X-Hub-Nonce": nonce,
            "X-Hub-Signature": crm_signature(token, method, path, params, ts, nonce),
        }

    def close(self) -> None:
        self.client.close()

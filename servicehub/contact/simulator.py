"""A CRM and an SMS/MMS gateway in one small aiohttp app, for the demo and the tests.

It speaks the wire protocols of :mod:`servicehub.contact.crm` and
:mod:`servicehub.contact.sms`, checks their signatures exactly as the real services would,
keeps what it received in memory and posts signed delivery reports back to the hub.

Service routes
--------------
``POST /sms`` (form): ``Action=SendSms`` / ``QuerySendDetails``, signed (see ``sms.py``).
``GET /crm/customers?phone=`` and ``GET /crm/customers/{crm_number}``: bearer or signed.

Control routes (JSON)
---------------------
``GET  /_sim/sms/outbox`` -> ``{"items": [{seq, biz_id, out_id, phone, template, kind,
       params, sign_name, received_at}]}``: every SendSms the gateway accepted.
``POST /_sim/sms/callback`` ``{url}``: where delivery reports go.
``POST /_sim/sms/faults`` ``{fail_next?: code, hold_next?: seconds, down_next?: n,
       undeliverable?: [phone], report_delay?: seconds}``: the next send answers an error
       code / is taken but answered only after ``hold_next`` seconds / n requests answer 503
       unrecorded; reports for ``undeliverable`` numbers say 停机.
``GET  /_sim/sms/reports`` -> ``{"items": [{biz_id, out_id, attempts, status, body}]}``.
``POST /_sim/sms/reports/resend`` ``{biz_id}``: push that report again (a duplicate).
``POST /_sim/crm/customers`` ``{customers: [record]}``; ``GET /_sim/crm/calls``.
``GET  /_sim/mail`` -> ``{"items": [{from, to, subject, text}]}``: what the demo's local mail
       server received (when the simulator was given one).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

from servicehub.contact.crm import crm_signature
from servicehub.contact.loop import LoopThread
from servicehub.contact.sms import BEIJING, report_signature, request_signature

MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
REPORT_RETRIES = 8


@dataclass
class ContactSimConfig:
    access_key_id: str = "hub-demo-key"
    access_key_secret: str = "hub-demo-secret"
    crm_token: str = "crm-demo-token"
    crm_auth: str = "bearer"  # bearer | signed
    report_delay: float = 0.3


@dataclass
class Faults:
    fail_next: str = ""
    hold_next: float = 0.0
    down_next: int = 0
    undeliverable: set[str] = field(default_factory=set)


@dataclass
class Received:
    seq: int
    biz_id: str
    out_id: str
    phone: str
    template: str
    params: dict[str, Any]
    sign_name: str
    received_at: datetime
    report: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "biz_id": self.biz_id,
            "out_id": self.out_id,
            "phone": self.phone,
            "template": self.template,
            "kind": "mms" if self.template.upper().startswith("MMS") else "sms",
            "params": self.params,
            "sign_name": self.sign_name,
            "received_at": self.received_at.isoformat(),
        }


@dataclass
class Push:
    biz_id: str
    out_id: str
    body: str
    attempts: int = 0
    status: int | None = None


class ContactSimulator:
    def __init__(self, config: ContactSimConfig | None = None) -> None:
        self.config = config or ContactSimConfig()
        self.faults = Faults()
        self.report_delay = self.config.report_delay
        self.received: list[Received] = []
        self.pushes: list[Push] = []
        self.callback_url = ""
        self.crm: dict[str, dict[str, Any]] = {}
        self.crm_calls: list[dict[str, Any]] = []
        self._nonces: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._http: aiohttp.ClientSession | None = None
        self.mailbox: Callable[[], list[dict[str, Any]]] = list

    # -- the gateway -------------------------------------------------------------------------

    async def sms(self, request: web.Request) -> web.Response:
        if self.faults.down_next > 0:
            self.faults.down_next -= 1
            return web.json_response({"Code": "ServiceUnavailable", "Message": "busy"}, status=503)
        form = {k: str(v) for k, v in (await request.post()).items()}
        problem = self._check_signature(form)
        if problem:
            return _error(problem, "Specified signature is not matched with our calculation.", 400)
        action = form.get("Action")
        if action == "SendSms":
            return await self._send(form)
        if action == "QuerySendDetails":
            return self._query(form)
        return _error("InvalidAction.NotFound", f"unknown action {action}", 404)

    def _check_signature(self, form: dict[str, str]) -> str:
        given = form.pop("Signature", "")
        if form.get("AccessKeyId") != self.config.access_key_id:
            return "InvalidAccessKeyId.NotFound"
        wanted = request_signature(self.config.access_key_secret, form)
        if not hmac.compare_digest(given, wanted):
            return "SignatureDoesNotMatch"
        nonce = form.get("SignatureNonce", "")
        if not nonce or nonce in self._nonces:
            return "SignatureNonceUsed"
        self._nonces.add(nonce)
        return ""

    async def _send(self, form: dict[str, str]) -> web.Response:
        if self.faults.fail_next:
            code, self.faults.fail_next = self.faults.fail_next, ""
            return _error(code, "refused by the simulator")
        phone = form.get("PhoneNumbers", "")
        if not MOBILE.match(phone):
            return _error("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        if not form.get("SignName"):
            return _error("isv.SMS_SIGNATURE_ILLEGAL", "签名不合法")
        try:
            params = json.loads(form.get("TemplateParam") or "{}")
        except ValueError:
            return _error("isv.INVALID_JSON_PARAM", "JSON参数不合法")
        item = Received(
            seq=len(self.received) + 1,
            biz_id=f"{int(time.time() * 1000)}^{secrets.token_hex(6)}",
            out_id=form.get("OutId", ""),
            phone=phone,
            template=form.get("TemplateCode", ""),
            params=params,
            sign_name=form["SignName"],
            received_at=datetime.now(UTC),
        )
        self.received.append(item)
        self._spawn(self._report_later(item))
        if self.faults.hold_next:  # taken, but the answer comes too late for the hub
            hold, self.faults.hold_next = self.faults.hold_next, 0.0
            await asyncio.sleep(hold)
        return web.json_response(
            {"Code": "OK", "Message": "OK", "BizId": item.biz_id, "RequestId": secrets.token_hex(8)}
        )

    def _query(self, form: dict[str, str]) -> web.Response:
        phone, day = form.get("PhoneNumber", ""), form.get("SendDate", "")
        found = [
            r
            for r in self.received
            if r.phone == phone and r.received_at.astimezone(BEIJING).strftime("%Y%m%d") == day
        ]
        details = [
            {
                "PhoneNum": r.phone,
                "SendStatus": 1 if r.report is None else (3 if r.report["success"] else 2),
                "ErrCode": "" if r.report is None else r.report["err_code"],
                "TemplateCode": r.template,
                "OutId": r.out_id,
                "BizId": r.biz_id,
                "SendDate": r.received_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
            }
            for r in found
        ]
        return web.json_response(
            {
                "Code": "OK",
                "Message": "OK",
                "TotalCount": len(details),
                "SmsSendDetailDTOs": {"SmsSendDetailDTO": details},
            }
        )

    # -- delivery reports --------------------------------------------------------------------

    async def _report_later(self, item: Received) -> None:
        await asyncio.sleep(self.report_delay)
        failed = item.phone in self.faults.undeliverable
        now = datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        item.report = {
            "phone_number": item.phone,
            "send_time": item.received_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
            "report_time": now,
            "success": not failed,
            "err_code": "MOBILE_NOT_ON_SERVICE" if failed else "DELIVERED",
            "err_msg": "停机" if failed else "用户接收成功",
            "sms_size": "1",
            "biz_id": item.biz_id,
            "out_id": item.out_id,
        }
        push = Push(item.biz_id, item.out_id, json.dumps([item.report], ensure_ascii=False))
        self.pushes.append(push)
        await self._deliver(push)

    async def _deliver(self, push: Push) -> None:
        """POST the report until the hub says it has it (a real gateway re-pushes too)."""
        for attempt in range(REPORT_RETRIES):
            if not self.callback_url:
                return
            push.attempts += 1
            ts, nonce = str(int(time.time())), secrets.token_hex(8)
            body = push.body.encode()
            headers = {
                "Content-Type": "application/json",
                "X-Sms-Timestamp": ts,
                "X-Sms-Nonce": nonce,
                "X-Sms-Signature": report_signature(self.config.access_key_secret, ts, nonce, body),
            }
            try:
                async with self._client().post(self.callback_url, data=body, headers=headers) as answer:
                    push.status = answer.status
                    if answer.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                push.status = None
            await asyncio.sleep(min(0.25 * 2**attempt, 5.0))

    def _client(self) -> aiohttp.ClientSession:
        if self._http is None:
            self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        return self._http

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- the CRM -----------------------------------------------------------------------------

    def _crm_allowed(self, request: web.Request) -> bool:
        params = {k: v for k, v in request.query.items()}
        self.crm_calls.append({"path": request.path, "params": params, "auth": self.config.crm_auth})
        if self.config.crm_auth == "bearer":
            return hmac.compare_digest(
                request.headers.get("Authorization", ""), f"Bearer {self.config.crm_token}"
            )
        ts, nonce = request.headers.get("X-Hub-Timestamp", ""), request.headers.get("X-Hub-Nonce", "")
        wanted = crm_signature(self.config.crm_token, request.method, request.path, params, ts, nonce)
        fresh = ts.isdigit() and abs(time.time() - int(ts)) < 300 and nonce not in self._nonces
        self._nonces.add(nonce)
        return fresh and hmac.compare_digest(request.headers.get("X-Hub-Signature", ""), wanted)

    async def crm_find(self, request: web.Request) -> web.Response:
        if not self._crm_allowed(request):
            return web.json_response({"error": "unauthorized"}, status=401)
        phone = request.query.get("phone", "")
        return web.json_response({"customers": [r for r in self.crm.values() if r.get("phone") == phone]})

    async def crm_get(self, request: web.Request) -> web.Response:
        if not self._crm_allowed(request):
            return web.json_response({"error": "unauthorized"}, status=401)
        record = self.crm.get(request.match_info["number"])
        if record is None:
            return web.json_response({"error": "not found"}, status=404)
        return web.json_response(record)

    # -- control -----------------------------------------------------------------------------

    async def outbox(self, request: web.Request) -> web.Response:
        return web.json_response({"items": [r.as_dict() for r in self.received]})

    async def set_callback(self, request: web.Request) -> web.Response:
        self.callback_url = str((await request.json()).get("url") or "")
        return web.json_response({"url": self.callback_url})

    async def set_faults(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.faults.fail_next = str(body.get("fail_next", self.faults.fail_next))
        self.faults.hold_next = float(body.get("hold_next", self.faults.hold_next))
        self.faults.down_next = int(body.get("down_next", self.faults.down_next))
        self.faults.undeliverable |= set(body.get("undeliverable", []))
        self.report_delay = float(body.get("report_delay", self.report_delay))
        return web.json_response({"ok": True})

    async def reports(self, request: web.Request) -> web.Response:
        items = [
            {
                "biz_id": p.biz_id,
                "out_id": p.out_id,
                "attempts": p.attempts,
                "status": p.status,
                "body": p.body,
            }
            for p in self.pushes
        ]
        return web.json_response({"items": items})

    async def resend_report(self, request: web.Request) -> web.Response:
        biz_id = str((await request.json()).get("biz_id", ""))
        original = next((p for p in self.pushes if p.biz_id == biz_id), None)
        if original is None:
            return web.json_response({"error": "no report for that biz_id"}, status=404)
        again = Push(original.biz_id, original.out_id, original.body)
        self.pushes.append(again)
        await self._deliver(again)
        return web.json_response({"status": again.status, "attempts": again.attempts})

    async def add_crm(self, request: web.Request) -> web.Response:
        for record in (await request.json()).get("customers", []):
            self.crm[str(record["crm_number"])] = dict(record)
        return web.json_response({"count": len(self.crm)})

    async def crm_log(self, request: web.Request) -> web.Response:
        return web.json_response({"items": self.crm_calls})

    async def mail(self, request: web.Request) -> web.Response:
        return web.json_response({"items": self.mailbox()})

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._http is not None:
            await self._http.close()


def _error(code: str, message: str, status: int = 200) -> web.Response:
    return web.json_response(
        {"Code": code, "Message": message, "RequestId": secrets.token_hex(8)}, status=status
    )


def create_app(sim: ContactSimulator) -> web.Application:
    app = web.Application()
    app.router.add_post("/sms", sim.sms)
    app.router.add_get("/crm/customers", sim.crm_find)
    app.router.add_get("/crm/customers/{number}", sim.crm_get)
    app.router.add_get("/_sim/sms/outbox", sim.outbox)
    app.router.add_post("/_sim/sms/callback", sim.set_callback)
    app.router.add_post("/_sim/sms/faults", sim.set_faults)
    app.router.add_get("/_sim/sms/reports", sim.reports)
    app.router.add_post("/_sim/sms/reports/resend", sim.resend_report)
    app.router.add_post("/_sim/crm/customers", sim.add_crm)
    app.router.add_get("/_sim/crm/calls", sim.crm_log)
    app.router.add_get("/_sim/mail", sim.mail)
    return app


class ContactSimThread:
    """The simulator on ``host:port`` (0: a free port) in a thread of its own."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, config: ContactSimConfig | None = None
    ) -> None:
        self.sim = ContactSimulator(config)
        self._loop = LoopThread("contact-simulator")
        self._runner = web.AppRunner(create_app(self.sim), access_log=None, shutdown_timeout=1.0)
        bound = self._loop.call(self._start(host, port))
        self.base_url = f"http://{host}:{bound}"
        self.sms_url = f"{self.base_url}/sms"
        self.crm_url = f"{self.base_url}/crm"

    async def _start(self, host: str, port: int) -> int:
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        return int(self._runner.addresses[0][1])

    def stop(self) -> None:
        async def down() -> None:
            await self.sim.close()
            await self._runner.cleanup()

        self._loop.call(down())
        self._loop.stop()

    def __enter__(self) -> ContactSimThread:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

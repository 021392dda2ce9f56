"""The adapters' HTTP client: one TLS context, and no token or secret in httpx's request logs."""

from __future__ import annotations

import logging

import httpx
import pytest

from servicehub.adapters.http import http_client, tls_context


def test_every_client_shares_one_tls_context() -> None:
    assert tls_context() is tls_context()
    with http_client(timeout=1) as client:
        assert isinstance(client, httpx.Client)


def test_request_logs_mask_tokens_and_secrets(caplog: pytest.LogCaptureFixture) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json={"errcode": 0}))
    url = (
        "https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential"
        "&appid=wx1234&secret=s3cr3t-VALUE&access_token=TOKEN-abc123"
    )
    with caplog.at_level(logging.INFO, logger="httpx"), httpx.Client(transport=transport) as client:
        client.get(url)
    logged = caplog.text
    assert "HTTP Request: GET" in logged  # the request is still logged...
    assert "appid=wx1234" in logged
    assert "s3cr3t-VALUE" not in logged and "TOKEN-abc123" not in logged  # ...without its secrets
    assert "secret=***" in logged and "access_token=***" in logged

"""The demo points platforms at its simulator, except one the environment names (issue 11)."""

from __future__ import annotations

import io
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

from servicehub.core.settings import load_settings
from servicehub.demo import USERS, DemoSimulator, print_banner


def _demo(base_url: str) -> DemoSimulator:
    return DemoSimulator(cast(Any, SimpleNamespace(base_url=base_url)))


def test_an_api_base_from_the_environment_is_honoured_and_said(tmp_path: Path) -> None:
    env = {
        "HUB_SETTINGS": str(tmp_path / "absent.toml"),
        "HUB_PLATFORMS__WECHAT__API_BASE": "http://127.0.0.1:7777",
    }
    settings = load_settings(env=env)
    demo = _demo("http://127.0.0.1:8900")
    try:
        tables = demo.platform_settings(settings, env=env)
        assert tables["wechat"]["api_base"] == "http://127.0.0.1:7777"  # not the simulator
        assert tables["weibo"]["api_base"] == tables["weibo"]["fans_api_base"] == "http://127.0.0.1:8900"
        out = io.StringIO()
        runtime = SimpleNamespace(
            settings=settings, engine=SimpleNamespace(url=SimpleNamespace(render_as_string=lambda **_: "db"))
        )
        print_banner(
            cast(Any, runtime),
            {u.username: "pw" for u in USERS},
            demo,
            out,
        )
        assert "微信公众号不使用模拟器" in out.getvalue()
        assert "(HUB_PLATFORMS__WECHAT__API_BASE): http://127.0.0.1:7777" in out.getvalue()
    finally:
        demo.http.close()


def test_without_it_every_platform_talks_to_the_simulator(tmp_path: Path) -> None:
    env = {"HUB_SETTINGS": str(tmp_path / "absent.toml")}
    demo = _demo("http://127.0.0.1:8900")
    try:
        tables = demo.platform_settings(load_settings(env=env), env=env)
        assert {tables[p]["api_base"] for p in ("weibo", "wechat")} == {"http://127.0.0.1:8900"}
        assert demo.elsewhere == {}
    finally:
        demo.http.close()

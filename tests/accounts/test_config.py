"""Platform settings from the environment arrive as strings and are typed on the way in."""

from __future__ import annotations

from pathlib import Path

import pytest

from servicehub.accounts.config import platform_config
from servicehub.core.runtime import build_runtime
from servicehub.core.settings import SettingsError, load_settings
from servicehub.core.tasks import SyncRunner


def _config(tmp_path: Path, **env: str) -> object:
    settings = load_settings(
        env={
            "HUB_SETTINGS": str(tmp_path / "absent.toml"),
            "HUB_HUB__DATA_DIR": str(tmp_path),
            "HUB_PLATFORMS__WEIBO__API_BASE": "http://127.0.0.1:9",
            **env,
        }
    )
    runtime = build_runtime(settings, tasks=SyncRunner())
    try:
        return platform_config(runtime, "weibo")
    finally:
        runtime.close()


def test_timeout_and_retries_from_the_environment_are_numbers(tmp_path: Path) -> None:
    config = _config(
        tmp_path, HUB_PLATFORMS__WEIBO__TIMEOUT_SECONDS="2.5", HUB_PLATFORMS__WEIBO__MAX_RETRIES="1"
    )
    assert (config.timeout_seconds, config.max_retries) == (2.5, 1)  # type: ignore[attr-defined]


def test_a_timeout_that_is_not_a_number_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"\[platforms.weibo\].timeout_seconds"):
        _config(tmp_path, HUB_PLATFORMS__WEIBO__TIMEOUT_SECONDS="soon")

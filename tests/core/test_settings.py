from __future__ import annotations

from pathlib import Path

import pytest

from servicehub.core.settings import SettingsError, load_settings

REPO = Path(__file__).resolve().parents[2]


def test_shipped_settings_file_loads_with_embedded_defaults() -> None:
    s = load_settings(REPO / "settings.toml", env={})
    assert s.hub.mode == "embedded"
    assert s.tasks.backend == "inprocess"
    assert s.database_url.startswith("sqlite:///")
    assert s.platforms["weibo"]["api_base"].startswith("http://127.0.0.1")


def test_env_overrides_nested_keys_with_types(tmp_path: Path) -> None:
    env = {
        "HUB_SETTINGS": str(tmp_path / "none.toml"),
        "HUB_WEB__PORT": "8123",
        "HUB_SIMULATOR__ENABLED": "false",
        "HUB_LISTENER__POLL_INTERVAL_SECONDS": "0.5",
        "HUB_DATABASE__URL": "postgresql://hub@db/hub",
        "HUB_PLATFORMS__WEIBO__API_BASE": "https://api.weibo.com",
    }
    s = load_settings(env=env)
    assert s.web.port == 8123
    assert s.simulator.enabled is False
    assert s.listener.poll_interval_seconds == 0.5
    assert s.database_url == "postgresql://hub@db/hub"
    assert s.platforms["weibo"]["api_base"] == "https://api.weibo.com"


def test_unknown_key_is_named_with_a_suggestion(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text("[web]\nprot = 80\n")
    with pytest.raises(SettingsError, match=r"unknown setting web\.prot; did you mean 'port'\?"):
        load_settings(f, env={})


def test_wrong_type_names_key_and_value(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text('[web]\nport = "eighty"\n')
    with pytest.raises(SettingsError, match=r"setting web\.port must be a whole number, got 'eighty'"):
        load_settings(f, env={})


def test_bad_env_value_names_the_variable(tmp_path: Path) -> None:
    env = {"HUB_SETTINGS": str(tmp_path / "none.toml"), "HUB_WEB__PORT": "80a"}
    with pytest.raises(SettingsError, match=r"HUB_WEB__PORT \(web\.port\) must be a whole number"):
        load_settings(env=env)


def test_choice_is_checked(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text('[tasks]\nbackend = "rq"\n')
    with pytest.raises(SettingsError, match="must be one of inprocess, celery"):
        load_settings(f, env={})


def test_invalid_toml_points_at_the_file(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text("[web\nport = 1\n")
    with pytest.raises(SettingsError, match=r"s\.toml: not valid TOML"):
        load_settings(f, env={})


def test_unknown_section_is_rejected(tmp_path: Path) -> None:
    f = tmp_path / "s.toml"
    f.write_text("[webb]\nport = 1\n")
    with pytest.raises(SettingsError, match="unknown setting webb; did you mean 'web'"):
        load_settings(f, env={})

"""The deployment files say what the code does: every command they run exists, every unit the
target wants is there, and the environment example names only real settings."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from servicehub.cli import _parser
from servicehub.core.settings import SettingsError, load_settings

ROOT = Path(__file__).resolve().parents[1]
UNITS = ROOT / "deploy" / "systemd"


def _servicehub_args(command: str) -> list[str]:
    words = shlex.split(command)
    at = next(i for i, w in enumerate(words) if w.endswith("servicehub"))
    return words[at + 1 :]


def _commands() -> list[tuple[str, str]]:
    found = []
    for unit in sorted(UNITS.glob("*.service")):
        for line in unit.read_text().splitlines():
            if line.startswith("ExecStart=") and "servicehub " in line:
                command = line.split("=", 1)[1].replace("%%", "%")
                inner = re.search(r"exec (\S*servicehub .*?)'", command)
                found.append((unit.name, inner.group(1) if inner else command))
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, command = line.partition(":")
            found.append((f"Procfile {name}", command.strip()))
    return found


@pytest.mark.parametrize(("where", "command"), _commands())
def test_every_command_is_one_the_cli_accepts(where: str, command: str) -> None:
    args = _servicehub_args(command.replace("$(date +%Y%m%d-%H%M)", "20260101-0330"))
    parsed = _parser().parse_args(args)  # exits (SystemExit) on an unknown command or option
    assert callable(parsed.func), where


def test_the_target_wants_units_that_exist() -> None:
    target = (UNITS / "servicehub.target").read_text()
    wants = re.search(r"^Wants=(.*)$", target, re.M)
    assert wants
    for unit in wants.group(1).split():
        template = re.sub(r"@[^.]+\.", "@.", unit)
        assert (UNITS / unit).exists() or (UNITS / template).exists(), unit


def _example(tmp_path: Path, filled: bool) -> dict[str, str]:
    env = {"HUB_SETTINGS": str(tmp_path / "absent.toml")}
    for line in (ROOT / "deploy" / "servicehub.env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            if filled and (value == "change-me" or value.startswith("your-")):
                value = f"{key.lower()}-{'x' * 40}"  # what an operator puts there
            env[key] = value
    return env


def test_the_environment_example_names_real_settings(tmp_path: Path) -> None:
    settings = load_settings(env=_example(tmp_path, filled=True))  # an unknown key or bad value raises
    assert settings.hub.mode == "production" and settings.tasks.backend == "celery"


def test_the_environment_example_unedited_is_refused_naming_the_setting(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"hub\.secret_key"):
        load_settings(env=_example(tmp_path, filled=False))
    env = _example(tmp_path, filled=False) | {"HUB_HUB__SECRET_KEY": "k" * 48}
    with pytest.raises(SettingsError, match=r"platforms\.weibo\.app_key"):
        load_settings(env=env)

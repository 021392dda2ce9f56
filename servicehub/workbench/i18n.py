"""Workbench strings: Simplified Chinese first, English available (``?lang=en`` or the user's locale).

The strings live in ``locales/*.toml``, one catalog per area of the workbench (a new
feature adds its own file), read once at import. A key defined twice, or without its
Chinese text, stops the import: a typo must not reach a screen. A key that is missing at
render time shows the Chinese text of ``error.missing_text`` rather than the raw key, and
``tests/workbench/test_i18n.py`` finds every key the templates and views use.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Callable
from pathlib import Path

LOCALES = ("zh-CN", "en")
CATALOGS = Path(__file__).parent / "locales"

log = logging.getLogger(__name__)


def load_catalogs(folder: Path = CATALOGS) -> dict[str, dict[str, str]]:
    messages: dict[str, dict[str, str]] = {}
    for path in sorted(folder.glob("*.toml")):
        with path.open("rb") as fh:
            catalog = tomllib.load(fh)
        for key, entry in catalog.items():
            if key in messages:
                raise ValueError(f"{path.name}: {key!r} is defined twice")
            if not isinstance(entry, dict) or not isinstance(entry.get("zh-CN"), str):
                raise ValueError(f"{path.name}: {key!r} needs a zh-CN text")
            unknown = set(entry) - set(LOCALES)
            if unknown:
                raise ValueError(f"{path.name}: {key!r} has unknown locale(s) {sorted(unknown)}")
            messages[key] = {locale: str(text) for locale, text in entry.items()}
    return messages


MESSAGES: dict[str, dict[str, str]] = load_catalogs()


def pick_locale(requested: str | None, preferred: str | None) -> str:
    for candidate in (requested, preferred):
        if candidate in LOCALES:
            return candidate
    return LOCALES[0]


def has_text(key: str) -> bool:
    return key in MESSAGES


def translator(locale: str) -> Callable[..., str]:
    def t(key: str, **values: object) -> str:
        entry = MESSAGES.get(key)
        if entry is None:
            log.error("no text for %r", key)
            entry = MESSAGES["error.missing_text"]
        text = entry.get(locale) or entry["zh-CN"]
        return text.format(**values) if values else text

    return t

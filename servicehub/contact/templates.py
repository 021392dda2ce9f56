"""SMS/MMS templates from ``[sms.templates.<id>]``: what the operator picks and fills in.

A gateway only sends texts from templates it approved; the hub knows each by its id, with
a label for operators, its text (``{param}`` placeholders, shown in the contact history as
sent) and its parameter names (optionally ``param_labels`` for the form)::

    [sms.templates.SMS_100001]
    kind = "sms"                 # sms | mms
    label = "问题已受理"
    text = "尊敬的{name}，您反映的问题已受理，我们将在{hours}小时内处理完毕。"
    params = ["name", "hours"]
    param_labels = ["称呼", "小时数"]

A malformed table stops with a :class:`SettingsError` naming the key.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from servicehub.core.errors import ActionError
from servicehub.core.settings import SettingsError, SmsSettings

PARAM_MAX = 35  # what the cloud gateways accept per template variable
_URL = re.compile(r"https?://|www\.", re.IGNORECASE)


@dataclass(frozen=True)
class SmsTemplate:
    id: str
    kind: str
    label: str
    text: str
    params: tuple[str, ...]
    param_labels: tuple[str, ...]

    @property
    def fields(self) -> list[tuple[str, str]]:
        return list(zip(self.params, self.param_labels, strict=True))

    def fill(self, values: Mapping[str, str]) -> tuple[dict[str, str], str]:
        """The checked parameter values and the text they make; ActionError on a bad value."""
        checked: dict[str, str] = {}
        for name, label in self.fields:
            value = str(values.get(name, "")).strip()
            if not value:
                raise ActionError("sms_param_required", f"{name} is required", name=label)
            if len(value) > PARAM_MAX:
                raise ActionError("sms_param_too_long", f"{name} is too long", name=label, limit=PARAM_MAX)
            if _URL.search(value):
                raise ActionError("sms_param_link", f"{name} holds a link", name=label)
            checked[name] = value
        return checked, self.text.format_map(checked)


def sms_templates(settings: SmsSettings) -> dict[str, SmsTemplate]:
    return {tid: _template(tid, table) for tid, table in settings.templates.items()}


def _template(tid: str, table: Any) -> SmsTemplate:
    where = f"sms.templates.{tid}"
    if not isinstance(table, Mapping):
        raise SettingsError(f"[{where}] must be a table")
    unknown = set(table) - {"kind", "label", "text", "params", "param_labels"}
    if unknown:
        raise SettingsError(f"unknown setting {where}.{sorted(unknown)[0]}; known: kind, label, text, params")
    kind = table.get("kind", "sms")
    if kind not in ("sms", "mms"):
        raise SettingsError(f"setting {where}.kind must be one of sms, mms, got {kind!r}")
    text, label = table.get("text"), table.get("label", tid)
    if not isinstance(text, str) or not text or not isinstance(label, str):
        raise SettingsError(f"setting {where}.text must be the template's text")
    params = _names(where, "params", table.get("params", []))
    labels = _names(where, "param_labels", table.get("param_labels", list(params)))
    if len(labels) != len(params):
        raise SettingsError(f"setting {where}.param_labels must name each of params once")
    try:
        used = {field for _, field, _, _ in string.Formatter().parse(text) if field}
    except ValueError as exc:
        raise SettingsError(f"setting {where}.text has unbalanced braces ({exc})") from exc
    if used != set(params):
        raise SettingsError(
            f"setting {where}.params must list exactly the text's placeholders {sorted(used)}"
        )
    return SmsTemplate(tid, kind, label, text, params, labels)


def _names(where: str, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise SettingsError(f"setting {where}.{key} must be a list of names")
    return tuple(value)

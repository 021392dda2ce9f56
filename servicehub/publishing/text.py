"""Text rules checked before anything is queued, so the operator sees the error at once.

How long a text may be is the platform's rule for its target (``adapters.registry.text_rule``:
Weibo counts 140 of its characters for a comment, WeChat 2,048 bytes for a message); the
outbox checks it here, and the platform's adapter checks again before it spends quota.
"""

from __future__ import annotations

from servicehub.adapters import registry
from servicehub.adapters.errors import TextTooLong
from servicehub.core.errors import ActionError


def checked_text(platform: str, target_kind: str, text: str) -> str:
    """``text`` stripped, if ``platform`` accepts it for ``target_kind``; else :class:`ActionError`
    (``text_empty``, or ``text_too_long`` with the limit, the length and its unit)."""
    text = text.strip()
    if not text:
        raise ActionError("text_empty", "the text is empty")
    rule = registry.text_rule(platform, target_kind)
    if rule is not None:
        try:
            rule.check(text)
        except TextTooLong as exc:
            raise ActionError(
                "text_too_long", str(exc), limit=exc.limit, length=exc.length, unit=exc.unit
            ) from exc
    return text

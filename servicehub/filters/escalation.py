"""Escalation threats: a customer saying they will go to a regulator, the press, a lawyer, or leave.

Such a message must reach a senior operator first, so the filter reports the threat words
it found (``("工信部",)``) and the urgency rules (:mod:`servicehub.filters.urgency`) make
it urgent. The words alone are not enough: 销户需要带什么证件 asks how to close an account,
12315那边调解结束了 reports on a finished case, and 本来都准备投诉到工信部了，结果当天就解决了
withdraws a threat. So:

- regulator, hotline, media, legal and police words count when the message is negative
  (the caller passes the model's reading) and the threat is not withdrawn (本来…/差点…);
- leaving words (销户, 携号转网, 转网, 退网) count only after a threat cue (就/直接/马上/
  全家/一起…), since customers ask how to do both all the time.

Each hit is reported by a canonical name, so 银保监 and 银保监会 are both ``银保监会``.
"""

from __future__ import annotations

import re

from servicehub.filters.textnorm import normalize

TARGETS: dict[str, tuple[str, ...]] = {
    "工信部": ("工信部", "工业和信息化部", "工业与信息化部"),
    "通信管理局": ("通信管理局", "通管局"),
    "12300": ("12300",),
    "12315": ("12315",),
    "12345": ("12345",),
    "12378": ("12378",),
    "315": ("315",),
    "银保监会": ("银保监会", "银保监", "银监会"),
    "金融监管局": ("金融监管总局", "金融监管局", "金融监管"),
    "人民银行": ("人民银行", "人行", "央行"),
    "消协": ("消协", "消费者协会", "消保委"),
    "市场监管局": ("市场监管局", "市场监督管理局", "市监局", "工商局"),
    "物价局": ("物价局",),
    "纪委": ("纪委",),
    "市长热线": ("市长热线",),
    "信访": ("信访",),
    "媒体": ("媒体", "电视台", "记者", "报社"),
    "曝光": ("曝光", "上热搜", "发微博", "发抖音"),
    "黑猫投诉": ("黑猫投诉",),
    "律师": ("律师函", "律师"),
    "起诉": ("起诉", "法院", "打官司", "法律途径", "诉讼"),
    "报警": ("报警",),
}
"""Canonical name -> the ways customers write it (longest first within the alternation)."""

LEAVING: dict[str, tuple[str, ...]] = {
    "销户": ("销户", "注销所有", "全部注销"),
    "携号转网": ("携号转网", "转网"),
    "退网": ("退网",),
}

_DIGITS = re.compile(r"\d+")


def _alternation(table: dict[str, tuple[str, ...]]) -> tuple[re.Pattern[str], dict[str, str]]:
    canonical = {form: name for name, forms in table.items() for form in forms}
    forms = sorted(canonical, key=len, reverse=True)
    parts = [rf"(?<!\d){re.escape(f)}(?!\d)" if _DIGITS.fullmatch(f) else re.escape(f) for f in forms]
    return re.compile("|".join(parts)), canonical


_TARGET_RE, _TARGET_NAMES = _alternation(TARGETS)
_LEAVING_RE, _LEAVING_NAMES = _alternation(LEAVING)
_THREAT_CUE_RE = re.compile(r"(?:就|直接|马上|立刻|立即|全家|一起|全部|都)\s*(?:去|给我|把号|把卡)?\s*$")
_WITHDRAWN_RE = re.compile(r"本来|原本|本打算|原打算|差点|差一点")


def mentioned(text: str) -> tuple[str, ...]:
    """Canonical names of every threat target or leaving word in ``text``, threat or not."""
    norm = normalize(text)
    names = [_TARGET_NAMES[m.group()] for m in _TARGET_RE.finditer(norm)]
    names += [_LEAVING_NAMES[m.group()] for m in _LEAVING_RE.finditer(norm)]
    return tuple(dict.fromkeys(names))


def threats(text: str, *, negative: bool) -> tuple[str, ...]:
    """The escalation threats ``text`` makes, by canonical name, in order of appearance.

    ``negative`` is whether the message reads as negative or as a complaint; a neutral
    question that names 12315 or 工信部 is not a threat.
    """
    if not negative:
        return ()
    norm = normalize(text)
    if _WITHDRAWN_RE.search(norm):
        return ()
    found: list[tuple[int, str]] = [(m.start(), _TARGET_NAMES[m.group()]) for m in _TARGET_RE.finditer(norm)]
    for m in _LEAVING_RE.finditer(norm):
        if _THREAT_CUE_RE.search(norm, max(0, m.start() - 6), m.start()):
            found.append((m.start(), _LEAVING_NAMES[m.group()]))
    return tuple(dict.fromkeys(name for _, name in sorted(found)))

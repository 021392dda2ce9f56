"""Drop advertising and spam aimed at official accounts.

Customers of a telecom talk about 优惠, 活动 and 返利 all the time, so single promotional
words never drop a message on their own. A message is spam when it carries an unambiguous
signal -- a shop link or 淘口令, a contact handle with an id (``加微信 abc123``, ``QQ 123456``),
a fan-farming word (代刷, 刷粉 …), a configured pattern, more @mentions than allowed -- or
when weaker signals meet: a link next to ad words, two promotional words, or promotional
text repeated across the batch and the author's recent messages.

Each signal becomes a ``spam:<kind>`` tag; the reason code is ``spam``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence

from servicehub.filters.settings import FilterSettings
from servicehub.filters.textnorm import URL_RE, content_signature, mentions, normalize
from servicehub.filters.verdict import PASS, FilterInput, Outcome, RecentText

REASON = "spam"

_SHOP_DOMAINS = (
    "taobao|tmall|jd|pinduoduo|yangkeduo|weidian|youzan|vip|suning|dangdang|1688|koudai|mogujie|jumei|kaola"
)
SHOP_LINK_RE = re.compile(
    rf"(?<![a-z0-9])(?:[a-z0-9-]+\.)*(?:{_SHOP_DOMAINS})\.(?:com|cn|hk)(?![a-z0-9])"
    r"|(?<![a-z0-9])(?:m\.tb\.cn|tb\.cn|u\.jd\.com|3\.cn)/"
    r"|[¥$€₴]\s*[a-z0-9]{8,13}\s*[¥$€₴]"  # 淘口令 tokens
    r"|淘口令|打开手机淘宝|复制这条信息"
)
QQ_RE = re.compile(r"(?<![a-z的])(?:qq|扣扣|企鹅)\s*号?\s*(?:[:是]\s*)?\d{5,11}(?!\d)")
WECHAT_RE = re.compile(
    r"(?<![a-z的])(?:微信|威信|薇信|徽信|v信|vx|wx|weixin|wechat)\s*号?\s*(?:[:是]\s*)?"
    r"(?:[a-z][a-z0-9_-]{5,19}|1\d{10})(?![a-z0-9_-])"
    r"|(?:加|\+|➕)\s*我?\s*(?:v|微|薇|vx|wx)\s*[:]?\s*[a-z0-9_-]{5,20}"
)
FARMING_WORDS = (
    "代刷", "刷粉", "刷赞", "刷单", "刷钻", "刷信誉", "刷量", "互粉", "涨粉", "僵尸粉", "网赚",
    "日赚", "躺赚", "招代理", "月入过万", "月入上万",
)  # fmt: skip
PROMO_WORDS = (
    "兼职", "返利", "日结", "加盟", "代理", "微商", "贷款", "招聘", "免费领取", "佣金", "提现",
    "赚钱", "宝妈",
)  # fmt: skip
AD_WORDS = (
    "优惠", "特价", "包邮", "促销", "领券", "优惠券", "秒杀", "限时", "抢购", "折扣", "低至", "进店",
    "下单", "返现", "爆款", "清仓", "正品", "代购", "招商", "点击链接", "戳链接",
)  # fmt: skip


def _found(words: Sequence[str], text: str) -> int:
    return sum(1 for w in words if w in text)


class SpamFilter:
    """Finds spam signals per message; see the module docstring for the rules."""

    name = "spam"

    def __init__(self, settings: FilterSettings) -> None:
        self._max_mentions = settings.spam_max_mentions
        self._repeat_min = settings.spam_repeat_min
        self._patterns = settings.spam_patterns

    def signals(self, text: str, repeats: int = 1) -> tuple[str, ...]:
        """The spam tags ``text`` earns; ``repeats`` is how often its words were seen lately."""
        norm = normalize(text)
        tags: list[str] = []
        if SHOP_LINK_RE.search(norm):
            tags.append("spam:shop_link")
        if QQ_RE.search(norm):
            tags.append("spam:qq")
        if WECHAT_RE.search(norm):
            tags.append("spam:wechat")
        if _found(FARMING_WORDS, norm):
            tags.append("spam:farming")
        if any(p.search(norm) for p in self._patterns):
            tags.append("spam:pattern")
        if len(set(mentions(norm))) > self._max_mentions:
            tags.append("spam:mentions")
        promo, ads = _found(PROMO_WORDS, norm), _found(AD_WORDS, norm)
        has_link = URL_RE.search(norm) is not None
        if has_link and promo + ads:
            tags.append("spam:ad_link")
        if promo >= 2:
            tags.append("spam:promo")
        if repeats >= self._repeat_min and (promo + ads or has_link):
            tags.append("spam:repeated")
        return tuple(tags)

    def run(self, items: Sequence[FilterInput], recent: Mapping[str, Sequence[RecentText]]) -> list[Outcome]:
        signatures = [content_signature(item.text) for item in items]
        in_batch = Counter(signatures)
        outcomes = []
        for item, signature in zip(items, signatures, strict=True):
            repeats = in_batch[signature] + sum(
                1
                for r in recent.get(item.author_uid, ())
                if r.platform_id != item.platform_id and content_signature(r.text) == signature
            )
            tags = self.signals(item.text, repeats if signature else 1)
            outcomes.append(Outcome(drop=REASON, tags=tags) if tags else PASS)
        return outcomes

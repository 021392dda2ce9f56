"""Drop advertising and spam aimed at official accounts.

Customers of a telecom talk about 优惠, 活动 and 返利 all the time, and quote the lures
they received (收到短信说积分可以兑换现金，链接…，是你们发的吗？), so single promotional
words never drop a message on their own, and word-based signals give way to a customer's
voice. Signals come in two kinds:

- *strong*, spam whoever writes them: a shop link or 淘口令, a contact handle with an id
  (``加微信 abc123``, ``QQ群 123456``, ``微信同号 186…``), a follow-farming bot reply
  (互粉, 回关, 看我主页), a configured pattern, more @mentions than allowed;
- *word-based*: fan-farming and grey-trade words (代刷, 刷单, 代开发票, 套现 …), a link next to
  a lure or ad word (领取, 红包, 点击 …), two lure words, two promotional words, a phone
  number offered for contact next to a lure or an ad, promotional text (or a link) repeated
  across the batch and the author's recent messages. These are ignored when the text speaks as a customer:
  asks whether something is real or official (是你们…吗, 是不是骗子), addresses the
  company (你们), reports being targeted (收到短信, 有人冒充), or says "I" (我的, 给我) --
  spam rarely does, except to be followed or added (加我, 看我主页), which the strong
  signals catch. During an outage many customers send the same words (宽带续约有什么优惠吗？),
  so repetition alone is word-based.

Each signal becomes a ``spam:<kind>`` tag; the reason code is ``spam``; dropped messages
are stored with it, so a person can review and restore them.
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
QQ_RE = re.compile(
    r"(?<![a-z的])(?:qq|扣扣|企鹅)\s*[号群]?\s*(?:[:是]\s*)?\d{5,11}(?!\d)"
    r"|(?<![a-z0-9的])q\s*[: ]\s*\d{6,11}(?!\d)"
)
WECHAT_RE = re.compile(
    r"(?<![a-z的])(?:微信|威信|薇信|徽信|v信|vx|wx|weixin|wechat)\s*(?:号|同号)?\s*(?:[:是]\s*)?"
    r"(?:[a-z][a-z0-9_-]{5,19}|1\d{10})(?![a-z0-9_-])"
    r"|(?:加|\+|➕)\s*我?\s*(?:v|微|薇|vx|wx)\S{0,4}?\s*[:]?\s*[a-z][a-z0-9_-]{4,19}"
)
PHONE_RE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
BOT_RE = re.compile(
    r"互关|回关|互相关注|求关注|关注我(?!们)|看我主页|我的主页|我主页|主页有|主页置顶|来我家坐坐|回访我|欢迎回访"
)
FARMING_WORDS = (
    "代刷", "刷粉", "刷赞", "刷单", "刷钻", "刷信誉", "刷量", "刷好评", "好评返现", "互粉", "涨粉",
    "僵尸粉", "网赚", "日赚", "躺赚", "招代理", "月入过万", "月入上万", "代开", "套现", "代还",
    "征信修复", "无视征信", "黑户", "包过", "包下卡", "砍一刀", "冲量", "稳赚", "带单",
)  # fmt: skip
PROMO_WORDS = (
    "兼职", "返利", "日结", "加盟", "代理", "微商", "贷款", "招聘", "免费领取", "佣金", "提现",
    "赚钱", "宝妈", "出售", "有意者", "私聊", "详聊", "私信咨询", "详情私信", "回收", "代办", "代缴",
    "代挂", "各类", "收徒", "招募", "分销", "一件代发", "名额有限", "创业", "回本", "秒批", "下款",
    "放款", "高价", "最低价", "直销", "拿货", "邀请码", "助力", "进群", "霸王餐", "代运营", "月入",
)  # fmt: skip
AD_WORDS = (
    "优惠", "特价", "包邮", "促销", "领券", "优惠券", "秒杀", "限时", "抢购", "折扣", "低至", "进店",
    "下单", "返现", "爆款", "清仓", "正品", "代购", "招商", "点击链接", "戳链接",
)  # fmt: skip
LURE_WORDS = (
    "领取", "速领", "红包", "免费", "恭喜", "福利", "点击", "戳", "立即", "0元", "仅限", "最后一天",
    "抽奖", "中奖", "天天领",
)  # fmt: skip
CONTACT_WORDS = ("联系", "同号", "私聊", "私信", "咨询", "详聊", "热线", "加我")
CUSTOMER_VOICE_RE = re.compile(
    r"你们|是不是|是真的|真的吗|官方的?吗|是官方|授权|冒充|诈骗|骗子|骗人|上当|被骗|差点"
    r"|收到(?:一条|了)?(?:短信|电话)|有人|吗|为什么|怎么|凭什么"
    r"|(?<![加看找私来戳联系关注访])我(?!们|的?主页|砍)"
)
"""A customer talking about a lure, not a spammer casting one."""


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
        if BOT_RE.search(norm):
            tags.append("spam:bot")
        if any(p.search(norm) for p in self._patterns):
            tags.append("spam:pattern")
        if len(set(mentions(norm))) > self._max_mentions:
            tags.append("spam:mentions")
        promo, ads, lures = _found(PROMO_WORDS, norm), _found(AD_WORDS, norm), _found(LURE_WORDS, norm)
        has_link = URL_RE.search(norm) is not None
        if CUSTOMER_VOICE_RE.search(URL_RE.sub(" ", norm)):
            return tuple(tags)
        if repeats >= self._repeat_min and (promo + ads or has_link):
            tags.append("spam:repeated")
        if _found(FARMING_WORDS, norm):
            tags.append("spam:farming")
        if has_link and promo + ads + lures:
            tags.append("spam:ad_link")
        if promo >= 2:
            tags.append("spam:promo")
        if not has_link and lures >= 2:
            tags.append("spam:lure")
        # A number to call back is what a customer with a problem leaves ("宽带断了，联系我138…");
        # only next to a lure or an ad does it advertise.
        if PHONE_RE.search(norm) and _found(CONTACT_WORDS, norm) and promo + ads + lures:
            tags.append("spam:contact")
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

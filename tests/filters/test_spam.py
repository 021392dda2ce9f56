"""Spam and ads: strong signals alone, weak ones only together."""

from __future__ import annotations

import re

import pytest

from servicehub.filters.settings import FilterSettings
from servicehub.filters.spam import SpamFilter
from tests.filters.support import earlier, msg


@pytest.fixture
def spam() -> SpamFilter:
    return SpamFilter(FilterSettings.from_mapping({}))


@pytest.mark.parametrize(
    ("text", "tag"),
    [
        ("夏季新款特价 http://item.taobao.com/item.htm?id=5566", "spam:shop_link"),
        ("好物推荐 m.tb.cn/h.5XyZ 速抢", "spam:shop_link"),
        ("复制这条信息￥AbCdEf1234￥，打开手机淘宝即可查看", "spam:shop_link"),
        ("京东自营 https://item.jd.com/100012043978.html", "spam:shop_link"),
        ("加微信 abc12345 了解详情", "spam:wechat"),
        ("加V：abc_888 带你赚", "spam:wechat"),
        ("ＶＸ：ｘｙｚ１２３４５６", "spam:wechat"),
        ("有意者加我qq123456789", "spam:qq"),
        ("扣扣：1234567 私聊", "spam:qq"),
        ("代刷粉丝，千粉10元", "spam:farming"),
        ("专业刷单 信誉保证", "spam:farming"),
        ("互粉互赞，回关必回", "spam:farming"),
        ("招兼职，日结200", "spam:promo"),
        ("限时优惠，点击领取 http://t.cn/A6abc12", "spam:ad_link"),
        ("@a @b @c @d @e @f 快来看", "spam:mentions"),
        ("点击领取流量红包 http://t.cn/AbCd", "spam:ad_link"),
        ("恭喜获得100G流量，立即领取 http://t.cn/R9kPz1", "spam:ad_link"),
        ("免费吃霸王餐，关注公众号回复“吃货”领取", "spam:lure"),
        ("代开各类发票，正规可查", "spam:farming"),
        ("低价出售靓号，有意者私聊", "spam:promo"),
        ("好评返现5元，加V领取：haoping_fan", "spam:wechat"),
        ("代开发票，微信同号18611112222", "spam:wechat"),
        ("二手手机回收，高价上门，Q 2233445566", "spam:qq"),
        ("QQ群1098237465，先到先得", "spam:qq"),
        ("办理各类证件，联系电话13599998888", "spam:contact"),
        ("沙发沙发，求互关", "spam:bot"),
        ("说得好！顺便看看我的主页哦[心]", "spam:bot"),
        ("帮我砍一刀！点击链接 http://t.cn/A6pdd1 助力", "spam:farming"),
    ],
)
def test_strong_or_combined_signals_are_spam(spam: SpamFilter, text: str, tag: str) -> None:
    assert tag in spam.signals(text)
    [outcome] = spam.run([msg(text)], {})
    assert outcome.drop == "spam"
    assert tag in outcome.tags


@pytest.mark.parametrize(
    "text",
    [
        "我的QQ号被盗了，绑定的手机号怎么解绑",
        "我的qq123456789登不上，是不是你们的短信收不到",
        "充值返利什么时候到账？",
        "你们的优惠活动限时吗",
        "我的手机号13800138000，流量被乱扣",
        "联通宽带断了 http://t.cn/A6abc12",
        "@a @b @c 看看这个客服",
        "微信支付扣了两次话费",
        "我在淘宝买的充值卡没到账",
        "收到短信说积分可以兑换现金，链接 http://t.cn/A6x8Kq2 ，这是你们发的吗？",
        "点了你们推送的领取流量红包，领完流量也没到账",
        "商家在餐盒里塞卡片让加微信返现好评，这不是变相刷单吗",
        "会员红包领了却用不了，一直提示不满足条件",
        "送外卖的态度极差，电话13241080757",
        "我的联系电话13912345678，请回电",
        "请继续关注我们的活动",
        "这个活动真有意思",
    ],
)
def test_customers_talking_about_money_and_apps_are_not_spam(spam: SpamFilter, text: str) -> None:
    assert spam.signals(text) == ()


def test_mention_limit_comes_from_settings() -> None:
    text = "@a @b @c 看看这个"
    assert SpamFilter(FilterSettings.from_mapping({"spam_max_mentions": 2})).signals(text) == (
        "spam:mentions",
    )
    assert SpamFilter(FilterSettings.from_mapping({"spam_max_mentions": 3})).signals(text) == ()


def test_repost_hops_do_not_count_as_mentions(spam: SpamFilter) -> None:
    text = "说得对 //@a: //@b: //@c: //@d: //@e: //@f: //@g:原文"
    assert spam.signals(text) == ()


def test_extra_patterns_from_settings() -> None:
    settings = FilterSettings.from_mapping({"spam_patterns": [r"低价\s*出售"]})
    assert settings.spam_patterns == (re.compile(r"低价\s*出售", re.IGNORECASE),)
    assert SpamFilter(settings).signals("低价 出售靓号") == ("spam:pattern",)
    assert SpamFilter(settings).signals("靓号怎么办理") == ()


def test_promotional_text_repeated_in_batch_is_spam(spam: SpamFilter) -> None:
    text = "优惠多多，欢迎咨询"
    once = spam.run([msg(text, pid="a", author="u1")], {})
    assert once[0].drop is None
    batch = [msg(text, pid=p, author=a) for p, a in (("a", "u1"), ("b", "u2"), ("c", "u3"))]
    assert [o.tags for o in spam.run(batch, {})] == [("spam:repeated",)] * 3


def test_repeats_count_the_authors_recent_messages(spam: SpamFilter) -> None:
    text = "优惠多多，欢迎咨询"
    recent = {"u1": [earlier(text, pid="old1", minutes=-5), earlier(text, pid="old2", minutes=-3)]}
    [outcome] = spam.run([msg(text, pid="new")], recent)
    assert outcome.tags == ("spam:repeated",)


def test_plain_complaints_repeated_are_not_spam(spam: SpamFilter) -> None:
    batch = [msg("宽带又断了", pid=str(i), author=f"u{i}") for i in range(5)]
    assert all(o.drop is None for o in spam.run(batch, {}))


@pytest.mark.parametrize(
    "text", ["宽带续约有什么优惠吗？", "定向流量说好免费，结果按通用流量扣费了", "已参加，求中奖"]
)
def test_many_customers_asking_the_same_thing_are_not_spam(spam: SpamFilter, text: str) -> None:
    batch = [msg(text, pid=str(i), author=f"u{i}") for i in range(6)]
    assert all(o.drop is None for o in spam.run(batch, {}))


def test_a_customer_leaving_a_number_to_call_back_is_not_spam() -> None:
    """Found merging the SMS work: "宽带断了，联系我138…" was dropped as a contact ad, so the
    customer whose phone the operator should collect never reached the queue."""
    spam = SpamFilter(FilterSettings())
    assert spam.signals("宽带断了，联系我13812345678") == ()
    assert "spam:contact" in spam.signals("免费领流量，联系13812345678")

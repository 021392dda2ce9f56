"""The keywords of one customer message, for the trends page: jieba words minus stop words.

The hub's shared jieba tokenizer (:mod:`servicehub.filters.segmenter`) cuts the message as
listening keywords see it (@names, links and emoticons blanked out); a keyword is a word of
two or more characters holding a CJK character or a Latin letter that is not on the stop
list below -- greetings, pronouns, particles and the words every service message carries
(客服, 请问, 一直 ...), which would top every chart and say nothing.

Cached per text: during an outage thousands of customers send the same words.
"""

from __future__ import annotations

import re
from functools import lru_cache

from servicehub.filters import segmenter
from servicehub.filters.textnorm import listening_text

MAX_LENGTH = 32  # the column's width; longer tokens are not words people search for

_CONTENT = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]|[a-z]")
# Counts said in words (两次, 三天, 几个, 一整天): how much, not what about.
_COUNTED = re.compile(r"^[一二两三四五六七八九十百千几半每整]+[次个天条遍下回块元分秒年月周号片]?[天次]?$")

_STOP_TEXT = """
    你好 您好 请问 谢谢 感谢 麻烦 客服 小编 亲 哈哈 哈哈哈 呵呵 嗯嗯 好的 好吧 可以 不行 不能 没有 没 有没有
    什么 怎么 怎么办 怎么回事 为什么 为啥 多少 哪里 哪个 这个 那个 这些 那些 这样 那样 这么 那么 还是 或者
    我们 你们 他们 她们 它们 自己 大家 别人 人家 我的 你的 他的 我家 你家 咱们
    一直 已经 还有 还是 就是 不是 只是 但是 可是 因为 所以 如果 虽然 而且 然后 而是 并且 以及 还要
    现在 今天 昨天 明天 刚才 时候 之前 之后 以后 以前 马上 一下 一点 一些 一个 一次 两个 几天 每次 每天
    知道 觉得 希望 需要 应该 可能 能够 看看 看到 告诉 回复 回答 说明 解决 处理 问题 情况 东西 事情 地方
    真的 非常 特别 太 很 都 也 又 再 还 才 就 吧 吗 呢 啊 呀 哦 嘛 啦 了 的 地 得 着 过 和 与 及 或 在 是
    不要 不会 不了 不到 不用 不对 一样 其实 到底 竟然 居然 终于 总是 经常 从来 根本 简直 完全 确实
    微博 转发 评论 私信 用户 客户 您的 请 帮 帮忙 一下子 啥 咋 么 哈 喂
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())


@lru_cache(maxsize=65536)
def terms(text: str) -> frozenset[str]:
    """The distinct keywords of ``text``."""
    prepared = listening_text(text)
    found = set()
    for start, end in segmenter.spans(prepared):
        word = prepared[start:end].strip()
        if (
            2 <= len(word) <= MAX_LENGTH
            and word not in STOP_WORDS
            and _CONTENT.search(word)
            and not _COUNTED.match(word)
        ):
            found.add(word)
    return frozenset(found)

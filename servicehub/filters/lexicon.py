"""Cues of service language that a few hundred labelled rows cannot teach a model alone.

The service model (:mod:`servicehub.filters.service_model`) reads character n-grams, the
binary model's score and the dense cues computed here. The n-grams learn the phrasing of
the labelled rows; these cues carry what generalizes beyond them: that 断网 and 乱扣费 are
grievances however politely put, that 没想到…就解决了 and 不错 are praise through negation,
that 真是太好了 next to 又断网了 (or a ``[微笑]``) is sarcasm, that 请问/怎么/吗 ask and
建议/希望能 suggest. The word lists were written from general knowledge of Chinese service
traffic before the model was fitted; changing them changes the model's inputs, so the
model file records :data:`LEXICON_VERSION` and refuses to load against another one.

Every cue is a count passed through ``log1p``; matching runs on the normalized text
(:func:`~servicehub.filters.textnorm.normalize`: half-width, case-folded).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from servicehub.filters.sentiment_features import FloatArray
from servicehub.filters.textnorm import MENTION_RE, URL_RE, normalize

LEXICON_VERSION = 1


def _words(*words: str) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


ANGER = _words(
    "垃圾", "骗子", "骗人", "坑人", "坑爹", "坑死", "气死", "气炸", "恶心", "滚", "狗屁", "有病", "受够",
    "烦死", "烦屎", "无语", "服了", "抢钱", "吞了", "尼玛", "什么破", "破玩意", "玩意儿", "太差", "差劲",
    "欺负", "欺诈", "忍无可忍", "崩溃", "还让不让人", "想不想干", "踢皮球", "走过场", "摆设", "废话",
    "一问三不知", "手抖", "骗", "坑",
)  # fmt: skip
PROBLEM = _words(
    "断网", "断了", "掉线", "断线", "没信号", "无信号", "无服务", "信号差", "信号不好", "卡顿", "卡成",
    "转圈", "打不开", "打不通", "接不通", "占线", "闪退", "登不上", "失败", "故障", "坏了", "不走字",
    "乱扣", "多扣", "扣了", "扣我", "被扣", "多收", "乱收", "收了", "没到账", "未到账", "没收到", "没给",
    "送错", "发错", "漏送", "少送", "少了", "洒了", "漏了", "凉了", "坨了", "碎了", "破损", "压坏",
    "掉色", "开胶", "裂", "划痕", "假货", "仿的", "发霉", "虫子", "头发", "异味", "臭", "过期",
    "冻结", "盗刷", "吞卡", "逾期", "限速", "停机", "停水", "停电", "停暖", "不热", "没来", "不来",
    "没人管", "没人理", "没人联系", "没动静", "不处理", "没解决", "不解决", "拒绝", "被拒", "拒了",
    "超时", "晚点", "拖", "迟迟", "不耐烦", "态度差", "态度不好", "甩脸色", "吼", "推销", "骚扰", "泄露",
    "投诉", "不合理", "违约金", "莫名", "莫明", "凭空", "偷吃", "取消订单", "砍单", "限制", "降了", "噪音",
)  # fmt: skip
DISLIKE = _words(
    "差", "慢", "贵", "难用", "难等", "失望", "不满", "糟糕", "烂", "烦", "累", "着急", "郁闷", "头疼",
    "离谱", "麻烦死", "繁琐", "复杂", "危险", "吵", "挤", "冷", "不行", "不好", "不对", "不准",
    "反人类", "照骗", "噱头", "懵", "受不了", "无力吐槽", "心好累", "冻成狗", "饿死",
)  # fmt: skip
BLAME_QUESTION = _words(
    "为什么", "凭什么", "为啥", "怎么又", "咋又", "到底", "什么原因", "怎么回事", "什么情况", "谁同意",
    "什么操作", "是不是", "有没有人管", "还要等", "等到什么时候",
)  # fmt: skip
AGAIN = _words("又", "再次", "还是", "双叒叕", "一而再", "老是", "总是", "三天两头", "每次", "永远", "天天")
WAITING = (
    r"(?:[0-9]+|[一二两三四五六七八九十半几好]+)\s*(?:个)?(?:天|周|星期|礼拜|月|小时|分钟|次|遍|趟)了?"
    r"|第[0-9一二三四五六七八九十]+次|一直|还没|至今|到现在|迟迟|一整天|一上午|一下午"
)
POSITIVE = _words(
    "好评", "点赞", "满意", "棒", "赞", "给力", "专业", "耐心", "贴心", "及时", "好吃", "不错", "推荐",
    "开心", "感动", "靠谱", "方便", "暖心", "喜欢", "优秀", "高效", "效率高", "好用", "周到", "细心",
    "yyds", "nice", "表扬", "支持", "真香", "神速", "飞起", "杠杠", "良心", "实惠", "划算", "超快",
    "很快", "真快", "好人", "爱上", "回购", "放心", "惊喜", "完美", "好次", "漂亮", "礼貌", "稳",
    "超出预期", "五星", "省了", "爽快", "负责", "改观", "暖心", "这么快",
)  # fmt: skip
THANKS = _words("谢谢", "感谢", "多谢", "辛苦了", "辛苦", "感恩", "thx", "thanks", "谢啦")
NEGATED_POSITIVE = (
    r"(?:不|没|没有|别|毫无|一点也不|一点都不|并不|不太|不够)(?:太|很|够|怎么)?"
    r"(?:好用|满意|专业|及时|方便|靠谱|好|快|热情|清楚|合理|用心)"
)
NEGATED_NEGATIVE = (
    r"(?:不|没|没有|一点都不|一点也不|毫不|并不|不会)(?:太|很|再|怎么)?"
    r"(?:差|慢|卡|贵|麻烦|难|油腻|为难|错|磕碰|色差|漏)|没.{0,3}失望|没问题|没得说"
)
REVERSAL = r"没想到|没有想到|想不到|居然|竟然|本来|原本|原以为|还以为|本以为|不抱希望|不得不说|说实话"
RESOLVED = _words(
    "解决了", "解决", "修好", "办好", "办完", "搞定", "到账了", "退回", "退了", "恢复", "到了", "送到",
    "就好了", "好了", "改好", "找回", "追回", "处理好", "办下来", "审批了", "批了", "解冻",
)  # fmt: skip
SARCASM_OPENER = _words(
    "真是太好了", "太好了", "真棒", "好棒", "厉害", "佩服", "666", "呵呵", "真行", "真快", "真准时",
    "真高", "一流", "太贴心", "贴心的", "感谢", "谢谢", "不愧是", "可真", "真是", "好家伙", "哇",
    "越更新越", "创纪录", "堪比", "惊喜满满", "高效", "真“", "好用呢",
)  # fmt: skip
SCARE_QUOTE = r"[“\"「『][^”\"」』]{1,8}[”\"」』]"
QUESTION = _words(
    "?", "吗", "么", "请问", "怎么", "如何", "多少", "哪里", "哪", "几", "什么时候", "能不能",
    "可不可以", "可以吗", "是否", "有没有", "咨询", "想问", "求问", "请教", "问下", "问一下", "问问",
    "咋", "啥", "呀", "鸭",
)  # fmt: skip
REQUEST = _words(
    "麻烦", "请帮", "帮我", "帮忙", "请给", "请把", "我想", "我要", "想办", "办理", "开通", "取消",
    "改成", "退订", "预约", "安排", "注销", "重置", "补发", "催一下", "查一下", "查查", "看看",
)  # fmt: skip
SUGGESTION = _words(
    "建议", "希望能", "希望可以", "希望你们", "希望外卖", "希望app", "能不能增加", "能不能出",
    "能不能把", "能不能在", "要是能", "如果能", "就更好了", "就完美了", "最好能", "应该增加", "增加",
    "改进", "优化", "延长", "多开",
)  # fmt: skip
CHATTER = _words(
    "转发", "抽奖", "打卡", "路过", "哈哈哈", "小编", "热搜", "生日快乐", "周末愉快", "拼单", "同款",
    "求链接", "一起", "天气", "科普", "举个手", "中奖", "文案", "直播",
)  # fmt: skip
GREETING = _words("你好", "您好", "哈喽", "hello", "hi", "嗨", "在吗", "亲")
MONEY = _words("扣", "收费", "费用", "退钱", "退款", "赔", "钱", "话费", "月租", "年费", "手续费")
FURY = _words(
    "垃圾", "骗子", "骗人", "坑人", "坑爹", "坑死", "气死", "气炸", "恶心", "滚", "狗屁", "有病", "受够",
    "烦死", "烦屎", "抢钱", "尼玛", "什么破", "破玩意", "忍无可忍", "还让不让人", "想不想干", "欺负",
    "欺诈", "吞了", "无语死", "什么玩意", "退钱",
)  # fmt: skip
"""Rage and abuse, narrower than :data:`ANGER`: read by :func:`intensity` only, not a model input."""
ANGRY_EMO = "[怒]|[抓狂]|[怒骂]|[鄙视]|[哼]|[吐]|[衰]|[晕]|[生病]|[汗]|[委屈]|[拜拜]|[黑线]"
HAPPY_EMO = "[赞]|[哈哈]|[心]|[爱你]|[鼓掌]|[good]|[给力]|[威武]|[太开心]|[嘻嘻]|[耶]|[笑哈哈]|[偷笑]|[亲亲]"
SARCASTIC_EMO = "[微笑]|[笑cry]|[允悲]|[摊手]|[二哈]"
SAD_EMO = "[泪]|[悲伤]|[失望]|[可怜]"
QUESTION_EMO = "[疑问]|[思考]|[doge]"
ANGRY_EMOJI = "😡🤬😤💢👎😠😩😑🙄😒😞😫😣"
HAPPY_EMOJI = "👍😊😄😀😁❤💐🙏👏🎉⭐😋🥰😍💯🌹🎂"
SAD_EMOJI = "😭😢😥😔"
QUESTION_EMOJI = "🤔🙋❓"


def _emoticons(codes: str, emoji: str) -> str:
    parts = [re.escape(c) for c in codes.split("|") if c] + [re.escape(e) for e in emoji]
    return "|".join(parts)


_CUES: dict[str, str] = {
    "anger": ANGER,
    "problem": PROBLEM,
    "dislike": DISLIKE,
    "blame_question": BLAME_QUESTION,
    "again": AGAIN,
    "waiting": WAITING,
    "positive": POSITIVE,
    "thanks": THANKS,
    "negated_positive": NEGATED_POSITIVE,
    "negated_negative": NEGATED_NEGATIVE,
    "reversal": REVERSAL,
    "resolved": RESOLVED,
    "sarcasm_opener": SARCASM_OPENER,
    "scare_quote": SCARE_QUOTE,
    "question": QUESTION,
    "request": REQUEST,
    "suggestion": SUGGESTION,
    "chatter": CHATTER,
    "greeting": GREETING,
    "money": MONEY,
    "exclaim": r"!",
    "punct_run": r"[!?]{2,}|!\?|\?!",
    "angry_emo": _emoticons(ANGRY_EMO, ANGRY_EMOJI),
    "happy_emo": _emoticons(HAPPY_EMO, HAPPY_EMOJI),
    "sarcastic_emo": _emoticons(SARCASTIC_EMO, ""),
    "sad_emo": _emoticons(SAD_EMO, SAD_EMOJI),
    "question_emo": _emoticons(QUESTION_EMO, QUESTION_EMOJI),
    "mention": MENTION_RE.pattern,
    "link": URL_RE.pattern,
}
_COMPILED = [(name, re.compile(pattern)) for name, pattern in _CUES.items()]
_COMBINED = ("sarcasm", "praise_reversal", "negative_question", "polite_problem", "ends_with_question")
FEATURE_NAMES: tuple[str, ...] = (*_CUES, *_COMBINED, "length")
"""The dense features in the order :func:`features` returns them (recorded in the model file)."""

_FURY_RE = re.compile(FURY)
_ENDS_WITH_QUESTION = re.compile(r"(?:\?|吗|么|呢|呀|鸭|不)[\s!~.。…]*$")


def counts(text: str) -> dict[str, int]:
    """Raw cue counts of one text (also what the escalation and urgency rules read)."""
    norm = normalize(text)
    found = {name: len(pattern.findall(norm)) for name, pattern in _COMPILED}
    negative = found["problem"] + found["again"] + found["waiting"] + found["dislike"]
    found["sarcasm"] = int(
        found["sarcasm_opener"] > 0
        and (negative > 0 or found["scare_quote"] > 0 or found["sarcastic_emo"] > 0)
    )
    found["praise_reversal"] = int(found["reversal"] > 0 and (found["resolved"] + found["positive"]) > 0)
    found["negative_question"] = int(found["question"] > 0 and found["blame_question"] + negative > 0)
    found["polite_problem"] = int(found["request"] + found["greeting"] > 0 and found["problem"] > 0)
    found["ends_with_question"] = int(_ENDS_WITH_QUESTION.search(norm) is not None)
    found["length"] = len(norm)
    found["fury"] = len(_FURY_RE.findall(norm))
    return found


def vector(found: dict[str, int]) -> list[float]:
    """The dense feature row of one text's :func:`counts`, in :data:`FEATURE_NAMES` order."""
    return [math.log1p(found[name]) for name in FEATURE_NAMES]


def intensity(found: dict[str, int]) -> int:
    """How heated a text is: rage words, angry emoticons, ``!!``/``?!`` runs, three or more ``!``.

    Plain displeasure (太差, 无语, 服了) is not heat: it already makes a message negative.
    """
    return found["fury"] + found["angry_emo"] + found["punct_run"] + int(found["exclaim"] >= 3)


def features(texts: Sequence[str]) -> FloatArray:
    """One row of ``log1p`` cue counts per text, columns in :data:`FEATURE_NAMES` order."""
    return np.array([vector(counts(t)) for t in texts], dtype=np.float64).reshape(
        len(texts), len(FEATURE_NAMES)
    )

"""Chinese raw material for the traffic generator: customer profiles and message templates.

Modelled on what a telecom operator's customer-service account (中国联通客服 style) hears
all day. Templates use ``{slot}`` fields filled from :data:`SLOTS`; ``ACCOUNT`` marks where
the managed account's @name goes. Injection samples are kept verbatim on purpose.
"""

from __future__ import annotations

import random
import re

from servicehub.adapters.simulator.models import User

ACCOUNT = "\x00ACCOUNT\x00"  # replaced by the managed account's screen name when applied

SLOTS: dict[str, tuple[str, ...]] = {
    "place": (
        "北京朝阳区",
        "上海浦东",
        "广州天河",
        "深圳南山",
        "成都高新区",
        "杭州西湖区",
        "武汉光谷",
        "重庆渝北",
        "西安雁塔",
        "南京鼓楼",
        "天津滨海",
        "郑州金水",
        "青岛崂山",
    ),
    "plan": (
        "冰激凌套餐",
        "5G畅爽套餐",
        "大王卡",
        "129元融合套餐",
        "39元流量王",
        "腾讯王卡",
        "5G尊享套餐",
        "199元畅越冰激凌",
    ),
    "service": ("视频彩铃", "来电显示", "10元流量包", "音乐会员", "游戏加速包", "阅读会员", "安全管家"),
    "amount": ("5", "10", "15", "19.9", "30", "48", "66", "120", "300"),
    "gb": ("2", "3", "5", "8", "12", "20"),
    "hour": ("8", "9", "10", "11", "12"),
    "days": ("2", "3", "5", "7", "10"),
    "n": ("2", "3", "4", "5", "6"),
    "minutes": ("20", "30", "45", "60"),
    "line": ("2", "4", "6", "10", "13"),
    "speed": ("600", "800", "950", "1200"),
    "country": ("日本", "泰国", "新加坡", "法国", "美国"),
    "hotline": ("10010", "10086", "客服热线"),
    "worker": ("王师傅", "李师傅", "张师傅", "小刘"),
    "wx": ("abc8866", "liuliang520", "vx_998877", "ka12345"),
    "qq": ("873214556", "662019384", "1098237465"),
    "shop": ("12345678", "3388990", "77889900"),
    "code": ("A8kdPq2", "Rz91LmX", "Eq9i62b"),
    "friend": ("小明同学", "隔壁老王", "吃瓜少女", "路人甲"),
}

# Phones of the demo CRM's customers (servicehub/demo_contact.py holds their records): some
# customers give one in a private message, so an operator can confirm it, link the CRM
# record and reach them by SMS or e-mail.
CRM_PHONES: tuple[str, ...] = (
    "13812345678",
    "13987654321",
    "18611112222",
    "13600001111",
    "15500002222",
    "17600003333",
)
SLOTS["crm_phone"] = CRM_PHONES

COMPLAINTS: tuple[str, ...] = (
    "{place}信号差到爆，晚上{hour}点以后基本一格都没有，打电话断断续续的，什么时候能解决？",
    "在{place}一直显示无服务，交着5G套餐的钱用的是2G的速度[怒]",
    "地铁{line}号线里完全没信号，刷个微博都转圈圈",
    "这个月流量莫名其妙多扣了{amount}元，我明明开了{plan}，查了详单也看不明白",
    "半夜没用手机也跑了{gb}G流量？？？谁来解释一下",
    "定向流量说好免费，结果按通用流量扣费了[抓狂]",
    "家里宽带已经断了{days}天了，报修打了{n}次电话，师傅一直说在路上[怒]",
    "宽带每天晚上{hour}点准时掉线，打游戏根本没法玩",
    "光猫一直红灯闪，装维说要等{days}个工作日？",
    "账单里多了一项{service}，{amount}元，我从来没订过！请给个说法",
    "话费余额突然变成负{amount}，停机了都不通知一声",
    "想把{plan}降档，营业厅说必须本人到场，线上为什么不能办？",
    "改套餐改了{n}次都失败，客服说系统问题",
    "合约期还没到不让改套餐，当初办理时根本没人说过",
    "申请携号转网一直提示不符合条件，到底卡在哪一步了？",
    "要携号转网，一直拖着不给授权码，这是故意刁难吧",
    "打{hotline}排队排了{minutes}分钟，转人工永远占线",
    "营业厅态度太差了，问个问题爱答不理的",
)

QUESTIONS: tuple[str, ...] = (
    "请问{plan}怎么办理？线上能办吗？",
    "副卡怎么开通，一个主卡最多能办几张？",
    "去{country}旅游要开国际漫游吗？日租包多少钱？",
    "积分怎么兑换话费？",
    "5G套餐能用在4G手机上吗？",
    "宽带续约有什么优惠吗？",
    "携号转网需要准备什么材料？",
    "怎么查本月已经用了多少流量？",
    "家里老人用，有没有便宜点的套餐推荐？",
    "{plan}现在还能办吗",
    "电子发票在哪里下载？报销要用",
    "停机保号怎么办理，一个月多少钱？",
    "流量包叠加的话月底会清零吗",
    "想给孩子办张副卡，需要带什么证件",
    "请问{place}附近哪个营业厅周末开门？",
    "宽带报装一般几天能上门？",
    "国际长途怎么拨，要加什么前缀吗",
    "合约到期以后套餐会自动变吗？",
    "话费充值了没到账，大概要多久到",
    "实名认证信息怎么修改？",
    "老号码能换成{plan}吗，号码不变",
    "光猫坏了可以免费换吗",
    "请问怎么开通来电显示？",
    "手机丢了怎么先挂失，补卡要去哪里",
    "这个月账单能发到我邮箱吗",
    "家里装的宽带可以移机到新小区吗",
    "学生有没有校园卡优惠？",
    "积分快过期了能换什么",
    "{plan}每个月包含多少通话分钟？",
    "办了副卡主卡的流量能共享吗",
)

PRAISE: tuple[str, ...] = (
    "{place}营业厅的小姐姐服务超级好，耐心帮我弄了半个小时，点赞👍",
    "装维{worker}冒雨上门修宽带，太感动了[赞]",
    "客服处理得很快，多扣的流量费已经退了，谢谢！",
    "新换的5G网速真快，测速跑到了{speed}M[哈哈]",
    "投诉的问题当天就解决了，效率可以[good]",
)

SPAM: tuple[str, ...] = (
    "加微信{wx}，低价流量卡，月租9元100G全国通用，不限速！",
    "代刷粉丝 代刷转发评论，1元1000粉，需要的私信",
    "QQ群{qq}，免费领50元话费，先到先得",
    "淘宝店 https://shop{shop}.taobao.com 大流量卡包邮到家",
    "兼职刷单日赚300+ 加V：{wx}",
    "点击领取流量红包 http://t.cn/{code}",
)

EMOJI_ONLY: tuple[str, ...] = (
    "[哈哈][哈哈]",
    "😂😂😂",
    "[怒][怒][怒]",
    "[doge]",
    "👍👍",
    "[泪][泪]",
    "[吃瓜]",
    "🙏",
    "[摊手][摊手]",
)

AT_ONLY: tuple[str, ...] = (f"@{ACCOUNT}", f"@{ACCOUNT} @{ACCOUNT}", f"@{ACCOUNT} @中国移动 @中国电信")

REPOST_NOISE: tuple[str, ...] = ("转发微博", "转发微博//@{friend}:同问", "转", "mark", "//@{friend}: [doge]")

INJECTIONS: tuple[str, ...] = (
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(document.cookie)>",
    '"><svg onload=alert(1)>',
    "'; DROP TABLE messages; --",
    "{{7*7}}${7*7}",
    '<a href="javascript:alert(1)">点我领话费</a>',
)

OTHER: tuple[str, ...] = (
    "My phone has had no signal since yesterday, please help",
    "請問香港漫遊怎麼開通？",
    "信号咋个又莫得了嘛，搞快点修嘛",
    "我的号码是{phone}，帮我查下为什么扣费",
)

COMMENTS_ON_POST: tuple[str, ...] = (
    "你们先把信号搞好再发活动吧",
    "活动怎么参加？",
    "已参加，求中奖[哈哈]",
    "流量包在哪里领",
    "上次投诉的到现在还没处理",
    "@{friend} 快来看",
    "我怎么领不到？一直提示系统繁忙",
)

FOLLOW_UPS: tuple[str, ...] = (
    "还是不行啊",
    "已经私信了，请尽快处理",
    "好的谢谢",
    "都三天了还没人联系我",
    "处理好了，感谢[赞]",
)

MESSAGES: tuple[str, ...] = (
    "你好，我的号码{phone}，这个月扣了{amount}元增值业务费，请帮我查一下",
    "宽带断网{days}天了，账号是{phone}，麻烦尽快派人来修",
    "在吗",
    "人工客服",
    "？",
    "[微笑]",
    "我要投诉！！！",
    "我想办理携号转网，号码{phone}，请问现在可以吗",
    "{plan}怎么取消？",
    "我的手机号是{crm_phone}，家里宽带又断了，麻烦尽快安排师傅上门",
    "你好，我号码{crm_phone}，这个月话费多扣了{amount}元，请核实一下",
    "我是老用户了，手机{crm_phone}，想升级5G套餐，有什么优惠？",
)

ACCOUNT_POSTS: tuple[str, ...] = (
    "【流量福利】即日起登录APP领取{gb}G流量包，详情见 https://www.10010.com/act",
    "【温馨提示】本周六凌晨2:00-6:00系统升级，期间部分业务暂停办理，敬请谅解。",
    "【5G升级】老用户升级5G套餐享{n}个月半价，了解更多 https://www.10010.com/5g",
    "【防骗提醒】客服不会索要验证码，请勿向任何人透露短信验证码！",
)

_UNICOM_PREFIXES = ("130", "131", "132", "155", "156", "166", "175", "176", "185", "186")
_SLOT_RE = re.compile(r"\{(\w+)\}")


def phone_number(rng: random.Random) -> str:
    return rng.choice(_UNICOM_PREFIXES) + "".join(str(rng.randrange(10)) for _ in range(8))


def fill(template: str, rng: random.Random) -> str:
    """Fill known ``{slot}`` fields; anything else in braces (``{{7*7}}``) is left alone."""

    def pick(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "phone":
            return phone_number(rng)
        choices = SLOTS.get(name)
        return rng.choice(choices) if choices else match.group(0)

    return _SLOT_RE.sub(pick, template)


_ADJECTIVES = (
    "爱吃火锅的",
    "不想上班的",
    "深夜加班的",
    "快乐的",
    "佛系",
    "暴躁",
    "无敌",
    "可爱的",
    "吃瓜",
    "摸鱼",
)
_NOUNS = (
    "小胖",
    "猫",
    "打工人",
    "程序员",
    "小王",
    "阿强",
    "少女",
    "大叔",
    "路人甲",
    "兔子",
    "老李",
    "学生党",
)
_LATIN = ("Cathy_张", "Leo-1990", "momo酱", "Kevin_Liu", "Sunny晴天", "Tony老师")
_VIP_NAMES = ("数码君老张", "科技评测师", "通信观察", "手机控阿飞", "数码小白兔", "科技大V老王")
_VIP_REASONS = ("知名数码博主", "科技自媒体", "通信行业评论员", "微博签约自媒体")
_LOCATIONS = (
    ("11", "5", "北京 朝阳区"),
    ("31", "15", "上海 浦东新区"),
    ("44", "1", "广东 广州"),
    ("44", "3", "广东 深圳"),
    ("51", "1", "四川 成都"),
    ("33", "1", "浙江 杭州"),
    ("42", "1", "湖北 武汉"),
    ("50", "12", "重庆 渝北区"),
    ("61", "1", "陕西 西安"),
    ("32", "1", "江苏 南京"),
    ("12", "16", "天津 滨海新区"),
    ("41", "1", "河南 郑州"),
)
_BIOS = ("", "", "生活不止眼前的苟且", "一个普通的打工人", "热爱数码和旅行", "这个人很懒，什么都没写")


def build_customers(seed: int, count: int, now: float) -> list[User]:
    """The recurring customer pool: deterministic for a seed; ~1 in 15 is a VIP-ish big V."""
    rng = random.Random(f"customers:{seed}")
    users: list[User] = []
    names: set[str] = set()
    uids: set[int] = set()
    for index in range(count):
        vip = index % 15 == 7
        while True:
            if vip:
                name = rng.choice(_VIP_NAMES)
            elif rng.random() < 0.15:
                name = rng.choice(_LATIN)
            else:
                name = rng.choice(_ADJECTIVES) + rng.choice(_NOUNS)
            if name in names or rng.random() < 0.4:
                name = f"{name}{rng.randrange(10, 9999)}"
            if name not in names:
                break
        uid = rng.randrange(1_000_000_000, 7_999_999_999)
        while uid in uids:
            uid += 1
        names.add(name)
        uids.add(uid)
        province, city, location = rng.choice(_LOCATIONS)
        followers = rng.randrange(50_000, 3_000_000) if vip else int(10 ** rng.uniform(0.5, 3.5))
        users.append(
            User(
                uid=uid,
                screen_name=name,
                created_at=now - rng.randrange(200, 4000) * 86400,
                gender=rng.choice("mfmfn"),
                province=province,
                city=city,
                location=location,
                description=rng.choice(_BIOS),
                followers_base=followers,
                friends_base=rng.randrange(20, 1500),
                statuses_base=rng.randrange(10, 20000),
                verified=vip,
                verified_type=0 if vip else -1,
                verified_reason=rng.choice(_VIP_REASONS) if vip else "",
                mbtype=12 if vip else rng.choice((0, 0, 0, 2)),
                mbrank=rng.randrange(3, 7) if vip else rng.choice((0, 0, 1, 2)),
                urank=rng.randrange(20, 48) if vip else rng.randrange(1, 30),
                is_customer=True,
            )
        )
    return users


_DEVICES = (
    "iPhone客户端",
    "Android",
    "微博 weibo.com",
    "HUAWEI Mate 60 Pro",
    "iPhone 15 Pro Max",
    "小米14 Ultra",
    "OPPO Find X7",
    "vivo X100",
    "荣耀Magic6",
)
OFFICIAL_NAMES = ("中国联通客服", "中国联通", "联通沃派", "北京联通", "广东联通", "上海联通")


def source_html(name: str, code: str) -> str:
    return f'<a href="http://app.weibo.com/t/feed/{code}" rel="nofollow">{name}</a>'


def device_source(uid: int) -> str:
    """A customer always posts from the same phone."""
    return source_html(_DEVICES[uid % len(_DEVICES)], f"{uid % 9973:x}Ua4Xz")

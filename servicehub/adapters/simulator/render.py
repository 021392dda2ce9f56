"""How the simulator's records look on the wire: Weibo's status, user, comment and DM JSON.

Field sets follow the real 2014-2020 responses quoted in the reference (not the wiki's
trimmed samples), so the adapter meets the noise it will meet in production: ``idstr``
next to ``id``, numbers-as-strings for province/city, empty strings for unused fields.
``viewer`` is the token's owner, which decides ``following`` / ``follow_me``.
"""

from __future__ import annotations

from bisect import bisect_left
from typing import Any

from servicehub.adapters.simulator.clock import weibo_date
from servicehub.adapters.simulator.models import Comment, DirectMessage, Status, User
from servicehub.adapters.simulator.state import SimState
from servicehub.adapters.simulator.textrules import STATUS_LIMIT, weibo_half_units, weibo_length

JSON = dict[str, Any]


def _avatar(uid: int, size: int) -> str:
    return f"https://tvax{uid % 4 + 1}.sinaimg.cn/crop.0.0.180.180.{size}/{uid:x}ly8gz0avatar.jpg"


def user_json(state: SimState, user: User, viewer: int | None, *, with_status: bool = False) -> JSON:
    out: JSON = {
        "id": user.uid,
        "idstr": str(user.uid),
        "class": 1,
        "screen_name": user.screen_name,
        "name": user.screen_name,
        "province": user.province,
        "city": user.city,
        "location": user.location,
        "description": user.description,
        "url": "",
        "profile_image_url": _avatar(user.uid, 50),
        "profile_url": f"u/{user.uid}",
        "domain": "",
        "weihao": "",
        "gender": user.gender,
        "followers_count": state.followers_count(user),
        "friends_count": state.friends_count(user),
        "pagefriends_count": 0,
        "statuses_count": state.statuses_count(user),
        "video_status_count": 0,
        "favourites_count": 0,
        "created_at": weibo_date(user.created_at),
        "following": viewer is not None and state.follows(viewer, user.uid),
        "allow_all_act_msg": user.verified,
        "geo_enabled": True,
        "verified": user.verified,
        "verified_type": user.verified_type,
        "remark": "",
        "ptype": 0,
        "allow_all_comment": True,
        "avatar_large": _avatar(user.uid, 180),
        "avatar_hd": _avatar(user.uid, 1024),
        "verified_reason": user.verified_reason,
        "verified_trade": "",
        "verified_reason_url": "",
        "verified_source": "",
        "verified_source_url": "",
        "follow_me": viewer is not None and state.follows(user.uid, viewer),
        "like": False,
        "like_me": False,
        "online_status": 0,
        "bi_followers_count": 0,
        "lang": "zh-cn",
        "star": 0,
        "mbtype": user.mbtype,
        "mbrank": user.mbrank,
        "block_word": 0,
        "block_app": 0,
        "credit_score": 80,
        "user_ability": 0,
        "urank": user.urank,
    }
    if with_status:
        latest = state.latest_status(user.uid)
        if latest is not None:
            out["status"] = status_json(state, latest, viewer, with_user=False)
    return out


PIC_BASE = "http://ww1.sinaimg.cn"


def status_json(state: SimState, status: Status, viewer: int | None, *, with_user: bool = True) -> JSON:
    out: JSON = {
        "visible": {"type": 0, "list_id": 0},
        "created_at": weibo_date(status.created_at),
        "id": status.id,
        "idstr": str(status.id),
        "mid": str(status.id),
        "can_edit": False,
        "show_additional_indication": 0,
        "text": status.text,
        "textLength": weibo_half_units(status.text),
        "source_allowclick": 0,
        "source_type": 1,
        "source": status.source,
        "favorited": False,
        "truncated": False,
        "in_reply_to_status_id": "",
        "in_reply_to_user_id": "",
        "in_reply_to_screen_name": "",
        "pic_urls": [{"thumbnail_pic": f"{PIC_BASE}/thumbnail/{p}.jpg"} for p in status.pic_ids],
        "geo": None,
        "is_paid": False,
        "mblog_vip_type": 0,
    }
    if status.pic_ids:  # the first picture's sizes, as Weibo gives them ("absent when none")
        first = status.pic_ids[0]
        out["pic_ids"] = list(status.pic_ids)
        for size, key in (
            ("thumbnail", "thumbnail_pic"),
            ("bmiddle", "bmiddle_pic"),
            ("large", "original_pic"),
        ):
            out[key] = f"{PIC_BASE}/{size}/{first}.jpg"
    if with_user:
        out["user"] = user_json(state, state.users[status.uid], viewer)
    if status.root_id is not None:
        root = state.statuses.get(status.root_id)
        if root is not None:
            out["retweeted_status"] = status_json(state, root, viewer)
    out.update(
        {
            "annotations": [],
            "reposts_count": status.reposts_count,
            "comments_count": status.comments_count,
            "attitudes_count": status.attitudes_count,
            "pending_approval_count": 0,
            "isLongText": weibo_length(status.text) > STATUS_LIMIT,
            "reward_exhibition_type": 0,
            "hide_flag": 0,
            "mlevel": 0,
            "biz_feature": 0,
            "hasActionTypeCard": 0,
            "darwin_tags": [],
            "hot_weibo_tags": [],
            "text_tag_tips": [],
            "mblogtype": 0,
            "userType": 0,
            "more_info_type": 0,
            "positive_recom_flag": 0,
            "content_auth": 0,
            "gif_ids": "",
            "is_show_bulletin": 2,
            "comment_manage_info": {"comment_permission_type": -1, "approval_comment_type": 0},
            "pic_num": 0,
        }
    )
    return out


def comment_json(state: SimState, comment: Comment, viewer: int | None, *, nested: bool = True) -> JSON:
    """A comment; ``nested`` adds the commented status and the comment it replies to."""
    out: JSON = {
        "created_at": weibo_date(comment.created_at),
        "id": comment.id,
        "rootid": comment.id if comment.reply_to is None else _root_comment(state, comment),
        "floor_number": bisect_left(state.comments_on[comment.status_id], comment.id) + 1,
        "text": comment.text,
        "disable_reply": 0,
        "source_allowclick": 0,
        "source_type": 1,
        "source": comment.source,
        "user": user_json(state, state.users[comment.uid], viewer),
        "mid": str(comment.id),
        "idstr": str(comment.id),
    }
    if nested:
        out["status"] = status_json(state, state.statuses[comment.status_id], viewer)
        if comment.reply_to is not None and comment.reply_to in state.comments:
            out["reply_comment"] = comment_json(state, state.comments[comment.reply_to], viewer, nested=False)
    return out


def _root_comment(state: SimState, comment: Comment) -> int:
    current = comment
    while current.reply_to is not None and current.reply_to in state.comments:
        current = state.comments[current.reply_to]
    return current.id


def message_json(state: SimState, message: DirectMessage) -> JSON:
    sender = state.users[message.sender]
    recipient = state.users[message.recipient]
    return {
        "id": message.id,
        "idstr": str(message.id),
        "created_at": weibo_date(message.created_at),
        "text": message.text,
        "sys_type": 0,
        "msg_status": 0,
        "sender_id": sender.uid,
        "recipient_id": recipient.uid,
        "sender_screen_name": sender.screen_name,
        "recipient_screen_name": recipient.screen_name,
        "mid": str(message.id),
        "isLargeDm": False,
        "source": '<a href="http://weibo.com" rel="nofollow">新浪微博</a>',
        "status_id": 0,
        "geo": None,
        "msg_type": 1,
        "sender": user_json(state, sender, message.recipient),
        "recipient": user_json(state, recipient, message.sender),
    }


def push_body(
    msg_type: str, receiver: int, sender: int, created_at: float, text: str, data: dict[str, Any]
) -> JSON:
    """The fans-service push body (text message, follow event, ...)."""
    return {
        "type": msg_type,
        "receiver_id": receiver,
        "sender_id": sender,
        "created_at": weibo_date(created_at),
        "text": text,
        "data": dict(data),
    }


def push_json(message: DirectMessage) -> JSON:
    return push_body(
        message.msg_type, message.recipient, message.sender, message.created_at, message.text, message.data
    )

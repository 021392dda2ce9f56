"""Workbench strings: Simplified Chinese first, English available (``?lang=en`` or the user's locale)."""

from __future__ import annotations

from collections.abc import Callable

LOCALES = ("zh-CN", "en")

MESSAGES: dict[str, dict[str, str]] = {
    "app.title": {"zh-CN": "社交客服工作台", "en": "Social Service Hub"},
    "nav.queue": {"zh-CN": "服务请求", "en": "Requests"},
    "nav.accounts": {"zh-CN": "账号管理", "en": "Accounts"},
    "nav.audit": {"zh-CN": "审计日志", "en": "Audit log"},
    "nav.logout": {"zh-CN": "退出", "en": "Log out"},
    "login.title": {"zh-CN": "登录", "en": "Log in"},
    "login.username": {"zh-CN": "用户名", "en": "Username"},
    "login.password": {"zh-CN": "密码", "en": "Password"},
    "login.submit": {"zh-CN": "登录", "en": "Log in"},
    "login.failed": {"zh-CN": "用户名或密码错误", "en": "Wrong username or password"},
    "queue.mine": {"zh-CN": "我的", "en": "Mine"},
    "queue.open": {"zh-CN": "未结", "en": "Open"},
    "queue.all": {"zh-CN": "全部", "en": "All"},
    "queue.empty": {"zh-CN": "暂无服务请求", "en": "No requests"},
    "queue.total": {"zh-CN": "共 {n} 条", "en": "{n} in total"},
    "queue.next": {"zh-CN": "下一页", "en": "Next page"},
    "col.id": {"zh-CN": "编号", "en": "#"},
    "col.subject": {"zh-CN": "内容", "en": "Subject"},
    "col.customer": {"zh-CN": "客户", "en": "Customer"},
    "col.account": {"zh-CN": "账号", "en": "Account"},
    "col.state": {"zh-CN": "状态", "en": "State"},
    "col.priority": {"zh-CN": "优先级", "en": "Priority"},
    "col.assignee": {"zh-CN": "处理人", "en": "Assignee"},
    "col.sentiment": {"zh-CN": "情感", "en": "Sentiment"},
    "col.due": {"zh-CN": "截止", "en": "Due"},
    "col.health": {"zh-CN": "状态", "en": "Health"},
    "col.platform": {"zh-CN": "平台", "en": "Platform"},
    "request.messages": {"zh-CN": "会话记录", "en": "Conversation"},
    "request.reply": {"zh-CN": "回复", "en": "Reply"},
    "request.reply_placeholder": {"zh-CN": "输入回复内容（微博评论不超过140字）", "en": "Your reply (Weibo: 140 characters)"},
    "request.send": {"zh-CN": "发送", "en": "Send"},
    "request.outbox": {"zh-CN": "已发送 / 待发送", "en": "Sent and queued"},
    "request.resolve": {"zh-CN": "标记已解决", "en": "Mark resolved"},
    "request.assignments": {"zh-CN": "分配记录", "en": "Assignment history"},
    "request.queued": {"zh-CN": "回复已加入发送队列", "en": "Reply queued"},
    "request.dropped": {"zh-CN": "已过滤", "en": "Filtered"},
    "state.new": {"zh-CN": "新建", "en": "New"},
    "state.assigned": {"zh-CN": "已分配", "en": "Assigned"},
    "state.in_progress": {"zh-CN": "处理中", "en": "In progress"},
    "state.transferred": {"zh-CN": "已转派", "en": "Transferred"},
    "state.waiting_customer": {"zh-CN": "等待客户", "en": "Waiting for customer"},
    "state.resolved": {"zh-CN": "已解决", "en": "Resolved"},
    "state.closed": {"zh-CN": "已关闭", "en": "Closed"},
    "delivery.queued": {"zh-CN": "排队中", "en": "Queued"},
    "delivery.sending": {"zh-CN": "发送中", "en": "Sending"},
    "delivery.sent": {"zh-CN": "已发送", "en": "Sent"},
    "delivery.failed": {"zh-CN": "发送失败", "en": "Failed"},
    "delivery.retry": {"zh-CN": "等待重试", "en": "Will retry"},
    "priority.0": {"zh-CN": "低", "en": "Low"},
    "priority.1": {"zh-CN": "普通", "en": "Normal"},
    "priority.2": {"zh-CN": "高", "en": "High"},
    "priority.3": {"zh-CN": "紧急", "en": "Urgent"},
    "sentiment.negative": {"zh-CN": "负面", "en": "Negative"},
    "sentiment.neutral": {"zh-CN": "中性", "en": "Neutral"},
    "sentiment.positive": {"zh-CN": "正面", "en": "Positive"},
    "health.ok": {"zh-CN": "正常", "en": "OK"},
    "health.needs_reauth": {"zh-CN": "需要重新授权", "en": "Needs re-authorization"},
    "health.rate_limited": {"zh-CN": "限流中", "en": "Rate limited"},
    "error.not_found": {"zh-CN": "未找到该页面或记录", "en": "Not found"},
    "error.forbidden": {"zh-CN": "没有权限执行该操作", "en": "You are not allowed to do that"},
    "error.csrf": {"zh-CN": "表单已过期，请刷新后重试", "en": "The form expired; reload and try again"},
    "lang.switch": {"zh-CN": "English", "en": "中文"},
    "unassigned": {"zh-CN": "未分配", "en": "Unassigned"},
}


def pick_locale(requested: str | None, preferred: str | None) -> str:
    for candidate in (requested, preferred):
        if candidate in LOCALES:
            return candidate  # type: ignore[return-value]
    return LOCALES[0]


def translator(locale: str) -> Callable[..., str]:
    def t(key: str, **values: object) -> str:
        entry = MESSAGES.get(key)
        text = key if entry is None else entry.get(locale) or entry["zh-CN"]
        return text.format(**values) if values else text

    return t

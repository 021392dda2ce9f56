"""What a publication asks for, and every reason a target would refuse it, before anything
is queued.

A :class:`Draft` is the compose form parsed: one text, a category, optional picture and
time, and per account what to do there (:class:`TargetSpec`). :func:`check_draft` finds,
per target, what the platform would refuse -- a post on a platform with no timeline, a
Weibo post without a link on the app's safe domain or with a ``#话题#``, a text over the
limit of a post, a private message or a mass send -- so the person sees why for each
account at once, not as failures after the fact. The platform's own rules come from its
adapter (``adapters.registry``); nothing here names a platform.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicehub.accounts.adapters import connected
from servicehub.accounts.config import platform_config
from servicehub.adapters import registry
from servicehub.adapters.base import DirectMessenger, MassSender, Publisher, mass_sender
from servicehub.adapters.errors import PlatformError
from servicehub.core.errors import ActionError
from servicehub.core.models import Account, Category, ContactList
from servicehub.core.permissions import NotVisible, Principal, restrict
from servicehub.core.runtime import Runtime
from servicehub.publishing import images

TEXT_MAX = 5000  # far above any platform's limit: a paste gone wrong, refused early
IMAGE_MAX_BYTES = 5 * 1024 * 1024  # Weibo's limit for a post's picture


@dataclass(frozen=True)
class TargetSpec:
    """One account of a publication: post there, message these contact lists, these tags."""

    account_id: int
    as_post: bool = False
    list_ids: tuple[int, ...] = ()
    tag_ids: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.as_post or self.list_ids or self.tag_ids)


@dataclass(frozen=True)
class Draft:
    text: str
    category: Category
    targets: tuple[TargetSpec, ...]
    scheduled_at: datetime | None = None
    image: str | None = None


@dataclass(frozen=True)
class TargetProblem:
    """Why one account cannot take the draft: ``publish.problem.<code>`` with ``params``."""

    account_id: int
    account_name: str
    code: str
    params: dict[str, str] = field(default_factory=dict)


def parse_category(value: str) -> Category:
    try:
        return Category(value)
    except ValueError:
        raise ActionError("bad_category", f"unknown category {value!r}") from None


def check_draft(
    session: Session, runtime: Runtime, who: Principal, draft: Draft, *, now: datetime
) -> list[TargetProblem]:
    """The draft's problems per target (empty: it may be queued).

    Raises :class:`ActionError` for what concerns the whole draft (no text, no target, a time
    in the past) and :class:`NotVisible` for an account or contact list outside ``who``'s
    ``publish`` scope -- exactly as if it did not exist.
    """
    text = draft.text.strip()
    if not text:
        raise ActionError("text_empty", "the text is empty")
    if len(text) > TEXT_MAX:
        raise ActionError(
            "text_too_long", "the text is far too long", limit=TEXT_MAX, length=len(text), unit="char"
        )
    targets = [t for t in draft.targets if not t.empty]
    if not targets:
        raise ActionError("no_target", "choose at least one account, as a post or with recipients")
    if draft.scheduled_at is not None and draft.scheduled_at <= now:
        raise ActionError("schedule_past", "the scheduled time has passed")
    if draft.image is not None:
        images.path_of(runtime, draft.image)  # a picture this hub stored, still there
    accounts = _accounts(session, who, [t.account_id for t in targets])
    _check_lists(session, who, {i for t in targets for i in t.list_ids})
    problems: list[TargetProblem] = []
    for target in targets:
        problems += _target_problems(runtime, accounts[target.account_id], target, text, draft.image)
    return problems


def _accounts(session: Session, who: Principal, ids: Sequence[int]) -> dict[int, Account]:
    found = {
        a.id: a
        for a in session.scalars(
            restrict(select(Account).where(Account.id.in_(ids)), who, "publish", Account)
        )
    }
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotVisible(f"Account {missing[0]}")
    return found


def _check_lists(session: Session, who: Principal, ids: set[int]) -> None:
    if not ids:
        return
    stmt = restrict(select(ContactList.id).where(ContactList.id.in_(ids)), who, "publish", ContactList)
    missing = ids - set(session.scalars(stmt))
    if missing:
        raise NotVisible(f"ContactList {min(missing)}")


def _target_problems(
    runtime: Runtime, account: Account, target: TargetSpec, text: str, image: str | None
) -> list[TargetProblem]:
    found: list[TargetProblem] = []

    def problem(code: str, **params: str) -> None:
        found.append(TargetProblem(account.id, account.display_name, code, params))

    platform = account.platform
    if target.as_post:
        if not registry.capable(platform, Publisher):
            problem("cannot_post")
        else:
            for p in registry.post_problems(platform_config(runtime, platform), text):
                problem(p.code, **dict(p.params))
    if target.list_ids:
        if not registry.capable(platform, DirectMessenger):
            problem("cannot_message")
        else:
            _length(problem, platform, "private_message", text)
    if target.tag_ids:
        if not registry.capable(platform, MassSender):
            problem("cannot_mass_send")
        else:
            _length(problem, platform, "mass", text)
    if image is not None and (target.list_ids or target.tag_ids):
        problem("image_post_only")
    return found


def _length(problem: Callable[..., None], platform: str, kind: str, text: str) -> None:
    rule = registry.text_rule(platform, kind)
    if rule is not None and rule.length(text) > rule.limit:
        problem("too_long", limit=str(rule.limit), length=str(rule.length(text)), unit=rule.unit)


def refuse_problems(problems: list[TargetProblem]) -> None:
    """Raise the problems as one :class:`ActionError` (``publish_problems``) if there are any."""
    if problems:
        raise ActionError(
            "publish_problems",
            "; ".join(f"{p.account_name}: {p.code}" for p in problems),
            problems=problems,
        )


def tag_names(session: Session, runtime: Runtime, draft: Draft) -> dict[int, dict[str, str]]:
    """The names of the platform tags the draft mass-sends to, per account, as each platform
    lists them now; a tag it no longer has, or a list it cannot give, is a problem of that
    target (``unknown_tag``, ``tags_unreadable``) and refuses the draft."""
    found: dict[int, dict[str, str]] = {}
    problems: list[TargetProblem] = []
    for target in draft.targets:
        if not target.tag_ids:
            continue
        account = session.get(Account, target.account_id)
        assert account is not None  # check_draft found it in scope
        try:
            with connected(runtime, account) as adapter:
                listed = {t.tag_id: t.name for t in mass_sender(adapter).audience_tags()}
        except PlatformError as exc:
            problems.append(
                TargetProblem(account.id, account.display_name, "tags_unreadable", {"reason": str(exc)[:200]})
            )
            continue
        missing = [t for t in target.tag_ids if t not in listed]
        if missing:
            problems.append(
                TargetProblem(account.id, account.display_name, "unknown_tag", {"tag": missing[0]})
            )
        found[account.id] = {t: listed[t] for t in target.tag_ids if t in listed}
    refuse_problems(problems)
    return found

"""What the compose form may offer one person: their accounts, what each can do, and with what.

The form shows only the accounts in the person's ``publish`` scope and, per account, only
what its platform can do (asked of the adapter class, ``registry.capable``): a post where it
is a :class:`Publisher`, private messages to contact lists where a :class:`DirectMessenger`,
a mass send to the platform's own follower tags where a :class:`MassSender` -- whose tags are
read from the platform now (a failure is shown with its reason, and no tag is offered). Each
target kind carries its text rule so the browser can count as the platform does; the server
checks again on submit (``compose.check_draft``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicehub.accounts.adapters import connected
from servicehub.adapters import registry
from servicehub.adapters.base import AudienceTag, DirectMessenger, MassSender, Publisher, mass_sender
from servicehub.adapters.errors import PlatformError
from servicehub.core.models import Account, ContactList, ErrorKind
from servicehub.core.permissions import Principal, restrict
from servicehub.core.runtime import Runtime
from servicehub.publishing.delivery import kind_of

log = logging.getLogger(__name__)

# target kind on the form -> the text rule it is measured by
RULE_KINDS = {"post": "post", "message": "private_message", "mass": "mass"}


@dataclass(frozen=True)
class Rule:
    """How the browser counts one kind of target on one account (see ``TextRule``)."""

    target: str  # post / message / mass
    limit: int
    unit: str
    counting: str


@dataclass
class AccountChoice:
    id: int
    name: str
    platform: str
    can_post: bool
    can_message: bool
    can_mass: bool
    rules: list[Rule] = field(default_factory=list)
    tags: list[AudienceTag] = field(default_factory=list)
    tags_error: str | None = None  # an ErrorKind: why the platform's tags could not be read


@dataclass
class Choices:
    accounts: list[AccountChoice]
    lists: list[tuple[int, str]]  # the person's contact lists (id, name)


def publish_accounts(session: Session, who: Principal) -> list[Account]:
    """The accounts ``who`` may publish on, by name."""
    stmt = select(Account).order_by(Account.display_name, Account.id)
    return list(session.scalars(restrict(stmt, who, "publish", Account)))


def contact_list_names(session: Session, who: Principal) -> list[tuple[int, str]]:
    stmt = select(ContactList.id, ContactList.name).order_by(ContactList.name, ContactList.id)
    return [(i, n) for i, n in session.execute(restrict(stmt, who, "publish", ContactList))]


def compose_choices(session: Session, runtime: Runtime, who: Principal, *, read_tags: bool = True) -> Choices:
    """Everything the compose form offers ``who``; ``read_tags`` False skips the platform calls
    (a page that only shows what was chosen)."""
    accounts = []
    for account in publish_accounts(session, who):
        platform = account.platform
        choice = AccountChoice(
            id=account.id,
            name=account.display_name,
            platform=platform,
            can_post=registry.capable(platform, Publisher),
            can_message=registry.capable(platform, DirectMessenger),
            can_mass=registry.capable(platform, MassSender),
        )
        able = {"post": choice.can_post, "message": choice.can_message, "mass": choice.can_mass}
        for target, kind in RULE_KINDS.items():
            rule = registry.text_rule(platform, kind) if able[target] else None
            if rule is not None:
                choice.rules.append(Rule(target, rule.limit, rule.unit, rule.counting))
        if choice.can_mass and read_tags:
            choice.tags, choice.tags_error = _tags(runtime, account)
        accounts.append(choice)
    return Choices(accounts, contact_list_names(session, who))


def _tags(runtime: Runtime, account: Account) -> tuple[list[AudienceTag], str | None]:
    if account.credentials is None:
        return [], str(ErrorKind.TOKEN_EXPIRED)
    try:
        with connected(runtime, account) as adapter:
            return list(mass_sender(adapter).audience_tags()), None
    except PlatformError as exc:
        log.info("tags of account %s could not be read: %s", account.id, exc)
        return [], str(kind_of(exc))
    except Exception:  # a broken adapter must not take the compose form down with it
        log.exception("tags of account %s could not be read", account.id)
        return [], str(ErrorKind.INTERNAL)

"""The compose form of 发布中心 as data: read from a POST, from a stored publication, or empty.

One :class:`ComposeState` is what the form shows (so a refused submit comes back with
everything the person typed and chose) and what becomes the action's
:class:`~servicehub.publishing.compose.Draft`. The fields per account are named by its id:
``account`` (ticked accounts), ``post_<id>``, ``lists_<id>`` (contact list ids) and
``tags_<id>`` (the platform's tag ids). Reading for a re-render never fails (a bad value is
left out); reading for the action refuses bad input like every other form.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from servicehub.core.errors import ActionError
from servicehub.core.models import Category, Publication
from servicehub.publishing.compose import Draft, TargetProblem, TargetSpec, parse_category
from servicehub.workbench.forms import CHINA, Form, id_or_none
from servicehub.workbench.i18n import has_text

CATEGORIES = [str(c) for c in Category]
TAG_MAX = 64  # a platform tag id is a short number or name
TAGS_PER_ACCOUNT = 50


@dataclass
class ComposeState:
    text: str = ""
    category: str = str(Category.ANNOUNCEMENT)
    scheduled_at: str = ""  # as a datetime-local field holds it: China time, no zone
    accounts: set[int] = field(default_factory=set)
    posts: set[int] = field(default_factory=set)
    lists: dict[int, set[int]] = field(default_factory=dict)
    tags: dict[int, set[str]] = field(default_factory=dict)
    image: str = ""  # a stored picture's name (``publishing.images``), kept across a re-render

    def lists_of(self, account_id: int) -> set[int]:
        return self.lists.get(account_id, set())

    def tags_of(self, account_id: int) -> set[str]:
        return self.tags.get(account_id, set())

    def draft(self, form: Form) -> Draft:
        """The action's draft (the time read again, strictly, from ``form``)."""
        targets = tuple(
            TargetSpec(
                account_id=a,
                as_post=a in self.posts,
                list_ids=tuple(sorted(self.lists_of(a))),
                tag_ids=tuple(sorted(self.tags_of(a))),
            )
            for a in sorted(self.accounts)
        )
        return Draft(
            text=self.text,
            category=parse_category(self.category),
            targets=targets,
            scheduled_at=form.when("scheduled_at"),
            image=self.image or None,
        )


def _ids(values: Iterable[str], strict: bool, name: str) -> set[int]:
    found = set()
    for value in values:
        number = id_or_none(value.strip())
        if number is None:
            if strict:
                raise ActionError("not_a_number", f"{name} is not a number", field=name)
            continue
        found.add(number)
    return found


def _tags(values: Iterable[str], strict: bool) -> set[str]:
    found = {v.strip() for v in values if v.strip()}
    if strict and (len(found) > TAGS_PER_ACCOUNT or any(len(v) > TAG_MAX for v in found)):
        raise ActionError("invalid_choice", "unknown tags", field="tags")
    return {v for v in found if len(v) <= TAG_MAX}


def state_of(form: Form, *, strict: bool) -> ComposeState:
    """The form as submitted; ``strict`` refuses bad values (the action), else skips them."""
    accounts = _ids(form.strings("account"), strict, "account")
    state = ComposeState(
        text=form.raw("text"),
        category=form.raw("category").strip()[:32],
        scheduled_at=form.raw("scheduled_at").strip()[:32],
        accounts=accounts,
        posts={a for a in accounts if form.flag(f"post_{a}")},
        lists={a: _ids(form.strings(f"lists_{a}"), strict, "lists") for a in accounts},
        tags={a: _tags(form.strings(f"tags_{a}"), strict) for a in accounts},
        image="" if form.flag("image_remove") else form.raw("image").strip()[:80],
    )
    return state


def state_of_publication(publication: Publication) -> ComposeState:
    """A stored publication as the form shows it (to edit)."""
    when = publication.scheduled_at
    return ComposeState(
        text=publication.text,
        category=str(publication.category),
        scheduled_at=when.astimezone(CHINA).strftime("%Y-%m-%dT%H:%M") if when else "",
        accounts={t.account_id for t in publication.targets},
        posts={t.account_id for t in publication.targets if t.as_post},
        lists={t.account_id: set(t.list_ids) for t in publication.targets},
        tags={t.account_id: set(t.tag_ids) for t in publication.targets},
        image=publication.image or "",
    )


@dataclass(frozen=True)
class ShownProblem:
    account_id: int
    account: str
    message: str


def problem_texts(t: Callable[..., str], problems: Iterable[TargetProblem]) -> list[ShownProblem]:
    """Each target's problem in the reader's language (``publish.problem.<code>``); a code or
    a parameter this workbench has no words for reads as a general refusal, never as a code."""
    shown = []
    for p in problems:
        params = dict(p.params)
        params["unit"] = t(f"unit.{params.get('unit', 'char')}")
        key = f"publish.problem.{p.code}"
        try:
            message = t(key, **params) if has_text(key) else t("publish.problem.other")
        except (KeyError, IndexError):
            message = t("publish.problem.other")
        shown.append(ShownProblem(p.account_id, p.account_name, message))
    return shown


def problems_of(error: ActionError) -> list[TargetProblem]:
    found = error.params.get("problems")
    return [p for p in found if isinstance(p, TargetProblem)] if isinstance(found, list) else []

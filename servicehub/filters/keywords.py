"""Keyword listening tasks: which tasks hear a message, matched the way Chinese is written.

Chinese has no spaces, so a plain substring test makes ``联通`` fire on ``互联通信`` and
``电信`` on ``电信号``. A keyword here matches an occurrence only where its two ends line up
with jieba's word boundaries. An end may also fall *inside* a token when that token is a
compound of two dictionary words of two or more characters split exactly there:
``中国|联通`` and ``电信|宽带`` are heard by ``联通`` and ``电信``, but ``电信|号`` (a signal) and
``互|联通|信`` are not, because the cut would leave a stray character. The price is that
lexicalized compounds of two words still match (``移动`` hears ``移动硬盘``): telling those
apart needs meaning, not boundaries.

Product and service names registered with the tokenizer (:mod:`servicehub.filters.segmenter`:
the shipped list and whatever administrators add) are single tokens, so a keyword like
``宽带提速`` or ``携号转网`` always lines up whole. A keyword may also be a fair piece of such
a name -- a word of two or more characters or a Latin/digit run -- so ``流量`` hears
``流量包`` and ``5G`` hears ``5G套餐``, but ``卡`` does not hear ``副卡``.

Latin and digit keywords match whole tokens only (``5g`` hears ``5g套餐`` but not ``15g``).
Whitespace inside a keyword matches any spacing, none included, so ``流量 扣费`` also hears
``流量扣费``. Matching is case- and width-insensitive and ignores @names (a task on ``联通``
must not hear every ``@中国联通客服``), links and emoticon codes. A rule with no accounts
listens on every account.

A matched task adds its id to ``listening_task_ids`` and a ``listen:<task id>`` tag, the
tag routing reads (:mod:`servicehub.routing.rules`).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache

from servicehub.filters import segmenter
from servicehub.filters.textnorm import listening_text, normalize
from servicehub.filters.verdict import PASS, FilterInput, ListeningRule, Outcome, RecentText

TAG_PREFIX = "listen:"
_CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_LATIN_RE = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class _Keyword:
    task_id: int
    probe: str
    """A literal part of the keyword, tested with ``in`` before the regex and the tokenizer run."""
    pattern: re.Pattern[str]


class Tokens:
    """Token boundaries of one text, computed on first need."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._spans: list[tuple[int, int]] | None = None
        self._starts: list[int] = []
        self._ends: set[int] = set()

    def _load(self) -> list[tuple[int, int]]:
        if self._spans is None:
            self._spans = segmenter.spans(self.text)
            self._starts = [s for s, _ in self._spans]
            self._ends = {e for _, e in self._spans}
        return self._spans

    def aligned(self, start: int, end: int) -> bool:
        """Whether ``text[start:end]`` honours the boundary rule in the module docstring."""
        if self._glued(start - 1, start) or self._glued(end - 1, end):
            return False
        return self._cut_ok(start, keyword_after=True) and self._cut_ok(end, keyword_after=False)

    def _glued(self, before: int, after: int) -> bool:
        """Whether a cut between two Latin/digit characters would split a run (5g in 15g)."""
        text = self.text
        return before >= 0 and after < len(text) and bool(_LATIN_RE.fullmatch(text, before, after + 1))

    def _cut_ok(self, position: int, *, keyword_after: bool) -> bool:
        spans = self._load()
        if position == len(self.text) or position in self._ends:
            return True
        token_start, token_end = spans[bisect_right(self._starts, position) - 1]
        if token_start == position:
            return True
        left, right = self.text[token_start:position], self.text[position:token_end]
        if self.text[token_start:token_end] in segmenter.user_terms():
            return _whole(right if keyword_after else left)
        if _CJK_RE.fullmatch(self.text, token_start, token_end) is None:
            return False
        return min(len(left), len(right)) >= 2 and segmenter.is_word(left) and segmenter.is_word(right)


def _whole(part: str) -> bool:
    """A word of two or more characters, or a Latin/digit run: a fair piece of a product name."""
    return _LATIN_RE.fullmatch(part) is not None or (len(part) >= 2 and segmenter.is_word(part))


def compile_keyword(task_id: int, keyword: str) -> _Keyword | None:
    """The matcher of one keyword, or None for a blank one."""
    parts = normalize(keyword).split(" ")
    parts = [p for p in parts if p]
    if not parts:
        return None
    body = r"\s*".join(re.escape(p) for p in parts)
    return _Keyword(task_id, max(parts, key=len), re.compile(f"(?=({body}))"))


class KeywordMatcher:
    """All listening rules, compiled once; :meth:`match` gives the tasks a text belongs to."""

    def __init__(self, rules: Sequence[ListeningRule]) -> None:
        self._everywhere: list[_Keyword] = []
        self._by_account: dict[str, list[_Keyword]] = {}
        for rule in rules:
            compiled = [k for k in (compile_keyword(rule.task_id, kw) for kw in rule.keywords) if k]
            if not rule.account_uids:
                self._everywhere.extend(compiled)
            for uid in dict.fromkeys(rule.account_uids):
                self._by_account.setdefault(uid, []).extend(compiled)

    def match(self, text: str, account_uid: str) -> tuple[int, ...]:
        """Sorted ids of the tasks listening on ``account_uid`` whose keywords ``text`` contains."""
        keywords = self._everywhere + self._by_account.get(account_uid, [])
        if not keywords:
            return ()
        target = listening_text(text)
        tokens: Tokens | None = None
        found: set[int] = set()
        for keyword in keywords:
            if keyword.task_id in found or keyword.probe not in target:
                continue
            for occurrence in keyword.pattern.finditer(target):
                tokens = tokens or Tokens(target)
                if tokens.aligned(occurrence.start(1), occurrence.end(1)):
                    found.add(keyword.task_id)
                    break
        return tuple(sorted(found))


@lru_cache(maxsize=1024)
def _single(keyword: str) -> KeywordMatcher:
    return KeywordMatcher([ListeningRule(task_id=0, name="", keywords=(keyword,))])


def hears(keyword: str, text: str) -> bool:
    """Whether ``keyword`` occurs in ``text`` as the module docstring says (routing rules use
    this so a rule's keyword and a listening task's keyword match the same texts)."""
    return bool(keyword.strip()) and bool(_single(keyword).match(text, ""))


class KeywordFilter:
    """Tags messages with the listening tasks that hear them; never drops anything."""

    name = "keywords"

    def __init__(self, rules: Sequence[ListeningRule]) -> None:
        self._matcher = KeywordMatcher(rules)

    def run(self, items: Sequence[FilterInput], recent: Mapping[str, Sequence[RecentText]]) -> list[Outcome]:
        outcomes = []
        for item in items:
            ids = self._matcher.match(item.text, item.account_uid)
            tags = tuple(f"{TAG_PREFIX}{i}" for i in ids)
            outcomes.append(Outcome(tags=tags, listening_task_ids=ids) if ids else PASS)
        return outcomes

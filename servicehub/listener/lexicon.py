"""The service-term dictionary: administrators name products and services (5G套餐, 携号转网,
宽带提速) so that listening tasks, routing rules and keyword trends read them whole.

The terms live in the database; every process registers them with its jieba tokenizer
(``filters.segmenter``) when it next builds a filter chain (:func:`sync_terms`, called by
``listener.filtering.chain_for`` and by anything else that segments text), so a term an
administrator adds in the workbench takes effect in every worker with its next batch, and a
removed one stops being kept whole the same way. Needs ``rule.manage`` at scope ``all``:
the dictionary is shared by every company.
"""

from __future__ import annotations

import threading

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicehub.core import audit
from servicehub.core.errors import ActionError
from servicehub.core.models import KeywordTerm, Scope
from servicehub.core.permissions import NotVisible, Principal, require
from servicehub.filters.segmenter import TERM_RE, add_terms, remove_terms
from servicehub.filters.textnorm import normalize

MANAGE = "rule.manage"
MAX_TERMS_PER_SAVE = 200

_lock = threading.Lock()
_synced: frozenset[str] = frozenset()


def do_add_terms(session: Session, who: Principal, terms: list[str]) -> list[KeywordTerm]:
    """Add terms (one save may hold many); known ones are skipped, a malformed one refuses all."""
    require(who, MANAGE, Scope.ALL)
    wanted = sorted({normalize(t) for t in terms if t.strip()})
    if not wanted:
        raise ActionError("terms_empty", "no terms given")
    if len(wanted) > MAX_TERMS_PER_SAVE:
        raise ActionError("too_many", f"at most {MAX_TERMS_PER_SAVE}", limit=MAX_TERMS_PER_SAVE)
    bad = [t for t in wanted if not TERM_RE.fullmatch(t)]
    if bad:
        raise ActionError("bad_term", f"cannot keep whole: {', '.join(bad)}", terms="、".join(bad))
    known = set(session.scalars(select(KeywordTerm.term).where(KeywordTerm.term.in_(wanted))))
    added = [KeywordTerm(term=t, created_by=who.user_id) for t in wanted if t not in known]
    session.add_all(added)
    session.flush()
    if added:
        audit.record(
            session, "lexicon.added", "keyword_term", added[0].id, by=who, terms=[t.term for t in added]
        )
    return added


def do_remove_term(session: Session, who: Principal, term_id: int) -> None:
    require(who, MANAGE, Scope.ALL)
    term = session.get(KeywordTerm, term_id)
    if term is None:
        raise NotVisible(f"term {term_id}")
    session.delete(term)
    audit.record(session, "lexicon.removed", "keyword_term", term_id, by=who, terms=[term.term])


def list_terms(session: Session) -> list[KeywordTerm]:
    return list(session.scalars(select(KeywordTerm).order_by(KeywordTerm.term)))


def sync_terms(session: Session) -> frozenset[str]:
    """Register the dictionary's terms with this process's tokenizer (and forget removed ones);
    cheap when nothing changed: one small query."""
    global _synced
    current = frozenset(session.scalars(select(KeywordTerm.term)))
    if current == _synced:
        return current
    with _lock:
        add_terms(sorted(current - _synced))
        remove_terms(sorted(_synced - current))
        _synced = current
    return current

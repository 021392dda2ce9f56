"""The password policy: long enough, and not easy to guess.

Length alone lets ``12345678901`` or ``password123`` through, so every password set by a
person -- created by an administrator, reset by one, or changed by its owner -- is also
scored by zxcvbn (Dropbox's estimator, kept on PyPI as ``zxcvbn``): it knows the common
password lists, dictionary words, keyboard walks, repeats, sequences and dates, and the
user's own name. A score under 3 (fewer than about 10^8 guesses) is refused, with the
reason zxcvbn found, in words (``error.password_<reason>``).
"""

from __future__ import annotations

from typing import Any

from zxcvbn import zxcvbn

from servicehub.core.errors import ActionError

MIN_LENGTH = 10
MAX_LENGTH = 128  # hashing cost stays bounded; a passphrase still fits
MIN_SCORE = 3

# zxcvbn's match patterns -> our reason, most telling first.
_REASONS = (
    ("user_inputs", "password_personal"),
    ("passwords", "password_common"),
    ("spatial", "password_keyboard"),
    ("repeat", "password_repeats"),
    ("sequence", "password_sequence"),
    ("date", "password_date"),
)


def check_new_password(password: str, *, personal: tuple[str, ...] = ()) -> None:
    """Raise :class:`ActionError` (``password_*``) unless ``password`` may be used."""
    if len(password) < MIN_LENGTH:
        raise ActionError(
            "password_short", f"a password needs at least {MIN_LENGTH} characters", limit=MIN_LENGTH
        )
    if len(password) > MAX_LENGTH:
        raise ActionError(
            "password_long", f"a password has at most {MAX_LENGTH} characters", limit=MAX_LENGTH
        )
    result = zxcvbn(password, user_inputs=[p for p in personal if p])
    if int(result["score"]) >= MIN_SCORE:
        return
    raise ActionError(_reason(result["sequence"]), "the password is too easy to guess")


def _reason(sequence: list[dict[str, Any]]) -> str:
    kinds = {str(m.get("dictionary_name") or m.get("pattern")) for m in sequence}
    kinds |= {str(m.get("pattern")) for m in sequence}
    for kind, reason in _REASONS:
        if kind in kinds:
            return reason
    return "password_weak"

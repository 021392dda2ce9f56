"""The normalized dataclasses' own helpers."""

from __future__ import annotations

import dataclasses

import pytest

from servicehub.adapters.base import ReplyTarget


@pytest.mark.parametrize(
    "target",
    [
        ReplyTarget("comment_status", status_id="4890000000000001"),
        ReplyTarget("reply_comment", status_id="1", comment_id="2"),
        ReplyTarget("private_message", user_uid="1902538057"),
    ],
)
def test_reply_target_as_dict_is_its_whole_stored_form(target: ReplyTarget) -> None:
    assert target.as_dict() == dataclasses.asdict(target)  # a field added later must be stored too

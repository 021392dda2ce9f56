"""Pictures posted with a publication: checked when uploaded, kept in the data directory.

A picture is stored once under its content hash (``<data_dir>/publishing/<sha256>.<ext>``),
so the publication row names it by a file name and a resend reads the same bytes. What a
platform accepts (Weibo: JPEG, PNG or GIF under 5 MB) is checked on upload by the bytes
themselves, never by the name or the browser's content type.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from servicehub.adapters.base import PostImage
from servicehub.core.errors import ActionError
from servicehub.core.runtime import Runtime

MAX_BYTES = 5 * 1024 * 1024
_KINDS = (
    (b"\xff\xd8\xff", "jpg", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "png", "image/png"),
    (b"GIF87a", "gif", "image/gif"),
    (b"GIF89a", "gif", "image/gif"),
)
_NAME = re.compile(r"[0-9a-f]{64}\.(jpg|png|gif)")


def _folder(runtime: Runtime) -> Path:
    return Path(runtime.settings.data_path) / "publishing"


def kind_of(data: bytes) -> tuple[str, str]:
    """(extension, content type) of a picture's bytes; :class:`ActionError` if not one."""
    for magic, ext, content_type in _KINDS:
        if data.startswith(magic):
            return ext, content_type
    raise ActionError("image_type", "the picture must be a JPEG, PNG or GIF file")


def store_upload(runtime: Runtime, data: bytes) -> str:
    """Keep an uploaded picture; returns its name for ``Publication.image``."""
    if not data:
        raise ActionError("image_empty", "the picture file is empty")
    if len(data) > MAX_BYTES:
        raise ActionError("image_too_big", "the picture is larger than 5 MB", limit=MAX_BYTES)
    ext, _ = kind_of(data)
    name = f"{hashlib.sha256(data).hexdigest()}.{ext}"
    folder = _folder(runtime)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if not path.exists():
        partial = path.with_suffix(".part")
        partial.write_bytes(data)
        partial.replace(path)
    return name


def path_of(runtime: Runtime, name: str) -> Path:
    """Where a stored picture is; :class:`ActionError` for a name that is not one of ours."""
    if not _NAME.fullmatch(name):
        raise ActionError("image_missing", "no such picture")
    path = _folder(runtime) / name
    if not path.is_file():
        raise ActionError("image_missing", "the picture is no longer stored")
    return path


def load(runtime: Runtime, name: str) -> PostImage:
    """The stored picture as an adapter posts it."""
    data = path_of(runtime, name).read_bytes()
    _, content_type = kind_of(data)
    return PostImage(filename=name, content_type=content_type, data=data)

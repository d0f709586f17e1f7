"""Opaque list cursors: the store's position, sealed and bound to the list it belongs to.

The store pages by its global insertion sequence, so its own cursor would tell anyone how
many jobs all groups submitted between two lists. The REST cursor is that position
encrypted and authenticated with a key kept in the data directory (so every server on one
``data_dir`` accepts the others' cursors, also after a restart), and bound to the user and
filters of the list it was made for: a cursor that was tampered with, or is used with
other filters, is refused.

The construction is a deterministic SIV scheme from the standard library's HMAC-SHA256
(no cipher is in the standard library): tag = HMAC(k1, scope || position), ciphertext =
position XOR HMAC(k2, tag || counter); decoding recomputes the tag and compares it in
constant time. Equal positions of one list give equal cursors, which reveals nothing
the list itself does not.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

from .errors import InvalidInput

KEY_FILE = "cursor.key"
KEY_BYTES = 32
TAG_BYTES = 16
MAX_CURSOR_LENGTH = 512
_ALPHABET = re.compile(r"[A-Za-z0-9_-]+")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class CursorCodec:
    """Seals store positions into cursors for one ``scope`` (a list's user and filters)."""

    def __init__(self, key: bytes) -> None:
        self._tag_key = hmac.new(key, b"jupyterlab-jobs cursor tag", hashlib.sha256).digest()
        self._stream_key = hmac.new(key, b"jupyterlab-jobs cursor stream", hashlib.sha256).digest()

    def _tag(self, scope: str, position: bytes) -> bytes:
        message = scope.encode("utf-8") + b"\0" + position
        return hmac.new(self._tag_key, message, hashlib.sha256).digest()[:TAG_BYTES]

    def _xor_stream(self, tag: bytes, data: bytes) -> bytes:
        stream = b"".join(
            hmac.new(self._stream_key, tag + block.to_bytes(4, "big"), hashlib.sha256).digest()
            for block in range(-(-len(data) // 32))
        )
        return bytes(a ^ b for a, b in zip(data, stream, strict=False))

    def encode(self, position: str, scope: str) -> str:
        plain = position.encode("utf-8")
        tag = self._tag(scope, plain)
        return _b64(tag + self._xor_stream(tag, plain))

    def decode(self, cursor: str, scope: str) -> str:
        """The position sealed in ``cursor``; 400 naming ``cursor`` unless this list made it."""
        refused = InvalidInput(
            "cursor is not one this server returned for this list (with these filters); "
            "list again without it",
            field="cursor",
        )
        if len(cursor) > MAX_CURSOR_LENGTH or not _ALPHABET.fullmatch(cursor):
            raise refused
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        except binascii.Error:  # a length no base64 text has
            raise refused from None
        # Base64 ignores unused trailing bits: only the canonical text of a cursor counts.
        if len(raw) <= TAG_BYTES or _b64(raw) != cursor:
            raise refused
        tag, sealed = raw[:TAG_BYTES], raw[TAG_BYTES:]
        plain = self._xor_stream(tag, sealed)
        if not hmac.compare_digest(tag, self._tag(scope, plain)):
            raise refused
        return plain.decode("utf-8")


def load_cursor_key(data_dir: Path) -> bytes:
    """The data directory's cursor key, created (mode 0600) by the first server to start.

    Created under a temporary name and linked into place, so a server starting at the
    same moment never reads a half-written key; never read through a symlink.
    """
    path = data_dir / KEY_FILE
    if not path.exists():
        temporary = data_dir / f".{KEY_FILE}.{secrets.token_hex(8)}"
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(secrets.token_bytes(KEY_BYTES))
            os.link(temporary, path)
        except FileExistsError:
            pass  # another server created it first: use theirs
        finally:
            temporary.unlink(missing_ok=True)
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    with os.fdopen(fd, "rb") as file:
        key = file.read(KEY_BYTES + 1)
    if len(key) != KEY_BYTES:
        raise RuntimeError(f"{path} is not a jupyterlab-jobs cursor key ({len(key)} bytes)")
    return key

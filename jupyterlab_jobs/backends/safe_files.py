"""Reading files a job can write, and the directories the server keeps for itself.

A job runs as the server's OS user, so anything in its directory may be a symlink (to
``/proc/self/environ``: the reading server's secrets), a FIFO (blocks the reader) or a
device (``/dev/zero``: endless). Such files are opened without following symlinks and
without blocking, must be regular files, and are read up to a limit.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
from collections.abc import Collection
from pathlib import Path
from typing import Any

MAX_JSON_BYTES = 64 * 1024


class UnsafeFile(Exception):
    """The file is not a plain file of a sane size; ``str(error)`` says why, in words."""


def open_directory(path: Path) -> int:
    """A descriptor of the directory ``path``, which must not be a symlink itself."""
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError as error:
        if error.errno in (errno.ELOOP, errno.ENOTDIR):
            raise UnsafeFile(f"{path.name} is not a directory (a symlink?)") from None
        raise


def read_limited(directory: Path, name: str, limit: int, *, truncate: bool = False) -> bytes:
    """The bytes of ``directory/name``; at most ``limit`` of them (more: UnsafeFile, or the
    first ``limit`` when ``truncate``). FileNotFoundError when there is no such file."""
    directory_fd = open_directory(directory)
    try:
        fd = os.open(
            name,
            os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC,
            dir_fd=directory_fd,
        )
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise UnsafeFile(f"{name} is a symbolic link") from None
        raise
    finally:
        os.close(directory_fd)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise UnsafeFile(f"{name} is not a regular file")
        content = handle.read(limit + 1)
    if len(content) > limit:
        if not truncate:
            raise UnsafeFile(f"{name} is larger than {limit} bytes")
        content = content[:limit]
    return content


def read_json_object(directory: Path, name: str) -> dict[str, Any]:
    """A JSON object from ``directory/name`` (UnsafeFile if it is anything else)."""
    try:
        value = json.loads(read_limited(directory, name, MAX_JSON_BYTES))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise UnsafeFile(f"{name} is not valid JSON") from None
    if not isinstance(value, dict):
        raise UnsafeFile(f"{name} is not a JSON object")
    return value


def directory_problem(info: os.stat_result, owners: Collection[int]) -> str:
    """Why the file ``info`` (an lstat) is no directory of one of ``owners``; "" if it is."""
    if stat.S_ISLNK(info.st_mode):
        return "is a symbolic link"
    if not stat.S_ISDIR(info.st_mode):
        return "is not a directory"
    if info.st_uid not in owners:
        return f"belongs to another user (uid {info.st_uid})"
    return ""


def ensure_private_directory(path: Path) -> None:
    """Create ``path`` (mode 0700) or check the one there: a directory, not a symlink,
    ours and closed to other users. Else UnsafeFile: another local user who created it
    first would receive what we put there."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    info = os.lstat(path)
    problem = directory_problem(info, owners=(os.getuid(),))
    if not problem and info.st_mode & 0o077:
        problem = f"is open to other users (mode {stat.S_IMODE(info.st_mode):o})"
    if problem:
        raise UnsafeFile(
            f"Refusing to use {path}: it {problem}. Remove it, or set XDG_RUNTIME_DIR "
            "to a private directory"
        )

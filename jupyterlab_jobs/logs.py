"""Reading job logs in bounded chunks: never the whole file in memory.

A job can replace its own log file: it is opened without following a symlink and served
only if it is a regular file, so that a link to ``/proc/self/environ`` or ``/dev/zero``
never makes the server read (and send) the target.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from .errors import JobsError, LogsGone, quoted
from .models import Job

CHUNK_BYTES = 64 * 1024
# O_NONBLOCK: opening a FIFO put in the log's place must not wait for a writer.
OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


class LogNotAFile(JobsError):
    """The job replaced its log file with a link, a device or a pipe: it is not served."""

    status = 409

    def __init__(self) -> None:
        super().__init__(
            "The job replaced its log file with something that is not a regular file "
            "(a symbolic link, a device or a pipe); it is not served"
        )


class LogRemoved(LogsGone):
    """The log of a job that ran and ended is gone, though retention did not remove it."""

    def __init__(self, job: Job) -> None:
        super().__init__(
            f"The log of job {quoted(job.name)} was removed (not by the retention policy); "
            "its output is lost."
        )


def removed_early(job: Job, path: Path) -> bool:
    """Whether the job ran and ended but its log file is gone while its logs are still
    kept: removed by hand or by something else, not by retention (which marks the job).
    Anything still at the path (even a link) is not "gone": serving it decides."""
    return (
        job.logs_available
        and job.is_final
        and job.started_at is not None
        and not os.path.lexists(path)
    )


@contextlib.contextmanager
def open_log(path: Path) -> Iterator[int | None]:
    """A read-only descriptor of the log if it is a regular file; None if there is none."""
    try:
        descriptor = os.open(path, OPEN_FLAGS)
    except FileNotFoundError:
        yield None
        return
    except OSError as error:
        if error.errno == errno.ELOOP:  # O_NOFOLLOW met a symbolic link
            raise LogNotAFile() from None
        raise
    try:
        if not stat.S_ISREG(os.fstat(descriptor).st_mode):
            raise LogNotAFile()
        yield descriptor
    finally:
        os.close(descriptor)


def log_size(path: Path) -> int:
    with open_log(path) as descriptor:
        return 0 if descriptor is None else os.fstat(descriptor).st_size


def read_chunk(path: Path, offset: int, end: int | None = None) -> bytes:
    """Up to CHUNK_BYTES from ``offset`` (and before ``end``); empty at the end or if no file."""
    length = CHUNK_BYTES if end is None else min(CHUNK_BYTES, end - offset)
    if length <= 0:
        return b""
    with open_log(path) as descriptor:
        return b"" if descriptor is None else os.pread(descriptor, length, offset)


def last_bytes(path: Path, count: int) -> bytes:
    """The last ``count`` bytes of the log (fewer if it is shorter; empty if none)."""
    with open_log(path) as descriptor:
        if descriptor is None:
            return b""
        size = os.fstat(descriptor).st_size
        return os.pread(descriptor, min(count, size), max(0, size - count))


def tail_offset(path: Path, lines: int, end: int) -> int:
    """Byte offset where the last ``lines`` lines before ``end`` begin (read backwards)."""
    if lines <= 0:
        return end
    with open_log(path) as descriptor:
        if descriptor is None:
            return 0
        position = end
        # A final newline ends the last line; it does not start another one.
        last = os.pread(descriptor, 1, max(0, end - 1))
        wanted = lines + 1 if end and last == b"\n" else lines
        while position > 0:
            step = min(CHUNK_BYTES, position)
            position -= step
            block = os.pread(descriptor, step, position)
            count = block.count(b"\n")
            if count >= wanted:
                index = len(block)
                for _ in range(wanted):
                    index = block.rindex(b"\n", 0, index)
                return position + index + 1
            wanted -= count
        return 0

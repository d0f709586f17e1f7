"""Reading job logs in bounded chunks: never the whole file in memory."""

from __future__ import annotations

from pathlib import Path

CHUNK_BYTES = 64 * 1024


def log_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def read_chunk(path: Path, offset: int, end: int | None = None) -> bytes:
    """Up to CHUNK_BYTES from ``offset`` (and before ``end``); empty at the end or if no file."""
    length = CHUNK_BYTES if end is None else min(CHUNK_BYTES, end - offset)
    if length <= 0:
        return b""
    try:
        with path.open("rb") as handle:
            handle.seek(offset)
            return handle.read(length)
    except FileNotFoundError:
        return b""


def tail_offset(path: Path, lines: int, end: int) -> int:
    """Byte offset where the last ``lines`` lines before ``end`` begin (read backwards)."""
    if lines <= 0:
        return end
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        return 0
    with handle:
        position = end
        # A final newline ends the last line; it does not start another one.
        handle.seek(max(0, end - 1))
        wanted = lines + 1 if end and handle.read(1) == b"\n" else lines
        while position > 0:
            step = min(CHUNK_BYTES, position)
            position -= step
            handle.seek(position)
            block = handle.read(step)
            count = block.count(b"\n")
            if count >= wanted:
                index = len(block)
                for _ in range(wanted):
                    index = block.rindex(b"\n", 0, index)
                return position + index + 1
            wanted -= count
        return 0

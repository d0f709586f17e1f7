"""Keep a local job's artifacts: what it left in ``$HOME/artifacts`` when it ended.

Stdlib only: the supervisor (run as a bare script) imports this module. The job's home is
removed when it ends; before that its ``artifacts`` directory is moved into the job's
directory (a rename: same file system) and cleaned: anything but regular files and
directories (symlinks, FIFOs, sockets, devices) is removed, never followed, and files past
the size limit are removed too. What was removed is listed in a manifest, so nothing is
dropped silently. The job's processes are all gone by then: nothing changes the tree
while it is cleaned.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from typing import Any

MAX_LISTED = 100  # omitted entries named in the manifest (the rest only counted)
MAX_DEPTH = 32  # folders below this are not kept (the server lists no deeper)


def collect(home: str, target: str, limit_bytes: int) -> dict[str, Any]:
    """Move ``home/artifacts`` to ``target`` and clean it; the manifest (for the server)."""
    manifest: dict[str, Any] = {
        "limit_bytes": limit_bytes,
        "kept_bytes": 0,
        "omitted": [],
        "omitted_count": 0,
    }
    source = os.path.join(home, "artifacts")
    try:
        info = os.lstat(source)
    except OSError:
        return manifest
    if not stat.S_ISDIR(info.st_mode):
        _omit(manifest, "artifacts", info.st_size, "not a directory")
        return manifest
    try:  # anything the job put there first (it knows the job's directory)
        os.unlink(target)
    except IsADirectoryError:
        shutil.rmtree(target)
    except FileNotFoundError:
        pass
    try:
        os.rename(source, target)
    except OSError as error:  # a home on another file system: copy, as it is, no further
        if error.errno != errno.EXDEV:
            raise
        _copy(source, target, limit_bytes)
    kept = 0
    for directory, subdirectories, files, directory_fd in os.fwalk(target, follow_symlinks=False):
        relative = os.path.relpath(directory, target)
        subdirectories.sort()
        if relative != "." and relative.count("/") + 1 >= MAX_DEPTH:
            # Back into the home, which is removed next (this walk must stay shallow).
            for index, name in enumerate(subdirectories):
                away = os.path.join(home, f".too-deep-{index}")
                os.rename(name, away, src_dir_fd=directory_fd)
                _omit(manifest, os.path.join(relative, name), 0, "nested too deep")
            subdirectories.clear()
        # fwalk lists symlinks to directories as directories: never enter or keep them.
        for name in list(subdirectories):
            if stat.S_ISLNK(os.lstat(name, dir_fd=directory_fd).st_mode):
                subdirectories.remove(name)
                files.append(name)
        for name in sorted(files):
            path = os.path.normpath(os.path.join(relative, name))
            entry = os.lstat(name, dir_fd=directory_fd)
            if not stat.S_ISREG(entry.st_mode):
                reason = "a symbolic link" if stat.S_ISLNK(entry.st_mode) else "not a regular file"
            elif kept + entry.st_size > limit_bytes:
                reason = "over the size limit"
            else:
                kept += entry.st_size
                continue
            os.unlink(name, dir_fd=directory_fd)
            _omit(manifest, path, entry.st_size, reason)
    manifest["kept_bytes"] = kept
    return manifest


def _copy(source: str, target: str, limit_bytes: int) -> None:
    """Copy the tree at ``source`` to ``target`` for the cleaning walk: never through a
    symlink (a link is copied as a link, anything else not regular as a FIFO, so both
    are reported), and files past the limit only by size (sparse, never read)."""
    flags = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
    os.mkdir(target, 0o700)
    budget = [limit_bytes]

    def copy(source_fd: int, target_fd: int, depth: int) -> None:
        with os.scandir(source_fd) as entries:
            names = sorted(entry.name for entry in entries)
        for name in names:
            info = os.lstat(name, dir_fd=source_fd)
            if stat.S_ISDIR(info.st_mode) and depth < MAX_DEPTH:
                os.mkdir(name, 0o700, dir_fd=target_fd)
                inner = os.open(name, flags, dir_fd=source_fd)
                inner_target = os.open(name, flags, dir_fd=target_fd)
                try:
                    copy(inner, inner_target, depth + 1)
                finally:
                    os.close(inner)
                    os.close(inner_target)
            elif stat.S_ISLNK(info.st_mode):
                os.symlink(os.readlink(name, dir_fd=source_fd), name, dir_fd=target_fd)
            elif not stat.S_ISREG(info.st_mode):
                os.mkfifo(name, dir_fd=target_fd)
            else:
                _copy_file(source_fd, target_fd, name, info.st_size, budget)

    source_fd = os.open(source, flags)
    target_fd = os.open(target, flags)
    try:
        copy(source_fd, target_fd, 0)
    finally:
        os.close(source_fd)
        os.close(target_fd)


def _copy_file(source_fd: int, target_fd: int, name: str, size: int, budget: list[int]) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    output = os.open(name, flags, 0o600, dir_fd=target_fd)
    try:
        if size > budget[0]:
            os.ftruncate(output, size)  # reported by its size, then removed
            return
        budget[0] -= size
        reader = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=source_fd)
        try:
            while chunk := os.read(reader, 1 << 20):
                view = memoryview(chunk)
                while view:
                    view = view[os.write(output, view) :]
        finally:
            os.close(reader)
    finally:
        os.close(output)


def _omit(manifest: dict[str, Any], path: str, size: int, reason: str) -> None:
    manifest["omitted_count"] += 1
    if len(manifest["omitted"]) < MAX_LISTED:
        manifest["omitted"].append({"path": path, "size": size, "reason": reason})

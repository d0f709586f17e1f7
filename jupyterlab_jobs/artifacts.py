"""A job's artifacts: list them, and open one for download, for members of its group.

The artifacts directory is written by the job (hostile input): it is read through
directory descriptors, each component opened relative to its parent without following
symlinks, so no name (``..``, an absolute path, a link planted by the job) reaches
anything outside it. Only regular files are served.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path
from typing import Any

from .backends.safe_files import UnsafeFile, open_directory, read_json_object
from .errors import InvalidInput, LogsGone, NotFound, quoted
from .models import Job, human_duration
from .service import JobService

MAX_LISTED = 10_000  # entries in a listing; more: `truncated`
MAX_DEPTH = 32
MAX_PATH_LENGTH = 4096
DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
NOT_KEPT = "Artifacts are not kept on this installation"
OVER_LIMIT = "over the size limit"


def _kept_job(service: JobService, user: str, job_id: str) -> Job:
    """The job, if the user may see it and its artifacts were not removed yet."""
    job = service.get(user, job_id)
    if not job.logs_available:
        raise LogsGone(
            f"The artifacts of job {job.name!r} were removed with its logs, "
            f"{human_duration(service.log_retention_seconds)} after it finished"
        )
    return job


def list_artifacts(service: JobService, user: str, job_id: str) -> dict[str, Any]:
    """``{available, artifacts: [{path, size, modified}], truncated, omitted, message}``."""
    job = _kept_job(service, user, job_id)
    directory = service.backend.artifacts_dir(job)
    reply: dict[str, Any] = {
        "available": directory is not None,
        "artifacts": [],
        "truncated": False,
        "omitted": [],
        "message": "",
    }
    if directory is None:
        reply["message"] = NOT_KEPT
        return reply
    try:
        reply["artifacts"], complete = _listing(directory)
    except FileNotFoundError:
        reply["message"] = "" if job.is_final else "Artifacts are kept when the job ends"
        return reply
    except (UnsafeFile, OSError) as error:
        reply["message"] = f"The artifacts cannot be read: {error}"
        return reply
    reply["truncated"] = not complete
    manifest = service.backend.artifacts_manifest(job)
    limit = service.backend.max_artifact_bytes
    if manifest is not None:  # the backend applied the limit as it kept them
        reply["omitted"], count, limit = _omitted(manifest)
    else:  # a volume the job writes to directly: the limit applies to what is served
        reply["artifacts"], reply["omitted"] = _within_limit(reply["artifacts"], limit)
        count = len(reply["omitted"])
    if count:
        reply["truncated"] = True
        reply["message"] = (
            f"{count} file(s) were not kept: only regular files and folders are kept, "
            f"up to {limit} bytes per job"
        )
    return reply


def _listing(directory: Path) -> tuple[list[dict[str, Any]], bool]:
    """The regular files under ``directory`` (by path), and whether that is all of them."""
    fd = open_directory(directory)
    found: list[dict[str, Any]] = []
    try:
        return found, _walk(fd, "", 0, found)
    finally:
        os.close(fd)


def _within_limit(
    found: list[dict[str, Any]], limit: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The files that fit in ``limit`` bytes, in order (as the local backend keeps them),
    and the others."""
    kept, omitted, total = [], [], 0
    for entry in found:
        if total + entry["size"] > limit:
            omitted.append({"path": entry["path"], "size": entry["size"], "reason": OVER_LIMIT})
        else:
            total += entry["size"]
            kept.append(entry)
    return kept, omitted


def _walk(fd: int, prefix: str, depth: int, found: list[dict[str, Any]]) -> bool:
    """Append the regular files under ``fd`` to ``found``; False if the listing was cut."""
    with os.scandir(fd) as entries:
        names = sorted(entry.name for entry in entries)
    for name in names:
        if len(found) >= MAX_LISTED:
            return False
        with contextlib.suppress(OSError):
            info = os.stat(name, dir_fd=fd, follow_symlinks=False)
            if stat.S_ISREG(info.st_mode):
                found.append(
                    {"path": prefix + name, "size": info.st_size, "modified": info.st_mtime}
                )
            elif stat.S_ISDIR(info.st_mode) and depth < MAX_DEPTH:
                child = os.open(name, DIRECTORY_FLAGS, dir_fd=fd)
                try:
                    if not _walk(child, f"{prefix}{name}/", depth + 1, found):
                        return False
                finally:
                    os.close(child)
    return True


def _omitted(manifest: Path) -> tuple[list[dict[str, Any]], int, int]:
    """What the supervisor did not keep, as it wrote it (checked: the job could rewrite it)."""
    try:
        data = read_json_object(manifest.parent, manifest.name)
    except (UnsafeFile, OSError):
        return [], 0, 0
    entries = data.get("omitted")
    omitted = [
        {"path": entry["path"][:MAX_PATH_LENGTH], "size": entry["size"], "reason": entry["reason"]}
        for entry in (entries if isinstance(entries, list) else [])
        if isinstance(entry, dict)
        and isinstance(entry.get("path"), str)
        and _is_count(entry.get("size"))
        and isinstance(entry.get("reason"), str)
    ]
    count, limit = data.get("omitted_count"), data.get("limit_bytes")
    return (
        omitted,
        count if isinstance(count, int) and _is_count(count) else len(omitted),
        limit if isinstance(limit, int) and _is_count(limit) else 0,
    )


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _components(path: str) -> list[str]:
    """The names along ``path``; InvalidInput for anything but a plain relative path."""
    parts = path.split("/")
    if (
        not path
        or len(path) > MAX_PATH_LENGTH
        or "\0" in path
        or path.startswith("/")
        or any(part in ("", ".", "..") for part in parts)
    ):
        raise InvalidInput(
            f"Artifact path {quoted(path)} must be relative, without '.' or '..' parts",
            field="path",
        )
    return parts


def open_artifact(service: JobService, user: str, job_id: str, path: str) -> tuple[int, int]:
    """A descriptor of the artifact (a regular file) and its size; the caller closes it."""
    parts = _components(path)
    job = _kept_job(service, user, job_id)
    directory = service.backend.artifacts_dir(job)
    if directory is None:
        raise NotFound(NOT_KEPT)
    missing = NotFound(f"Job {job.name!r} has no artifact {quoted(path)}", field="path")
    if service.backend.artifacts_manifest(job) is None:  # the limit applies here
        try:
            listed, _ = _listing(directory)
        except (UnsafeFile, OSError):
            raise missing from None
        _, omitted = _within_limit(listed, service.backend.max_artifact_bytes)
        if path in {entry["path"] for entry in omitted}:
            raise NotFound(
                f"Artifact {quoted(path)} of job {job.name!r} is over the size limit of "
                f"{service.backend.max_artifact_bytes} bytes per job",
                field="path",
            )
    try:
        fd = open_directory(directory)
    except (UnsafeFile, OSError):
        raise missing from None
    try:
        for part in parts[:-1]:
            parent, fd = fd, os.open(part, DIRECTORY_FLAGS, dir_fd=fd)
            os.close(parent)
        file_fd = os.open(parts[-1], FILE_FLAGS, dir_fd=fd)
    except OSError:  # no such file, a symlink (ELOOP), a file where a folder should be
        raise missing from None
    finally:
        os.close(fd)
    info = os.fstat(file_fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(file_fd)
        raise missing
    os.set_blocking(file_fd, True)
    return file_fd, info.st_size

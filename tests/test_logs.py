"""Log reading: bounded chunks, tails, and a 100 MB log served without loading it."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest

from jupyterlab_jobs import logs

# Processes, files and sockets: also run as an account whose uid differs from its gid.
pytestmark = pytest.mark.unprivileged


@pytest.mark.parametrize(
    ("text", "lines", "expected"),
    [
        ("a\nb\nc\n", 2, "b\nc\n"),
        ("a\nb\nc", 2, "b\nc"),
        ("a\nb\nc\n", 3, "a\nb\nc\n"),
        ("a\nb\nc\n", 10, "a\nb\nc\n"),
        ("a\nb\nc\n", 0, ""),
        ("", 5, ""),
        ("\n\n\n", 1, "\n"),
        ("x" * 200_000 + "\nlast\n", 1, "last\n"),
        ("".join(f"{i}\n" for i in range(50_000)), 3, "49997\n49998\n49999\n"),
    ],
)
def test_tail_offset(tmp_path: Path, text: str, lines: int, expected: str) -> None:
    path = tmp_path / "log"
    path.write_text(text)
    data = path.read_bytes()
    assert data[logs.tail_offset(path, lines, len(data)) :].decode() == expected


def test_missing_file_reads_as_empty(tmp_path: Path) -> None:
    path = tmp_path / "none"
    assert logs.log_size(path) == 0
    assert logs.read_chunk(path, 0) == b""
    assert logs.tail_offset(path, 3, 0) == 0


def test_chunks_are_bounded(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_bytes(b"x" * (3 * logs.CHUNK_BYTES))
    assert len(logs.read_chunk(path, 0)) == logs.CHUNK_BYTES
    assert logs.read_chunk(path, 10, 20) == b"x" * 10


def peak_rss_kib() -> int:
    with open("/proc/self/status", encoding="utf-8") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM")


async def test_a_100_mb_log_streams_without_loading_it(api: Any, jobs_app: Any) -> None:
    job = await api.submit("true")
    await api.wait(job["id"])
    path = jobs_app.backend.log_path(jobs_app.store.get(job["id"]))
    line = b"%08d the quick brown fox jumps over the lazy dog, again and again\n"
    with path.open("wb") as handle:
        for block in range(1429):  # 100 MB, under the test client's 100 MiB body limit
            handle.write(b"".join(line % (block * 1000 + i) for i in range(1000)))
    size = path.stat().st_size
    assert size >= 100 * 10**6
    received = 0

    def count(chunk: bytes) -> None:
        nonlocal received
        received += len(chunk)

    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")  # reset the peak resident size (VmHWM)
    before = peak_rss_kib()
    response = await api.fetch(
        "jupyterlab-jobs", "jobs", job["id"], "logs", streaming_callback=count, request_timeout=120
    )
    growth_mib = (peak_rss_kib() - before) / 1024
    assert response.code == 200
    assert received == size
    assert int(response.headers["X-Log-Offset"]) == size
    assert growth_mib < 40, f"serving the log grew the process by {growth_mib:.0f} MiB"
    tail = await api.logs(job["id"], tail=1)
    assert tail == (line % 1428999).decode()


def _replace_with(path: Path, kind: str) -> None:
    if kind == "fifo":
        os.mkfifo(path)
    else:
        path.symlink_to({"environ": "/proc/self/environ", "zero": "/dev/zero"}[kind])


@pytest.mark.parametrize("kind", ["environ", "zero", "fifo"])
def test_a_log_that_is_not_a_regular_file_is_never_read(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "output.log"
    _replace_with(path, kind)
    for read in (
        lambda: logs.log_size(path),
        lambda: logs.read_chunk(path, 0),
        lambda: logs.tail_offset(path, 3, 100),
    ):
        with pytest.raises(logs.LogNotAFile):
            read()


@pytest.mark.parametrize("follow", [None, "1"])
async def test_a_job_that_links_its_log_to_the_servers_environment_gets_409(
    api: Any, follow: str | None
) -> None:
    # The job's log is output.log next to its termination message, in its job directory.
    job = await api.submit(
        'echo before; ln -sf /proc/self/environ "$(dirname "$TERMINATION_MESSAGE_PATH")/output.log"'
    )
    await api.wait(job["id"])
    response = await api.raw("GET", f"jobs/{job['id']}/logs", follow=follow)
    body = response.body.decode(errors="replace")
    # Never print the body: on a regression it holds the server's environment.
    assert "PATH=" not in body, "the server's environment was served"
    assert response.code == 409
    assert "not a regular file" in json.loads(body)["message"]


async def test_a_log_removed_early_is_410_and_the_job_reports_it(api: Any, jobs_app: Any) -> None:
    job = await api.submit("echo hello")
    done = await api.wait(job["id"])
    assert done["logs_available"] is True
    path = jobs_app.backend.log_path(jobs_app.store.get(job["id"]))
    path.unlink()  # by hand, long before the retention policy would
    for follow in (None, "1"):
        response = await api.raw("GET", f"jobs/{job['id']}/logs", follow=follow)
        assert response.code == 410, response.body
        message = json.loads(response.body)["message"]
        assert message == (
            "The log of job 'test job' was removed (not by the retention policy); "
            "its output is lost."
        )
    assert (await api.call("GET", f"jobs/{job['id']}"))["logs_available"] is False
    # Put back, it is served again: the job's record was not changed.
    path.write_text("restored\n")
    assert (await api.call("GET", f"jobs/{job['id']}"))["logs_available"] is True
    assert await api.logs(job["id"]) == "restored\n"


async def test_a_job_that_never_ran_has_an_empty_log_not_a_removed_one(
    api: Any, jobs_app: Any
) -> None:
    from factories import make_job

    from jupyterlab_jobs.models import CANCELLED

    now = time.time()
    # Cancelled while it waited: it never started, so it never had a log file.
    # (Finished now: the log retention pass must not take it for an old one.)
    jobs_app.store.insert(make_job(status=CANCELLED, created_at=now, finished_at=now))
    assert (await api.call("GET", "jobs/0123456789abcdef"))["logs_available"] is True
    assert await api.logs("0123456789abcdef") == ""

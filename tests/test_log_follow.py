"""Following a log: headers at once, new output as it comes, the end of the job, a lifetime
cap, and no work left behind by followers that went away (one watcher per followed log)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from conftest import server_config
from server_process import ServerProcess

from jupyterlab_jobs.logfollow import LogWatchers

pytestmark = pytest.mark.unprivileged

# A job that writes nothing until research/go exists (at most 20 s), then one line.
GATED = "for i in $(seq 400); do [ -f research/go ] && break; sleep 0.05; done; echo out"


class FollowStream:
    """A raw HTTP/1.1 logs?follow=1 request: its headers and its chunked body as read."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.status = 0
        self.headers: dict[str, str] = {}

    @classmethod
    async def open(cls, server: Any, job_id: str, timeout: float = 10) -> FollowStream:
        """Connect to the test server and read the response's headers (within ``timeout``)."""
        port, token = server.port, server.identity_provider.token
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        stream = cls(reader, writer)
        writer.write(
            f"GET {server.base_url}jupyterlab-jobs/jobs/{job_id}/logs?follow=1 HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{port}\r\nAuthorization: token {token}\r\n\r\n".encode()
        )
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        status_line, *lines = head.decode().split("\r\n")
        stream.status = int(status_line.split()[1])
        stream.headers = {
            name.strip().lower(): value.strip()
            for name, value in (line.split(":", 1) for line in lines if line)
        }
        return stream

    async def read_to_end(self, timeout: float) -> bytes:
        """The chunked body up to its last chunk (the server ended the response)."""
        return await asyncio.wait_for(self._chunks(), timeout)

    async def _chunks(self) -> bytes:
        body = b""
        while True:
            size = int((await self.reader.readline()).strip(), 16)
            body += (await self.reader.readexactly(size + 2))[:-2]
            if size == 0:
                return body

    def close(self) -> None:
        self.writer.close()


async def test_headers_come_at_once_then_new_output_then_the_end(
    api: Any, jobs_app: Any, jp_serverapp: Any
) -> None:
    job = await api.submit(GATED)
    await api.wait(job["id"], {"Running"})
    stream = await FollowStream.open(jp_serverapp, job["id"], timeout=5)
    try:
        assert stream.status == 200
        assert stream.headers["x-job-status"] == "Running"
        assert stream.headers["content-type"].startswith("text/plain")
        (Path(jobs_app.backend.projects) / "research" / "go").touch()
        assert await stream.read_to_end(timeout=10) == b"out\n"
    finally:
        stream.close()
    assert (await api.call("GET", f"jobs/{job['id']}"))["status"] == "Succeeded"
    # Following a job that already ended sends its whole log and ends at once.
    again = await FollowStream.open(jp_serverapp, job["id"], timeout=5)
    try:
        assert again.headers["x-job-status"] == "Succeeded"
        assert await again.read_to_end(timeout=2) == b"out\n"
    finally:
        again.close()


async def test_followers_that_leave_stop_their_watcher(
    api: Any, jobs_app: Any, jp_serverapp: Any
) -> None:
    job = await api.submit(GATED)
    await api.wait(job["id"], {"Running"})
    streams = [await FollowStream.open(jp_serverapp, job["id"], timeout=5) for _ in range(20)]
    assert jobs_app.log_watchers.watching == 1, "one watcher for all followers of a log"
    for stream in streams:
        stream.close()
    end = time.monotonic() + 1
    while jobs_app.log_watchers.watching:
        assert time.monotonic() < end, "the watcher outlived its followers by a second"
        await asyncio.sleep(0.02)
    await api.call("POST", f"jobs/{job['id']}/cancel")


@pytest.mark.parametrize("jobs_settings", [{"JobsApp": {"log_follow_max_seconds": 1.0}}])
async def test_a_follow_ends_after_its_lifetime(api: Any, jp_serverapp: Any) -> None:
    job = await api.submit(GATED)
    await api.wait(job["id"], {"Running"})
    started = time.monotonic()
    stream = await FollowStream.open(jp_serverapp, job["id"], timeout=5)
    try:
        assert await stream.read_to_end(timeout=5) == b""
    finally:
        stream.close()
    assert 0.9 < time.monotonic() - started < 3
    assert (await api.call("GET", f"jobs/{job['id']}"))["status"] == "Running"
    await api.call("POST", f"jobs/{job['id']}/cancel")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, in seconds."""
    with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_share(pid: int, seconds: float) -> float:
    """The share of one CPU the process used over the next ``seconds``."""
    before = cpu_seconds(pid)
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / seconds


def test_200_followers_leave_and_the_server_is_idle_again(tmp_path: Path) -> None:
    """Issue 8 item 7: 200 dropped followers of a quiet job kept a server at 40 % CPU."""
    config = server_config(tmp_path, reconcile_interval_seconds=60)
    server = ServerProcess(tmp_path, config).start()
    try:
        assert server.process is not None
        job = server.call(
            "POST",
            "jobs",
            {
                "name": "quiet",
                "group": "research",
                "instance_type": "cpu-half",
                "image": "base",
                "command": "echo started; sleep 30",
            },
            expect=201,
        )
        server.wait(job["id"], {"Running"})
        request = (
            f"GET /jupyterlab-jobs/jobs/{job['id']}/logs?follow=1 HTTP/1.1\r\n"
            f"Host: 127.0.0.1\r\nAuthorization: token {server.token}\r\n\r\n"
        ).encode()
        followers = []
        for _ in range(200):
            connection = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            connection.sendall(request)
            followers.append(connection)
        for connection in followers:
            received = b""
            while b"started\n" not in received:
                chunk = connection.recv(4096)
                assert chunk, f"the stream ended early: {received!r}"
                received += chunk
        following = cpu_share(server.process.pid, 1.0)
        for connection in followers:
            connection.close()
        time.sleep(1.0)
        after = cpu_share(server.process.pid, 2.0)
        assert after < 0.05, (
            f"the server used {after:.0%} of a CPU after its followers left "
            f"({following:.0%} while 200 followed)"
        )
        print(f"server CPU: {following:.1%} with 200 followers, {after:.1%} after they left")
    finally:
        server.stop()


async def test_one_watcher_wakes_every_follower_when_the_log_grows(tmp_path: Path) -> None:
    path = tmp_path / "output.log"
    path.write_bytes(b"")
    watchers = LogWatchers(asyncio.to_thread, logging.getLogger("test"))
    key = ("alice", "job")
    with (
        watchers.follow(key, path, lambda: False) as first,
        watchers.follow(key, path, lambda: False) as second,
    ):
        assert watchers.watching == 1
        for follower in (first, second):
            await follower.wait(5)  # the first check
        started = time.monotonic()
        await first.wait(0.3)
        assert time.monotonic() - started >= 0.25, "woken although the log did not grow"
        with path.open("ab") as log:
            log.write(b"more\n")
        started = time.monotonic()
        for follower in (first, second):
            await follower.wait(5)
        assert time.monotonic() - started < 1
        await watchers.stop()  # the server stops: its followers end
        assert first.job_over and second.job_over
    assert watchers.watching == 0


async def test_a_burst_of_followed_logs_checks_on_the_bounded_worker_threads(
    tmp_path: Path,
) -> None:
    """Each watcher's check runs on the pool it is given (the app's ``run_blocking``),
    never on asyncio's default pool, which grows with a burst of followed logs."""
    checked_on: list[str] = []
    loop = asyncio.get_running_loop()

    def is_job_over() -> bool:
        checked_on.append(threading.current_thread().name)
        return False

    with ThreadPoolExecutor(2, thread_name_prefix="bounded") as executor:

        async def run_blocking(work: Any, *args: Any) -> Any:
            return await loop.run_in_executor(executor, work, *args)

        watchers = LogWatchers(run_blocking, logging.getLogger("test"))
        with contextlib.ExitStack() as following:
            followers = [
                following.enter_context(
                    watchers.follow(("alice", f"job{n}"), tmp_path / f"{n}.log", is_job_over)
                )
                for n in range(50)
            ]
            for follower in followers:
                await follower.wait(5)  # each watcher's first check, with the job's status
            assert watchers.watching == 50
        await watchers.stop()
    assert len(checked_on) >= 50, "every watcher checked its job's status at least once"
    assert set(checked_on) <= {"bounded_0", "bounded_1"}, set(checked_on)

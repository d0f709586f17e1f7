"""Following a job's log: one watcher per followed log, shared by all of its followers.

A follower (an open ``logs?follow=1`` response) sleeps until its watcher wakes it. The
watcher is a single asyncio task per (user, job) that checks the log's size every
``CHECK_INTERVAL_SECONDS`` and whether the job is over every ``STATUS_EVERY`` checks,
both in one hop to the app's bounded worker threads (``run_blocking``: a burst of followed
logs queues there rather than growing a pool of its own), and wakes all of its followers
when the log grew or the job ended. It stops when its last follower leaves, so that N
followers of a quiet job cost one cheap check, not N polls of the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

CHECK_INTERVAL_SECONDS = 0.05
STATUS_EVERY = 10  # checks: whether the job is over is seen within half a second

Key = tuple[str, str]  # (user, job id): the job's state is read with the follower's rights
RunBlocking = Callable[..., Awaitable[Any]]


class Follower:
    """One stream's view of a watcher: woken when there may be more to send."""

    def __init__(self, watcher: LogWatcher) -> None:
        self._watcher = watcher
        self._woken = asyncio.Event()

    @property
    def job_over(self) -> bool:
        """The job ended (or its logs went away): what the log holds now is all of it."""
        return self._watcher.job_over

    def wake(self) -> None:
        self._woken.set()

    async def wait(self, timeout: float) -> None:
        """Until woken since the last wait, or ``timeout`` seconds passed."""
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._woken.wait(), timeout)
        self._woken.clear()


class LogWatcher:
    """Checks one log's size and its job's end for all of the log's followers."""

    def __init__(
        self,
        path: Path,
        is_job_over: Callable[[], bool],
        run_blocking: RunBlocking,
        log: logging.Logger,
    ) -> None:
        self.path = path
        self.is_job_over = is_job_over
        self.run_blocking = run_blocking
        self.log = log
        self.job_over = False
        self.followers: set[Follower] = set()
        self.task: asyncio.Task[None] | None = None

    def _size(self) -> int:
        try:
            return os.lstat(self.path).st_size
        except OSError:
            return -1

    def _check(self, with_status: bool) -> tuple[int, bool]:
        return self._size(), with_status and self.is_job_over()

    async def run(self) -> None:
        # The first check includes the job's status: following a job that already ended
        # ends at once.
        size: int | None = None
        checks = 0
        while True:
            try:
                new_size, over = await self.run_blocking(self._check, checks % STATUS_EVERY == 0)
            except Exception:
                # Followers fall back to their lifetime; the next check may succeed.
                self.log.exception("Checking the followed log %s failed", self.path)
            else:
                self.job_over = self.job_over or over
                if new_size != size or self.job_over:
                    size = new_size
                    for follower in self.followers:
                        follower.wake()
                if self.job_over:
                    return
            checks += 1
            await asyncio.sleep(CHECK_INTERVAL_SECONDS)


class LogWatchers:
    """The watchers of all followed logs of a server, owned by the app."""

    def __init__(self, run_blocking: RunBlocking, log: logging.Logger) -> None:
        self.run_blocking = run_blocking
        self.log = log
        self._watchers: dict[Key, LogWatcher] = {}

    @property
    def watching(self) -> int:
        """How many watcher tasks run now."""
        return sum(1 for w in self._watchers.values() if w.task and not w.task.done())

    @contextlib.contextmanager
    def follow(self, key: Key, path: Path, is_job_over: Callable[[], bool]) -> Iterator[Follower]:
        """Join the watcher of ``key`` (started if there is none) for as long as the block."""
        watcher = self._watchers.get(key)
        if watcher is None:
            watcher = self._watchers[key] = LogWatcher(
                path, is_job_over, self.run_blocking, self.log
            )
            watcher.task = asyncio.create_task(watcher.run(), name=f"jobs-log-watch-{key[1]}")
        follower = Follower(watcher)
        watcher.followers.add(follower)
        try:
            yield follower
        finally:
            watcher.followers.discard(follower)
            if not watcher.followers:
                del self._watchers[key]
                assert watcher.task is not None
                watcher.task.cancel()

    async def stop(self) -> None:
        """Stop every watcher (server shutdown); their followers end at their next wait."""
        watchers = list(self._watchers.values())
        for watcher in watchers:
            watcher.job_over = True
            for follower in watcher.followers:
                follower.wake()
            if watcher.task is not None:
                watcher.task.cancel()
        for watcher in watchers:
            if watcher.task is not None:
                with contextlib.suppress(asyncio.CancelledError):
                    await watcher.task

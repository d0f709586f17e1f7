"""The service's background work, as owned asyncio tasks that stop cleanly.

- a change worker: the backend's watch reports job ids; each is refreshed in a thread;
- reconcile: every ``reconcile_interval`` seconds, every active job is checked against
  reality (the safety net for lost notifications and for jobs that ended while no server
  was up) and the queue is dispatched;
- retention: every ``retention_interval`` seconds, old logs and records are removed;
- the scheduler (``scheduling/engine.py``): fires schedules' ticks when they are due.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from .scheduling.engine import SchedulerLoop
from .service import JobService


class BackgroundTasks:
    def __init__(
        self,
        service: JobService,
        *,
        run_blocking: Callable[..., Awaitable[Any]],
        reconcile_interval: float,
        retention_interval: float,
        log: logging.Logger,
        scheduler: SchedulerLoop | None = None,
    ) -> None:
        self.service = service
        self.scheduler = scheduler
        self.run_blocking = run_blocking
        self.reconcile_interval = reconcile_interval
        self.retention_interval = retention_interval
        self.log = log
        self._tasks: list[asyncio.Task[None]] = []
        self._changed: asyncio.Queue[str] = asyncio.Queue()

    def start(self) -> None:
        if self._tasks:
            return
        loop = asyncio.get_running_loop()

        def on_change(job_id: str) -> None:
            loop.call_soon_threadsafe(self._changed.put_nowait, job_id)

        self._tasks = [
            asyncio.create_task(self.service.backend.watch(on_change), name="jobs-watch"),
            asyncio.create_task(self._process_changes(), name="jobs-changes"),
            asyncio.create_task(
                self._every(self.reconcile_interval, self.service.reconcile), name="jobs-reconcile"
            ),
            asyncio.create_task(
                self._every(self.retention_interval, self.service.apply_retention),
                name="jobs-retention",
            ),
        ]
        if self.scheduler is not None:
            self._tasks.append(asyncio.create_task(self.scheduler.run(), name="jobs-scheduler"))
        for task in self._tasks:
            task.add_done_callback(self._report_crash)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    def _report_crash(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self.log.error("Background task %s stopped", task.get_name(), exc_info=task.exception())

    async def _process_changes(self) -> None:
        while True:
            ids = {await self._changed.get()}
            while not self._changed.empty():
                ids.add(self._changed.get_nowait())
            for job_id in ids:
                await self._in_thread(self.service.refresh, job_id)

    async def _every(self, seconds: float, work: Callable[[], Any]) -> None:
        while True:
            await self._in_thread(work)
            await asyncio.sleep(seconds)

    async def _in_thread(self, work: Callable[..., Any], *args: Any) -> None:
        """Run blocking service work on the app's thread pool; log failures, keep going."""
        try:
            await self.run_blocking(work, *args)
        except Exception:
            self.log.exception("jupyterlab-jobs background work %s failed", work.__name__)

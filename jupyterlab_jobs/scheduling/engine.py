"""The scheduling engine: fires due ticks through JobService, exactly once per tick.

- ``Engine.fire_due(now)`` (blocking, thread-safe) handles every enabled schedule whose
  next tick is due: it plans the due ticks by ``misfire_policy`` (``policies.py``), claims
  each in the store (unique on schedule and tick, so two servers or a restart never handle
  one twice), applies ``concurrency_policy`` and submits the run as the owner (whose
  membership and the group's catalog JobService checks again: a tick that cannot run is
  recorded as invalid and the schedule shows why), then moves the schedule on. A claim
  its server never recorded (it stopped in between) is settled by a later pass.
- ``SchedulerLoop`` is the owned asyncio task that sleeps until the next due tick, woken
  early when a schedule changes; ``Clock`` is injected so tests control time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from ..errors import JobsError
from ..models import SCHEDULE, Origin
from ..store.schedules import ScheduleStore
from . import policies
from .cron import Recurrence
from .model import FORBID, INVALID, MISSED, OVERLAP, REPLACE, Schedule
from .service import ScheduleService

# Ticks looked at per schedule and pass: a schedule that missed more (a minutely one
# after a long downtime) has the older ones passed over without a record each.
MAX_TICKS_PER_PASS = 1000
DUE_BATCH = 200
# The shortest sleep when a schedule is still due after a pass (its handling failed).
RETRY_SECONDS = 1.0
# A claimed tick records its run, or why it started none, within moments; one still
# unrecorded after this long was claimed by a server that stopped in between.
ABANDONED_CLAIM_SECONDS = 300.0


class Engine:
    def __init__(self, schedules: ScheduleService, *, log: logging.Logger | None = None) -> None:
        self.schedules = schedules
        self.store: ScheduleStore = schedules.store
        self.jobs = schedules.jobs
        self.log = log or logging.getLogger(__name__)

    def next_due_at(self) -> float | None:
        return self.store.next_due_at()

    def fire_due(self, now: float) -> int:
        """Handle every schedule due at ``now``; returns how many runs were started."""
        self.settle_abandoned_claims(now)
        started = 0
        while True:
            due = self.store.due(now, limit=DUE_BATCH)
            failed = False
            for schedule in due:
                try:
                    started += self._handle(schedule, now)
                except Exception:
                    failed = True
                    self.log.exception("Schedule %s: could not handle its ticks", schedule.id)
            # A failed schedule stays due: leave it to the next pass rather than spin.
            if len(due) < DUE_BATCH or failed:
                return started

    def settle_abandoned_claims(self, now: float) -> None:
        """Record the ticks whose claiming server stopped before recording them: their
        run if it was started, else a missed tick saying so (never silently lost)."""
        claimed_before = now - ABANDONED_CLAIM_SECONDS
        for schedule_id, tick in self.store.unrecorded_claims(claimed_before, DUE_BATCH):
            run = self.store.run_for_tick(schedule_id, tick)
            if run is not None:
                self.store.record_tick(schedule_id, tick, job_id=run.id, if_unrecorded=True)
            else:
                self.store.record_tick(
                    schedule_id,
                    tick,
                    reason=MISSED,
                    message="Not run: the server that was starting it stopped first",
                    if_unrecorded=True,
                )

    def _handle(self, schedule: Schedule, now: float) -> int:
        assert schedule.next_run_at is not None
        try:
            recurrence = Recurrence.parse(schedule.cron, schedule.timezone)
        except JobsError as error:
            # E.g. a zone that this machine's time zone data no longer has.
            self.store.update(schedule.id, next_run_at=None, invalid_reason=error.message)
            return 0
        due: list[float] = []
        tick: float | None = schedule.next_run_at
        while tick is not None and tick <= now and len(due) < MAX_TICKS_PER_PASS:
            due.append(tick)
            tick = self.schedules.next_tick(recurrence, tick, schedule.start_at, schedule.end_at)
        if tick is not None and tick <= now:  # more than a pass' worth: jump to now
            tick = self.schedules.next_tick(recurrence, now, schedule.start_at, schedule.end_at)
        plan = policies.plan(due, now, schedule.misfire_policy, schedule.starting_deadline_seconds)
        for missed in plan.missed:
            if self.store.claim_tick(schedule.id, missed, now):
                self.store.record_tick(
                    schedule.id,
                    missed,
                    reason=MISSED,
                    message=f"Not run: no server could start it within "
                    f"{schedule.starting_deadline_seconds} s ({schedule.misfire_policy})",
                )
        started = 0
        for run_tick in plan.run:
            if self.store.claim_tick(schedule.id, run_tick, now):
                started += self._run(schedule, run_tick)
        self.store.advance(
            schedule.id, schedule.next_run_at, next_run_at=tick, last_tick_at=due[-1]
        )
        return started

    def _run(self, schedule: Schedule, tick: float) -> int:
        active = self.store.active_runs(schedule.id)
        if active and schedule.concurrency_policy == FORBID:
            self.store.record_tick(
                schedule.id,
                tick,
                reason=OVERLAP,
                message=f"Skipped: run {active[0].id} is still {active[0].status}",
            )
            return 0
        origin = Origin(SCHEDULE, schedule.id, schedule.name, tick)
        try:
            job = self.jobs.create(schedule.user, self.schedules.job_body(schedule), origin=origin)
        except JobsError as error:
            self.store.record_tick(schedule.id, tick, reason=INVALID, message=error.message)
            self.store.update(schedule.id, invalid_reason=error.message)
            return 0
        self.store.record_tick(schedule.id, tick, job_id=job.id)
        if schedule.invalid_reason:
            self.store.update(schedule.id, invalid_reason=None)
        if schedule.concurrency_policy == REPLACE:
            for previous in active:
                try:
                    self.jobs.cancel(schedule.user, previous.id)
                except JobsError as error:  # it ended meanwhile
                    self.log.info("Schedule %s: %s", schedule.id, error.message)
        return 1


class Clock(Protocol):
    def now(self) -> float: ...

    async def sleep_until(self, moment: float, wake: asyncio.Event) -> None:
        """Return at ``moment`` or when ``wake`` is set, whichever is first."""


class WallClock:
    def now(self) -> float:
        return time.time()

    async def sleep_until(self, moment: float, wake: asyncio.Event) -> None:
        delay = moment - time.time()
        if delay <= 0:
            return
        # asyncio.TimeoutError: not the builtin TimeoutError before Python 3.11.
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(wake.wait(), delay)


class SchedulerLoop:
    """The owned task that fires ticks. ``recheck_seconds`` bounds a sleep, so schedules
    changed by another server on a shared store are seen without a wake-up from it."""

    def __init__(
        self,
        engine: Engine,
        *,
        run_blocking: Callable[..., Awaitable[Any]],
        clock: Clock | None = None,
        recheck_seconds: float = 60.0,
        log: logging.Logger,
    ) -> None:
        self.engine = engine
        self.run_blocking = run_blocking
        self.clock: Clock = clock or WallClock()
        self.recheck_seconds = recheck_seconds
        self.log = log
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        """Thread-safe: a schedule changed; look again for the next due tick."""
        loop, event = self._loop, self._wake
        if loop is not None and event is not None and not loop.is_closed():
            loop.call_soon_threadsafe(event.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        while True:
            self._wake.clear()
            pass_time = self.clock.now()
            try:
                await self.run_blocking(self.engine.fire_due, pass_time)
                next_due = await self.run_blocking(self.engine.next_due_at)
            except Exception:
                self.log.exception("jupyterlab-jobs scheduler pass failed")
                next_due = pass_time
            now = self.clock.now()
            moment = now + self.recheck_seconds
            if next_due is not None and next_due <= pass_time:
                # Still due after the pass: its handling failed. Retry, but do not spin.
                moment = now + RETRY_SECONDS
            elif next_due is not None:
                moment = min(moment, next_due)
            await self.clock.sleep_until(moment, self._wake)

"""The queue: queued jobs start first-in first-out while the backend has capacity.

A job is claimed under a lock: one thread of this process at a time, inside a store
transaction that serializes with every other server's claims (SQLite: the database's
write lock; PostgreSQL: an advisory lock), so capacity is counted over all servers' jobs
and a job is claimed, hence started, once. The backend's ``start`` (a Kubernetes API
call, or a local launch that may wait up to a minute) runs after the claim, outside the
lock: a slow start holds up no other dispatch, cancel or list.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable

from .backends.base import Backend, BackendError, JobSpec
from .models import FAILED, PENDING, PREPARING, Job
from .store import Store

Claim = tuple[Job, JobSpec, list[Job]]


class Dispatcher:
    def __init__(
        self,
        *,
        store: Store,
        backend: Backend,
        spec_for: Callable[[Job], JobSpec],
        log: logging.Logger,
    ) -> None:
        self.store = store
        self.backend = backend
        self.spec_for = spec_for
        self.log = log
        self._claim_lock = threading.Lock()

    def dispatch(self) -> None:
        """Claim and start queued jobs until none is left or capacity is full."""
        while True:
            with self._claim_lock:
                claim = self._claim_next()
            if claim is None:
                return
            self._start(*claim)

    def _claim_next(self) -> Claim | None:
        """Mark the oldest startable pending job Preparing; None when none can start now.

        A job whose catalog entries are gone fails here and the next one is tried.
        """
        if not self._may_start():
            return None
        with self.store.transaction(lock_queue=True):
            while True:
                pending = self.store.queued(limit=1)
                if not pending:
                    return None
                job = pending[0]
                try:
                    spec = self.spec_for(job)
                except BackendError as error:
                    self.store.finish(job.id, FAILED, message=str(error), finished_at=time.time())
                    continue
                active = self.store.active()
                problem = self.backend.capacity_problem(spec, active)
                if problem:
                    self.store.set_waiting_message(problem)
                    return None
                # Devices are reserved in the claim's transaction (no other server hands
                # them out); ``start`` sees them in spec.job.backend_state.
                claim = {"claimed_at": time.time(), **self.backend.reserve(spec, active)}
                job.backend_state = json.dumps(claim)
                claimed = self.store.update(
                    job.id,
                    only_if_status=[PENDING],
                    status=PREPARING,
                    message="Preparing the job's workspace",
                    backend_state=job.backend_state,
                )
                if claimed:
                    return job, spec, active

    def _may_start(self) -> bool:
        """A look without the queue's lock: False when the queue is empty or full.

        A "no" needs no lock: whoever ends an active job or queues one writes that first
        and dispatches after, so one of two racing dispatches sees the other's write. Most
        dispatches (a submit while the queue is full, a job's end with nothing queued) so
        skip the locked transaction.
        """
        pending = self.store.queued(limit=1)
        if not pending:
            return False
        try:
            spec = self.spec_for(pending[0])
        except BackendError:
            return True  # the locked claim fails it
        problem = self.backend.capacity_problem(spec, self.store.active())
        if problem:
            self.store.set_waiting_message(problem)
        return problem is None

    def _start(self, job: Job, spec: JobSpec, active: list[Job]) -> None:
        try:
            started = self.backend.start(spec, active)
        except Exception as error:
            self.log.warning("Job %s could not start: %s", job.id, error)
            message = str(error) if isinstance(error, BackendError) else f"Could not start: {error}"
            self.store.finish(job.id, FAILED, message=message, finished_at=time.time())
            return
        self.store.update(
            job.id,
            only_if_status=[PREPARING],
            status=started.status,
            message=started.message,
            started_at=started.started_at,
            backend_state=started.backend_state,
        )
        latest = self.store.get(job.id)
        if latest is not None and latest.cancel_requested_by:
            self.backend.cancel(latest)

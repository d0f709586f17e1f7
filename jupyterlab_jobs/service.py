"""JobService: who may do what, validation against the catalog, and the jobs' lifetime.

Plain, blocking, thread-safe Python with no web framework: the REST handlers call it from
worker threads, and so can a CLI or a hub service. Every method that takes ``user``
authorizes: a user sees and acts on jobs of their own groups only, and a job of another
group is reported as unknown (never revealed).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .backends.base import Backend, BackendError, JobSpec, Outcome, Progress
from .catalog import Catalog
from .cursors import KEY_BYTES, CursorCodec
from .endings import failure_log_tail, final_status
from .errors import Conflict, Forbidden, InvalidInput, LogsGone, NotFound, quoted
from .logs import LogRemoved, removed_early
from .models import (
    ACTIVE_STATUSES,
    MANUAL,
    PENDING,
    RERUN,
    STATUSES,
    Job,
    Origin,
    human_duration,
)
from .notebook_jobs import NotebookSnapshots
from .options import user_options
from .queue import Dispatcher
from .store import Store
from .validation import MAX_NAME_LENGTH, JobRequest, job_request

MAX_PAGE_SIZE = 200
WAITING_MESSAGE = "Waiting to start"


def not_a_member(group: str) -> Forbidden:
    """The answer for a group the user may not use, whether it exists or not."""
    return Forbidden(f"You are not a member of group {quoted(group)}", field="group")


class JobService:
    """Owns the policy: authorization, validation, queueing, lifetime and retention."""

    def __init__(
        self,
        *,
        store: Store,
        catalog: Catalog,
        backend: Backend,
        groups_for: Callable[[str], list[str]],
        admin_groups_for: Callable[[str], list[str]] | None = None,
        current_groups_for: Callable[[str], list[str]] | None = None,
        max_runtime_seconds: int = 86400,
        log_retention_seconds: int = 7 * 86400,
        record_retention_seconds: int = 0,
        groups_cache_seconds: float = 30.0,
        notebook_root: Path | None = None,
        snapshots_dir: Path | None = None,
        cursor_key: bytes | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self.store = store
        # Without the data directory's key, cursors are valid for this instance only.
        self.cursors = CursorCodec(cursor_key or secrets.token_bytes(KEY_BYTES))
        if snapshots_dir is None:
            if store.path is None:
                raise ValueError("snapshots_dir is needed when the store is not a SQLite file")
            snapshots_dir = store.path.parent / "notebooks"
        self.notebooks = NotebookSnapshots(snapshots_dir, notebook_root)
        self.catalog = catalog
        self.backend = backend
        self._groups_for = groups_for
        self._admin_groups_for = admin_groups_for
        self._current_groups_for = current_groups_for or groups_for
        self.max_runtime_seconds = max_runtime_seconds
        self.log_retention_seconds = log_retention_seconds
        self.record_retention_seconds = record_retention_seconds
        self.groups_cache_seconds = groups_cache_seconds
        self.log = log or logging.getLogger(__name__)
        self._groups_cache: dict[str, tuple[float, list[str]]] = {}
        self.queue = Dispatcher(store=store, backend=backend, spec_for=self._spec, log=self.log)

    # -- who may do what ---------------------------------------------------------------
    def groups_of(self, user: str, *, current: bool = False) -> list[str]:
        """The catalog groups ``user`` belongs to: the provider's answer, cached briefly,
        or with ``current`` asked again (work done without a request of theirs)."""
        now = time.monotonic()
        cached = self._groups_cache.get(user)
        if not current and cached and now - cached[0] < self.groups_cache_seconds:
            return cached[1]
        configured = {g.name for g in self.catalog.groups}
        ask = self._current_groups_for if current else self._groups_for
        groups = sorted(set(ask(user)) & configured)
        self._groups_cache[user] = (now, groups)
        return groups

    def visible_groups(self, user: str) -> list[str]:
        """The groups whose jobs ``user`` sees and may cancel: their own, and those they
        administer (``*``: every group). Creating stays limited to their own groups."""
        administered = self._admin_groups_for(user) if self._admin_groups_for else []
        configured = {g.name for g in self.catalog.groups}
        if "*" in administered:
            return sorted(configured)
        return sorted(set(self.groups_of(user)) | (set(administered) & configured))

    def get(self, user: str, job_id: str) -> Job:
        job = self.store.get(job_id) if len(job_id) <= 64 else None
        if job is None or job.group not in self.visible_groups(user):
            raise NotFound(f"No job with id {quoted(job_id)}")
        return job

    def options(self, user: str) -> dict[str, Any]:
        """What ``user`` may choose from: their groups and what each allows."""
        return user_options(
            self.catalog,
            user,
            self.groups_of(user),
            max_runtime_seconds=self.max_runtime_seconds,
            log_retention_seconds=self.log_retention_seconds,
        )

    # -- listing -----------------------------------------------------------------------
    def list_jobs(
        self,
        user: str,
        *,
        group: str | None = None,
        mine: bool = False,
        statuses: Sequence[str] = (),
        q: str = "",
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[Job], str | None]:
        groups = self.visible_groups(user)
        if group is not None:
            if group not in groups:
                raise not_a_member(group)
            groups = [group]
        unknown = sorted(set(statuses) - set(STATUSES))
        if unknown:
            raise InvalidInput(
                f"unknown status {quoted(unknown[0])}; use one of {', '.join(STATUSES)}",
                field="status",
            )
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE_SIZE}", field="limit")
        if len(q) > MAX_NAME_LENGTH:
            raise InvalidInput(f"q must be at most {MAX_NAME_LENGTH} characters", field="q")
        # The cursor is bound to the list it was made for: this user, these filters.
        scope = json.dumps([user, group, mine, sorted(set(statuses)), q])
        jobs, position = self.store.page(
            groups,
            user=user if mine else None,
            statuses=sorted(set(statuses)),
            name_contains=q,
            limit=limit,
            cursor=self.cursors.decode(cursor, scope) if cursor else None,
        )
        return jobs, self.cursors.encode(position, scope) if position else None

    # -- creating ----------------------------------------------------------------------
    def _spec(self, job: Job) -> JobSpec:
        """Resolve the job's catalog entries (they may have changed since submission)."""
        group = self.catalog.group(job.group)
        instance_type = self.catalog.instance_type(job.instance_type)
        image = self.catalog.image(job.image)
        if group is None or instance_type is None or image is None:
            raise BackendError("The job's group, instance type or image is no longer configured")
        datasets = [d for d in map(self.catalog.dataset, group.datasets) if d is not None]
        env = {
            "PRIMEHUB_USER": job.user,
            "PRIMEHUB_GROUP": job.group,
            "JUPYTERHUB_USER": job.user,
            "JOB_ID": job.id,
            "JOB_NAME": job.name,
            "JOB_GROUP": job.group,
            "JOB_USER": job.user,
            "INSTANCE_TYPE": job.instance_type,
            "IMAGE_NAME": job.image,
            "PYTHONUNBUFFERED": "1",
        }
        files = self.notebooks.files_of(job) if job.notebook else {}
        return JobSpec(job, instance_type, image, datasets, env, files)

    def _check_choices(self, user: str, request: JobRequest, *, current: bool) -> None:
        # An unknown group is answered like one the user is not in: which groups exist
        # is not revealed.
        group = self.catalog.group(request.group)
        if group is None or group.name not in self.groups_of(user, current=current):
            raise not_a_member(request.group)
        if request.instance_type not in group.instance_types:
            raise InvalidInput(
                f"Instance type {quoted(request.instance_type)} is not available in group "
                f"{group.name!r}; choose one of {', '.join(group.instance_types) or 'none'}",
                field="instance_type",
            )
        if request.image not in group.images:
            raise InvalidInput(
                f"Image {quoted(request.image)} is not available in group {group.name!r}; "
                f"choose one of {', '.join(group.images) or 'none'}",
                field="image",
            )

    def check_request(self, user: str, body: Any, *, current: bool = False) -> JobRequest:
        """The request a job body makes, checked for ``user`` (schedules check theirs);
        ``current``: with their groups asked again."""
        request = job_request(body)
        self._check_choices(user, request, current=current)
        return request

    def create(
        self, user: str, body: Any, *, rerun: Job | None = None, origin: Origin | None = None
    ) -> Job:
        # A schedule's tick acts for its owner without a request of theirs: their
        # membership is asked again, not taken from a cache or their last request.
        tick = origin is not None and origin.scheduled_for is not None
        request = self.check_request(user, body, current=tick)
        instance_type = self.catalog.instance_type(request.instance_type)
        assert instance_type is not None  # checked against the group above
        job = Job(
            id=secrets.token_hex(8),
            name=request.name,
            user=user,
            group=request.group,
            instance_type=request.instance_type,
            image=request.image,
            command=request.command,
            message=WAITING_MESSAGE,
            rerun_of=rerun.id if rerun else None,
            trigger=origin.trigger if origin else RERUN if rerun else MANUAL,
            schedule_id=origin.schedule_id if origin else None,
            schedule_name=origin.schedule_name if origin else None,
            scheduled_for=origin.scheduled_for if origin else None,
            max_runtime_seconds=self.max_runtime_seconds,
            cpu=instance_type.cpu,
        )
        content = None
        if request.notebook is not None:
            content = self.notebooks.content_for(request, rerun)
            self.notebooks.prepare(job, request, self.backend.group_dir(job.group))
        try:
            if content is not None:
                # Written before `validate`, which may look at the files (their size).
                self.notebooks.write(job, content)
            problem = self.backend.validate(self._spec(job))
            if problem:
                raise InvalidInput(problem, field="notebook" if content else "instance_type")
            with self.store.transaction() as db:
                self.store.insert(job, db)
        except BaseException:
            # A refused request leaves nothing behind.
            self.notebooks.remove(job)
            raise
        self.dispatch()
        return self.store.get(job.id) or job

    def rerun(self, user: str, job_id: str) -> Job:
        old = self.get(user, job_id)
        body: dict[str, Any] = {
            "name": old.name,
            "group": old.group,
            "instance_type": old.instance_type,
            "image": old.image,
        }
        if old.notebook:
            body.update(notebook=old.notebook, parameters=json.loads(old.parameters or "{}"))
        else:
            body["command"] = old.command
        return self.create(user, body, rerun=old)

    # -- the queue ---------------------------------------------------------------------
    def dispatch(self) -> None:
        """Start queued jobs first-in first-out while the backend has capacity (queue.py)."""
        self.queue.dispatch()

    # -- cancel, outcome ---------------------------------------------------------------
    def cancel(self, user: str, job_id: str) -> Job:
        job = self.get(user, job_id)
        if job.is_final:
            raise Conflict(f"Job {job.name!r} already ended ({job.status}); nothing to cancel")
        if self.store.cancel_queued(
            job.id,
            message=f"Cancelled by {user}",
            finished_at=time.time(),
            cancel_requested_by=user,
        ):
            self.dispatch()
            return self.get(user, job_id)
        self.store.update(
            job.id,
            only_if_status=(PENDING, *ACTIVE_STATUSES),
            cancel_requested_by=user,
            message=f"Cancelling (requested by {user})",
        )
        job = self.get(user, job_id)
        if not job.is_final:
            self.backend.cancel(job)
        return job

    def refresh(self, job_id: str) -> None:
        """Ask the backend whether an active job ended, and record how."""
        job = self.store.get(job_id)
        if job is None or job.is_final or not job.backend_state:
            return
        outcome = self.backend.poll(job)
        if isinstance(outcome, Progress):
            if (outcome.status, outcome.message) != (job.status, job.message):
                self.store.update(
                    job.id,
                    only_if_status=(PENDING, *ACTIVE_STATUSES),
                    status=outcome.status,
                    message=outcome.message,
                    started_at=outcome.started_at or job.started_at,
                )
        elif outcome is not None:
            self._finish(job, outcome)
            self.dispatch()

    def reconcile(self) -> None:
        """Bring every non-final job in line with reality (also after a restart)."""
        for job in self.store.active():
            try:
                self.refresh(job.id)
            except Exception:
                self.log.exception("Could not reconcile job %s", job.id)
        self.dispatch()

    def _finish(self, job: Job, outcome: Outcome) -> None:
        log_tail = failure_log_tail(outcome, self.backend.log_path(job))
        status, message = final_status(job, outcome, self._memory_of(job), log_tail)
        self.store.finish(
            job.id,
            status,
            message=message,
            exit_code=outcome.exit_code,
            started_at=outcome.started_at if outcome.started_at is not None else job.started_at,
            finished_at=outcome.finished_at,
        )

    def _memory_of(self, job: Job) -> str:
        instance_type = self.catalog.instance_type(job.instance_type)
        return instance_type.memory if instance_type else "unknown"

    # -- logs and retention ------------------------------------------------------------
    def log_file(self, user: str, job_id: str) -> tuple[Job, Path]:
        job = self.get(user, job_id)
        if not job.logs_available:
            raise LogsGone(
                f"The logs of job {job.name!r} were removed by the retention policy, "
                f"{human_duration(self.log_retention_seconds)} after it finished."
            )
        path = self.backend.log_path(job)
        if removed_early(job, path):
            raise LogRemoved(job)
        return job, path

    def get_reported(self, user: str, job_id: str) -> Job:
        """The job as the API shows it: ``logs_available`` is false once its log file was
        removed early. Not stored: its artifacts and resource use are still kept, and a
        log an administrator puts back is served again."""
        job = self.get(user, job_id)
        if removed_early(job, self.backend.log_path(job)):
            return dataclasses.replace(job, logs_available=False)
        return job

    def apply_retention(self, now: float | None = None) -> tuple[int, int]:
        """Remove logs past ``log_retention_seconds``, records past ``record_retention_seconds``.

        Returns (jobs whose logs were removed, records removed).
        """
        now = time.time() if now is None else now
        expired_logs = self.store.finished_before(
            now - self.log_retention_seconds, logs_available=True
        )
        for job in expired_logs:
            self.backend.remove(job)
            self.store.update(job.id, logs_available=False)
        removed = 0
        if self.record_retention_seconds > 0:
            old = self.store.finished_before(now - self.record_retention_seconds)
            for job in old:
                self.backend.remove(job)
                self.notebooks.remove(job)
            self.store.delete([job.id for job in old])
            removed = len(old)
        return len(expired_logs), removed

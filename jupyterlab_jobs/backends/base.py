"""The Backend interface: what the service needs from whatever runs the jobs."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

from traitlets import Int, Unicode
from traitlets.config import LoggingConfigurable

from ..catalog import Catalog, Dataset, Image, InstanceType
from ..models import RUNNING, Job

# Reasons a backend reports a job ended; the service turns them into statuses and messages.
EXITED = "exited"
DEADLINE = "deadline"
CANCELLED = "cancelled"
OUT_OF_MEMORY = "memory"
VANISHED = "vanished"


class BackendError(Exception):
    """The backend could not start the job; ``str(error)`` tells the user why."""


@dataclasses.dataclass
class JobSpec:
    """Everything a backend needs to run one job, resolved from the catalog."""

    job: Job
    instance_type: InstanceType
    image: Image
    datasets: list[Dataset]
    env: dict[str, str]
    # Files placed in the job's working directory under `.job/` before it starts
    # (name -> file on the server), e.g. a notebook snapshot and its parameters.
    files: dict[str, Path] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class Started:
    """What ``start`` reports: the job's status now (Running locally; Pending or Preparing
    on a cluster that still schedules it), when it started running, and the backend's own
    handle for the job, kept by the service in ``Job.backend_state``."""

    backend_state: str
    status: str = RUNNING
    started_at: float | None = None
    message: str = ""


@dataclasses.dataclass
class Progress:
    """A job that has not ended but changed: Pending -> Preparing -> Running."""

    status: str
    message: str = ""
    started_at: float | None = None


@dataclasses.dataclass
class Outcome:
    """How a job ended. ``message`` is empty when the service's default fits."""

    reason: str
    exit_code: int | None
    started_at: float | None
    finished_at: float
    message: str = ""


class Backend(LoggingConfigurable):
    """Base class of the job runners. Methods are blocking; the service runs them in
    worker threads. ``watch`` is the one coroutine: it runs as a task owned by the app."""

    data_dir = Unicode(help="Set by JobsApp: the directory shared by all servers.")

    max_artifact_bytes = Int(
        1024**3,
        min=0,
        help="Most bytes of artifacts (files a job leaves in $HOME/artifacts) kept per job; "
        "files past it are not kept, and the job's artifact list names them.",
    ).tag(config=True)

    @property
    def jobs_dir(self) -> Path:
        return Path(self.data_dir) / "jobs"

    def job_dir(self, job: Job) -> Path:
        return self.jobs_dir / job.id

    def log_path(self, job: Job) -> Path:
        """Where the job's combined output is (or is copied to when the job ends)."""
        return self.job_dir(job) / "output.log"

    def artifacts_dir(self, job: Job) -> Path | None:
        """Where the server sees the job's artifacts; None where they are not kept."""
        return None

    def artifacts_manifest(self, job: Job) -> Path | None:
        """The file (written as the job ends) that names artifacts not kept, if any."""
        return None

    def usage_file(self, job: Job) -> Path | None:
        """The job's sampled resource use (see backends/usage_log.py), if it is kept."""
        return None

    def group_dir(self, group: str) -> Path | None:
        """Where the server itself sees the group's persistent directory, if it can."""
        return None

    def check_catalog(self, catalog: Catalog) -> None:
        """Raise ValueError, at start-up, for a catalog this backend cannot serve."""

    def validate(self, spec: JobSpec) -> str | None:
        """A reason this job could never run here, or None; raises InvalidInput naming
        the field instead when the problem is with one other than the instance type."""
        return None

    def capacity_problem(self, spec: JobSpec, active: list[Job]) -> str | None:
        """Why the job must wait for capacity now (shown as its message), or None."""
        return None

    def reserve(self, spec: JobSpec, active: list[Job]) -> dict[str, Any]:
        """Devices handed to the job as the service claims it (after ``capacity_problem``
        found room, in the claim's transaction): recorded at once in its backend_state,
        so no other server hands them out, and seen by ``start`` in
        ``spec.job.backend_state``."""
        return {}

    def start(self, spec: JobSpec, active: list[Job]) -> Started:
        raise NotImplementedError

    def confirm_started(self, job: Job) -> None:
        """Called once the store holds what ``start`` returned (default: nothing to do)."""

    def cancel(self, job: Job) -> None:
        """Ask the job to stop: graceful first, then forced after the grace period."""
        raise NotImplementedError

    def poll(self, job: Job) -> Outcome | Progress | None:
        """How a job ended (Outcome), a change of a running job (Progress), or None."""
        raise NotImplementedError

    def remove(self, job: Job) -> None:
        """Delete the job's logs and leftover files (log retention)."""
        raise NotImplementedError

    async def watch(self, on_change: Callable[[str], None]) -> None:
        """Call ``on_change(job_id)`` when a job may have changed, until cancelled."""
        await asyncio.Event().wait()

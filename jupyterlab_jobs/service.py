"""JobService: who may do what, validation against the catalog, and the jobs' lifetime.

Plain, blocking, thread-safe Python with no web framework: the REST handlers call it from
worker threads, and so can a CLI or a hub service. Every method that takes ``user``
authorizes: a user sees and acts on jobs of their own groups only, and a job of another
group is reported as unknown (never revealed).
"""

from __future__ import annotations

import json
import keyword
import logging
import secrets
import shlex
import shutil
import threading
import time
import unicodedata
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
)

from .backends.base import CANCELLED as CANCELLED_REASON
from .backends.base import (
    DEADLINE,
    EXITED,
    OUT_OF_MEMORY,
    Backend,
    BackendError,
    JobSpec,
    Outcome,
    Progress,
)
from .catalog import Catalog
from .errors import Conflict, Forbidden, InvalidInput, LogsGone, NotFound
from .models import (
    ACTIVE_STATUSES,
    CANCELLED,
    FAILED,
    PENDING,
    PREPARING,
    STATUSES,
    SUCCEEDED,
    Job,
    human_duration,
)
from .store import Store

MAX_NAME_LENGTH = 200
MAX_COMMAND_LENGTH = 64 * 1024
MAX_PAGE_SIZE = 200
MAX_PARAMETERS_BYTES = 64 * 1024
MAX_NOTEBOOK_BYTES = 32 * 1024 * 1024
NOTEBOOK_RUNNER = Path(__file__).with_name("run_notebook.py")
WAITING_MESSAGE = "Waiting to start"


def _no_control_characters(value: str, *, allow_newlines: bool) -> str:
    allowed = "\n\t\r" if allow_newlines else ""
    if "\x00" in value or any(unicodedata.category(c) == "Cc" and c not in allowed for c in value):
        raise ValueError("must not contain control characters")
    return value


class JobRequest(BaseModel):
    """The body of POST jobs. Unknown fields and wrong types are rejected.

    A job runs either ``command`` or, for a notebook job, ``notebook`` (a path under the
    Jupyter root directory) with optional ``parameters``.
    """

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    group: str = Field(min_length=1, max_length=200)
    instance_type: str = Field(min_length=1, max_length=200)
    image: str = Field(min_length=1, max_length=200)
    command: str = Field(default="", max_length=MAX_COMMAND_LENGTH)
    notebook: str | None = Field(default=None, min_length=1, max_length=1024)
    # The notebook itself, for a server that cannot see the user's files (the hub service).
    notebook_content: str | None = Field(default=None, max_length=MAX_NOTEBOOK_BYTES)
    parameters: dict[str, Any] | None = None

    @field_validator("name", "group", "instance_type", "image", "notebook")
    @classmethod
    def _single_line(cls, value: str | None) -> str | None:
        return None if value is None else _no_control_characters(value, allow_newlines=False)

    @field_validator("command")
    @classmethod
    def _command_text(cls, value: str) -> str:
        return _no_control_characters(value, allow_newlines=True)

    @field_validator("parameters")
    @classmethod
    def _parameters_are_names(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        for name in value:
            if not name.isidentifier() or keyword.iskeyword(name):
                raise ValueError(f"{name[:50]!r} is not a valid Python variable name")
        if len(json.dumps(value)) > MAX_PARAMETERS_BYTES:
            raise ValueError(f"must be at most {MAX_PARAMETERS_BYTES} bytes as JSON")
        return value

    def check_kind(self) -> None:
        """A job runs a command or a notebook: exactly one of them."""
        if self.notebook is None and "command" not in self.model_fields_set:
            raise InvalidInput("command is required", field="command")
        if self.notebook is None and not self.command:
            raise InvalidInput("command must not be empty", field="command")
        if self.notebook is not None and self.command:
            raise InvalidInput("give either a command or a notebook, not both", field="notebook")
        if self.notebook is None and self.notebook_content is not None:
            raise InvalidInput("notebook_content needs notebook (its path)", field="notebook")
        if self.notebook is None and self.parameters is not None:
            raise InvalidInput("parameters are only for notebook jobs", field="parameters")


def _describe(error: ValidationError) -> InvalidInput:
    """The first problem of a pydantic error, in words, naming the field."""
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or None
    kind = first["type"]
    context = first.get("ctx", {})
    if kind == "missing":
        text = f"{field} is required"
    elif kind == "extra_forbidden":
        text = f"unknown field {field!r}"
    elif kind == "string_too_short":
        text = f"{field} must not be empty"
    elif kind == "string_too_long":
        text = f"{field} must be at most {context.get('max_length')} characters"
    elif kind == "dict_type":
        text = f"{field} must be a JSON object"
    elif kind in ("string_type", "model_type"):
        text = f"{field} must be a string" if field else "the body must be a JSON object"
    else:
        text = f"{field}: {first['msg']}" if field else first["msg"]
    return InvalidInput(text.replace("Value error, ", ""), field=field)


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
        max_runtime_seconds: int = 86400,
        log_retention_seconds: int = 7 * 86400,
        record_retention_seconds: int = 0,
        groups_cache_seconds: float = 30.0,
        notebook_root: Path | None = None,
        snapshots_dir: Path | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self.store = store
        self.notebook_root = notebook_root
        self.snapshots_dir = snapshots_dir or store.path.parent / "notebooks"
        self.catalog = catalog
        self.backend = backend
        self._groups_for = groups_for
        self._admin_groups_for = admin_groups_for
        self.max_runtime_seconds = max_runtime_seconds
        self.log_retention_seconds = log_retention_seconds
        self.record_retention_seconds = record_retention_seconds
        self.groups_cache_seconds = groups_cache_seconds
        self.log = log or logging.getLogger(__name__)
        self._groups_cache: dict[str, tuple[float, list[str]]] = {}
        self._dispatch_lock = threading.Lock()

    # -- who may do what ---------------------------------------------------------------
    def groups_of(self, user: str) -> list[str]:
        """The catalog groups ``user`` belongs to (the provider's answer, cached briefly)."""
        now = time.monotonic()
        cached = self._groups_cache.get(user)
        if cached and now - cached[0] < self.groups_cache_seconds:
            return cached[1]
        configured = {g.name for g in self.catalog.groups}
        groups = sorted(set(self._groups_for(user)) & configured)
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
            raise NotFound(f"No job with id {job_id!r}")
        return job

    def options(self, user: str) -> dict[str, Any]:
        """What ``user`` may choose from: their groups and what each allows."""
        groups = [self.catalog.group(name) for name in self.groups_of(user)]
        return {
            "user": user,
            "groups": [
                {
                    "name": g.name,
                    "display_name": g.display_name,
                    "instance_types": g.instance_types,
                    "images": g.images,
                    "datasets": g.datasets,
                }
                for g in groups
                if g is not None
            ],
            "instance_types": [
                {
                    "name": i.name,
                    "display_name": i.display_name,
                    "description": i.description,
                    "cpu": i.cpu,
                    "memory": i.memory,
                    "gpu": i.gpu,
                }
                for i in self.catalog.instance_types
            ],
            "images": [
                {"name": i.name, "display_name": i.display_name, "description": i.description}
                for i in self.catalog.images
            ],
            "max_runtime_seconds": self.max_runtime_seconds,
            "log_retention_seconds": self.log_retention_seconds,
        }

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
                raise Forbidden(f"You are not a member of group {group!r}", field="group")
            groups = [group]
        unknown = sorted(set(statuses) - set(STATUSES))
        if unknown:
            raise InvalidInput(
                f"unknown status {unknown[0]!r}; use one of {', '.join(STATUSES)}", field="status"
            )
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE_SIZE}", field="limit")
        if len(q) > MAX_NAME_LENGTH:
            raise InvalidInput(f"q must be at most {MAX_NAME_LENGTH} characters", field="q")
        return self.store.page(
            groups,
            user=user if mine else None,
            statuses=sorted(set(statuses)),
            name_contains=q,
            limit=limit,
            cursor=cursor,
        )

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
        files: dict[str, Path] = {}
        if job.notebook:
            snapshot = self._snapshot_of(job)
            files = {
                snapshot.name: snapshot,
                "parameters.json": snapshot.with_name("parameters.json"),
                NOTEBOOK_RUNNER.name: NOTEBOOK_RUNNER,
            }
        return JobSpec(job, instance_type, image, datasets, env, files)

    def _check_choices(self, user: str, request: JobRequest) -> None:
        group = self.catalog.group(request.group)
        if group is None:
            raise InvalidInput(f"Unknown group {request.group!r}", field="group")
        if group.name not in self.groups_of(user):
            raise Forbidden(f"You are not a member of group {group.name!r}", field="group")
        if request.instance_type not in group.instance_types:
            raise InvalidInput(
                f"Instance type {request.instance_type!r} is not available in group "
                f"{group.name!r}; choose one of {', '.join(group.instance_types) or 'none'}",
                field="instance_type",
            )
        if request.image not in group.images:
            raise InvalidInput(
                f"Image {request.image!r} is not available in group {group.name!r}; "
                f"choose one of {', '.join(group.images) or 'none'}",
                field="image",
            )

    def create(self, user: str, body: Any, *, rerun: Job | None = None) -> Job:
        try:
            request = JobRequest.model_validate(body)
        except ValidationError as error:
            raise _describe(error) from None
        request.check_kind()
        self._check_choices(user, request)
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
            max_runtime_seconds=self.max_runtime_seconds,
            cpu=instance_type.cpu,
        )
        content = None
        if request.notebook is not None:
            if rerun:
                content = self._snapshot_of(rerun).read_bytes()
            elif request.notebook_content is not None:
                content = self._checked_notebook(
                    request.notebook, request.notebook_content.encode("utf-8")
                )
            else:
                content = self._read_notebook(request.notebook)
            self._prepare_notebook_job(job, request)
        if content is not None:
            # Written before `validate`, which may look at the files (their size).
            snapshot = self._snapshot_of(job)
            snapshot.parent.mkdir(parents=True, exist_ok=True)
            snapshot.write_bytes(content)
            snapshot.with_name("parameters.json").write_text(job.parameters or "{}", "utf-8")
        problem = self.backend.validate(self._spec(job))
        if problem:
            if content is not None:
                shutil.rmtree(self._snapshot_of(job).parent, ignore_errors=True)
            raise InvalidInput(problem, field="notebook" if content else "instance_type")
        with self.store.transaction() as db:
            self.store.insert(job, db)
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
            if not self._snapshot_of(old).is_file():
                raise Conflict(
                    "The notebook snapshot of this job is gone; submit the notebook again"
                )
            body.update(notebook=old.notebook, parameters=json.loads(old.parameters or "{}"))
        else:
            body["command"] = old.command
        return self.create(user, body, rerun=old)

    # -- notebook jobs -----------------------------------------------------------------
    def _snapshot_of(self, job: Job) -> Path:
        return self.snapshots_dir / job.id / Path(job.notebook or "notebook.ipynb").name

    def _read_notebook(self, notebook: str) -> bytes:
        """The bytes of a notebook under the Jupyter root, checked to be a notebook."""
        if self.notebook_root is None:
            raise InvalidInput("This server has no notebook directory", field="notebook")
        root = self.notebook_root.resolve()
        path = (root / notebook.lstrip("/")).resolve()
        if not path.is_relative_to(root):
            raise InvalidInput(
                "notebook must be inside the Jupyter root directory", field="notebook"
            )
        if path.suffix != ".ipynb":
            raise InvalidInput("notebook must be a .ipynb file", field="notebook")
        if not path.is_file():
            raise InvalidInput(f"No notebook at {notebook!r}", field="notebook")
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            raise InvalidInput(
                f"notebook is larger than {MAX_NOTEBOOK_BYTES // 2**20} MiB", field="notebook"
            )
        return self._checked_notebook(notebook, path.read_bytes())

    def _checked_notebook(self, notebook: str, content: bytes) -> bytes:
        """``content`` if it is a notebook (nbformat 4) named ``*.ipynb``."""
        import nbformat

        if not notebook.endswith(".ipynb"):
            raise InvalidInput("notebook must be a .ipynb file", field="notebook")
        try:
            nbformat.reads(content.decode("utf-8"), as_version=4)  # type: ignore[no-untyped-call]
        except Exception as error:
            problem = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
            raise InvalidInput(
                f"{notebook!r} is not a valid notebook: {problem}", field="notebook"
            ) from None
        return content

    def _prepare_notebook_job(self, job: Job, request: JobRequest) -> None:
        """Set the command that runs the notebook's snapshot (taken at submission, so
        later edits do not change the run) with papermill, writing the executed notebook
        to the group directory."""
        assert request.notebook is not None
        job.notebook = request.notebook
        job.parameters = json.dumps(request.parameters or {})
        snapshot = self._snapshot_of(job)
        output = f"{job.group}/notebook-runs/{snapshot.stem}-{job.id}.ipynb"
        job.command = shlex.join(
            [
                "python",
                f".job/{NOTEBOOK_RUNNER.name}",
                f".job/{snapshot.name}",
                output,
                ".job/parameters.json",
            ]
        )
        job.output_path = output
        group_dir = self.backend.group_dir(job.group)
        if group_dir is not None:
            seen = (group_dir / "notebook-runs" / Path(output).name).resolve()
            root = self.notebook_root.resolve() if self.notebook_root else None
            is_inside = root is not None and seen.is_relative_to(root)
            job.output_path = str(seen.relative_to(root)) if root and is_inside else str(seen)

    # -- the queue ---------------------------------------------------------------------
    def dispatch(self) -> None:
        """Start queued jobs first-in first-out while the backend has capacity.

        Threads of one process dispatch one at a time (so a caller returns with the queue
        settled, each job's message saying why it waits); across processes, the claim is
        a compare-and-set inside an IMMEDIATE transaction, so a job is never started twice
        and capacity is counted over all servers' jobs.
        """
        with self._dispatch_lock:
            while self._start_next():
                pass

    def _start_next(self) -> bool:
        """Claim and start the oldest pending job; False when none can start now."""
        with self.store.transaction() as db:
            pending = self.store.queued(limit=1)
            if not pending:
                return False
            job = pending[0]
            active = self.store.active()
            try:
                spec = self._spec(job)
            except BackendError as error:
                self.store.finish(job.id, FAILED, message=str(error), finished_at=time.time())
                return True
            problem = self.backend.capacity_problem(spec, active)
            if problem:
                db.execute(
                    "UPDATE jobs SET message = ? WHERE status = ? AND message != ?",
                    (problem, PENDING, problem),
                )
                return False
            claim = {"claimed_at": time.time(), **self.backend.reserve(spec, active)}
            job.backend_state = json.dumps(claim)
            self.store.update(
                job.id,
                only_if_status=[PENDING],
                status=PREPARING,
                message="Preparing the job's workspace",
                backend_state=job.backend_state,
            )
        try:
            started = self.backend.start(spec, active)
        except Exception as error:
            self.log.warning("Job %s could not start: %s", job.id, error)
            message = str(error) if isinstance(error, BackendError) else f"Could not start: {error}"
            self.store.finish(job.id, FAILED, message=message, finished_at=time.time())
            return True
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
        return True

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
        exit_code = outcome.exit_code
        if outcome.reason == CANCELLED_REASON or job.cancel_requested_by:
            status = CANCELLED
            message = (
                f"Cancelled by {job.cancel_requested_by}"
                if job.cancel_requested_by
                else "Cancelled"
            )
        elif outcome.reason == DEADLINE:
            status = FAILED
            message = f"Exceeded the maximum run time of {human_duration(job.max_runtime_seconds)}"
        elif outcome.reason == OUT_OF_MEMORY:
            status = FAILED
            message = f"{outcome.message} (limit: {self._memory_of(job)})"
        elif outcome.reason == EXITED and exit_code == 0:
            status, message = SUCCEEDED, ""
        elif outcome.reason == EXITED:
            status = FAILED
            message = f"Exited with code {exit_code}"
            if outcome.message:
                message = f"{outcome.message} (exit code {exit_code})"
        else:
            status, message = FAILED, outcome.message or "The job stopped unexpectedly"
        self.store.finish(
            job.id,
            status,
            message=message,
            exit_code=exit_code,
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
                f"The logs of job {job.name!r} were removed "
                f"{human_duration(self.log_retention_seconds)} after it finished"
            )
        return job, self.backend.log_path(job)

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
                shutil.rmtree(self.snapshots_dir / job.id, ignore_errors=True)
            self.store.delete([job.id for job in old])
            removed = len(old)
        return len(expired_logs), removed

"""Run jobs as processes on this machine, each under a detached supervisor."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..catalog import Catalog
from ..errors import InvalidInput
from ..models import Job
from . import cpus, launching, prerequisites, procs, supervisor
from . import gpus as gpu_devices
from .base import CANCELLED, DEADLINE, VANISHED, Backend, BackendError, JobSpec, Outcome, Started
from .local_settings import LocalSettings
from .notify import Receiver
from .owners import make_homes_root, share_group_dir
from .records import JobRecord, checked_result, outcome_of
from .safe_files import (
    UnsafeFile,
    directory_problem,
    ensure_private_directory,
    open_directory,
    read_json_object,
)

# sockaddr_un holds 108 bytes; leave room for "/<pid>-<n>.sock".
MAX_SOCKET_DIR_LENGTH = 80
# A claimed job with no start record is taken as never started only this long after its
# launch timeout: the claiming server may still be writing its record to the store.
LAUNCH_MARGIN_SECONDS = 5.0


class LocalBackend(LocalSettings, Backend):
    """Runs each job as a process tree on this machine under its own detached supervisor.

    The supervisor outlives the Jupyter server and enforces the run-time and memory limits
    itself, so restarting the server never kills, loses or orphans a job.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.log.info("GPUs for jobs: %s", ", ".join(self.gpus) or "none")
        self._launcher_lock = threading.Lock()
        self._receiver: Receiver | None = None
        # When this server asked each job to cancel (it enforces the cancel after a while).
        self._cancel_asked: dict[str, float] = {}
        # Records of jobs started here, until the store has them (a job may end first).
        self._starting: dict[str, JobRecord] = {}
        # Jobs this server is starting right now (claimed, no start record yet).
        self._launching: set[str] = set()
        # Jobs started by a new Python rather than the launcher (the slow path).
        self.direct_starts = 0

    # -- paths -------------------------------------------------------------------------
    @property
    def projects(self) -> Path:
        return Path(self.project_root or Path(self.data_dir) / "projects")

    @property
    def notify_dir(self) -> Path:
        """Where servers listen for the supervisors' datagrams, and the launcher's socket.

        Unix socket paths are limited to about 100 bytes: under a deep ``data_dir`` the
        sockets go to a directory named after it, the same for every server of the user,
        in $XDG_RUNTIME_DIR (private to the user), else in the temporary directory
        ($TMPDIR), else (both too deep) in /tmp.
        """
        directory = Path(self.data_dir) / "notify"
        if len(str(directory)) <= MAX_SOCKET_DIR_LENGTH:
            return directory
        digest = hashlib.sha256(str(Path(self.data_dir).resolve()).encode()).hexdigest()[:16]
        name = f"jupyterlab-jobs-{os.getuid()}-{digest}"
        for base in (os.environ.get("XDG_RUNTIME_DIR", ""), tempfile.gettempdir()):
            if base.startswith("/") and len(f"{base}/{name}") <= MAX_SOCKET_DIR_LENGTH:
                return Path(base) / name
        return Path("/tmp") / name

    def _private_notify_dir(self) -> Path:
        directory = self.notify_dir
        try:
            ensure_private_directory(directory)
        except UnsafeFile as error:
            raise BackendError(str(error)) from None
        return directory

    def group_dir(self, group: str) -> Path:
        return self.projects / group

    def _checked_group_dir(self, group: str) -> Path:
        """The group's directory, created (setgid, closed to others) if missing; never one
        a job replaced with a symlink (the next job of the group would write through it)."""
        path = self.group_dir(group)
        self.projects.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.mkdir(path, 0o2770)
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
            try:
                os.fchmod(fd, 0o2770)  # mkdir's mode is cut by the umask
            finally:
                os.close(fd)
        problem = directory_problem(os.lstat(path), owners=(os.getuid(), 0))
        if problem:
            raise BackendError(
                f"The directory of group {group!r} ({path}) {problem}; a job may have replaced "
                "it. Refusing to use it: ask an administrator to restore it"
            )
        return path

    def dataset_path(self, name: str, path: str) -> Path:
        return (
            Path(path)
            if path
            else Path(self.datasets_root or Path(self.data_dir) / "datasets") / name
        )

    # -- policy ------------------------------------------------------------------------
    def check_catalog(self, catalog: Catalog) -> None:
        # Warnings, not a refusal: the rest of the catalog is served, and a job that needs
        # a missing entry is refused when submitted (``validate``).
        for warning in prerequisites.catalog_warnings(catalog, self.dataset_path):
            self.log.warning("%s", warning)

    def validate(self, spec: JobSpec) -> str | None:
        prerequisites.check_job(spec.image, spec.datasets, self.dataset_path)
        if spec.instance_type.cpu > self.cpu_capacity:
            return (
                f"Instance type {spec.instance_type.name!r} needs {spec.instance_type.cpu:g} "
                f"CPUs; this machine offers jobs {self.cpu_capacity:g}"
            )
        if spec.instance_type.gpu > len(self.gpus):
            return (
                f"Instance type {spec.instance_type.name!r} needs "
                f"{gpu_devices.count_text(spec.instance_type.gpu)}; this machine offers jobs "
                f"{len(self.gpus)}"
            )
        return None

    def capacity_problem(self, spec: JobSpec, active: list[Job]) -> str | None:
        if len(active) >= self.max_concurrent_jobs:
            return f"Insufficient capacity: {len(active)}/{self.max_concurrent_jobs} jobs running"
        cpu_problem = cpus.waiting_reason(spec.job.cpu, self.cpu_capacity, active)
        return cpu_problem or gpu_devices.waiting_reason(spec.instance_type.gpu, self.gpus, active)

    def reserve(self, spec: JobSpec, active: list[Job]) -> dict[str, Any]:
        return {"gpus": gpu_devices.pick(spec.instance_type.gpu, self.gpus, active)}

    # -- lifecycle ---------------------------------------------------------------------
    def start(self, spec: JobSpec, active: list[Job]) -> Started:
        self._launching.add(spec.job.id)
        try:
            return self._start(spec, active)
        finally:
            self._launching.discard(spec.job.id)

    def _start(self, spec: JobSpec, active: list[Job]) -> Started:
        job = spec.job
        try:  # checked at submission; an environment may have gone while the job waited
            prerequisites.check_job(spec.image, spec.datasets, self.dataset_path)
        except InvalidInput as error:
            raise BackendError(f"Could not start: {error.message}") from None
        directory = self.job_dir(job)
        directory.mkdir(parents=True, exist_ok=True)
        group_dir = self._checked_group_dir(job.group)
        owner = self.account_for(job.user, job.group) if self.run_as_owner else None
        if owner:
            share_group_dir(group_dir, owner.gid)
        links = {job.group: str(group_dir)}
        for dataset in spec.datasets:
            links[f"datasets/{dataset.name}"] = str(self.dataset_path(dataset.name, dataset.path))
        home = directory / "home"
        if owner:  # outside the data directory, which the job must not enter
            homes = Path(self.homes_root or f"{self.data_dir}-homes")
            make_homes_root(homes)
            home = homes / job.id
        env = {k: os.environ[k] for k in self.inherit_env if k in os.environ}
        env.update(self.extra_env)
        if spec.image.prefix:
            env["PATH"] = f"{Path(spec.image.prefix) / 'bin'}:{env.get('PATH', os.defpath)}"
        env.update(spec.env)
        # Only the reserved devices; none at all for a CPU-only job. PCI order makes
        # CUDA's device numbers those of nvidia-smi, which `gpus` lists by default.
        visible = ",".join(job.gpus)
        env.update(
            CUDA_VISIBLE_DEVICES=visible,
            NVIDIA_VISIBLE_DEVICES=visible,
            CUDA_DEVICE_ORDER="PCI_BUS_ID",
        )
        env["HOME"] = str(home)
        # Absolute paths for scripts that must not rely on the links in $HOME.
        env["JOB_GROUP_DIR"] = str(group_dir)
        env["JOB_DATASETS_DIR"] = str(home / "datasets")
        # A job running as its owner writes it in its home; the supervisor keeps it.
        env["TERMINATION_MESSAGE_PATH"] = str(
            (home if owner else directory) / "termination-message"
        )
        cores = cpus.pick(spec.instance_type.cpu_slots, active)
        run_spec = {
            "job_id": job.id,
            "command": job.command,
            "shell": self.shell,
            "env": env,
            "home": str(home),
            "links": links,
            "files": {f".job/{name}": str(source) for name, source in spec.files.items()},
            "cpus": cores,
            "memory_bytes": spec.instance_type.memory_bytes,
            "max_runtime_seconds": job.max_runtime_seconds,
            "grace_seconds": self.grace_seconds,
            "notify_dir": str(self._private_notify_dir()),
            # The job waits for its record to be stored until then (the launch timeout:
            # a server that took over calls a claim with no record "never started" later).
            "record_deadline": time.time() + self.launch_timeout_seconds,
            "run_as": {"uid": owner.uid, "gid": owner.gid} if owner else None,
            "gpus": job.gpus,
            "usage_interval_seconds": self.usage_interval_seconds,
            "max_artifact_bytes": self.max_artifact_bytes,
        }
        (directory / "spec.json").write_text(json.dumps(run_spec), encoding="utf-8")
        answer = self._launch_through_launcher(directory) if self.use_launcher else None
        if answer is None:
            self.direct_starts += 1
            answer = self._run_supervisor_script([str(directory)])
        if not answer.startswith("ok "):
            raise BackendError(f"Could not start the job: {answer.removeprefix('error: ')}")
        try:
            state = json.loads(answer[3:])
            record = JobRecord.parse(state)
        except (ValueError, TypeError, AttributeError) as error:
            raise BackendError(f"Could not start the job: a garbled answer ({error})") from None
        self._starting[job.id] = record
        return Started(
            # `gpus` after the supervisor's answer: the record cannot override them.
            backend_state=json.dumps({"cpus": cores, **state, "gpus": job.gpus}),
            started_at=record.started_at,
        )

    # -- starting supervisors ----------------------------------------------------------
    @property
    def launcher_socket(self) -> Path:
        return launching.launcher_socket(self.notify_dir)

    def _run_supervisor_script(self, arguments: list[str]) -> str:
        return launching.run_supervisor_script(self.python, arguments, self.launch_timeout_seconds)

    def _launch_through_launcher(self, directory: Path) -> str | None:
        def start_launcher(path: str) -> str:
            with self._launcher_lock:
                return self._run_supervisor_script(
                    ["--serve", path, str(self.launcher_idle_seconds)]
                )

        return launching.ask_launcher(
            self.launcher_socket, directory, self.launch_timeout_seconds, start_launcher, self.log
        )

    # -- cancel and outcome ------------------------------------------------------------
    def _record(self, job: Job) -> JobRecord | None:
        """The job's record, None while it is being started."""
        state = json.loads(job.backend_state or "{}")
        if "supervisor_pid" not in state:
            return self._starting.get(job.id)
        self._starting.pop(job.id, None)
        return JobRecord.parse(state)

    def confirm_started(self, job: Job) -> None:
        """The store has the job's record: let the job's command run (the supervisor holds
        it until ``recorded`` exists)."""
        try:
            directory_fd = open_directory(self.job_dir(job))
            try:
                os.close(
                    os.open(
                        supervisor.RECORDED,
                        os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
                        0o600,
                        dir_fd=directory_fd,
                    )
                )
            finally:
                os.close(directory_fd)
        except (OSError, UnsafeFile) as error:
            # The supervisor stops the job at its deadline; the job then ends as vanished.
            self.log.warning("Job %s cannot be let run: %s", job.id, error)

    def cancel(self, job: Job) -> None:
        """SIGTERM (and SIGCONT, in case it was stopped) to the job's supervisor."""
        record = self._record(job)
        if record is None:
            return
        self._cancel_asked.setdefault(job.id, time.time())
        if record.supervisor_alive:
            procs.send(record.supervisor_pid, signal.SIGTERM)
            procs.send(record.supervisor_pid, signal.SIGCONT)

    def poll(self, job: Job) -> Outcome | None:
        outcome = self._poll(job)
        if outcome is not None:
            self._starting.pop(job.id, None)
            self._cancel_asked.pop(job.id, None)
        return outcome

    def _poll(self, job: Job) -> Outcome | None:
        try:
            record = self._record(job)
        except ValueError as error:
            return self._ended(VANISHED, f"The job's record is unusable: {error}")
        if record is None:
            claimed = json.loads(job.backend_state or "{}").get("claimed_at", job.created_at)
            waited = time.time() - claimed
            if job.id in self._launching or waited < (
                self.launch_timeout_seconds + LAUNCH_MARGIN_SECONDS
            ):
                return None
            return self._ended(
                VANISHED,
                "The job never started: the server stopped while preparing it. Rerun it.",
            )
        directory = self.job_dir(job)
        reported = self._reported_result(job, record)
        if reported is not None:
            return outcome_of(reported, directory)
        if record.supervisor_alive:
            return self._enforce(job, record)
        # The supervisor is gone (SIGKILL, machine restart): first kill what is left of the
        # job, then believe its result file, if it wrote one.
        record.kill_all(job.id)
        shutil.rmtree(directory / "home", ignore_errors=True)
        try:
            result = checked_result(read_json_object(directory, "result.json"))
            problem = "" if result else "its result file is malformed"
        except FileNotFoundError:
            result, problem = None, ""
        except (UnsafeFile, OSError) as error:
            result, problem = None, f"its result file was not usable: {error}"
        if result is not None:
            return outcome_of(result, directory)
        message = "The job's supervisor process vanished (was the machine restarted?)"
        return self._ended(VANISHED, f"{message}; {problem}" if problem else message, record)

    def _reported_result(self, job: Job, record: JobRecord) -> dict[str, Any] | None:
        """The result the job's supervisor sent (the kernel named the sender), if its pid
        was not taken by another process since."""
        if self._receiver is None:
            return None
        result = checked_result(self._receiver.take_result(job.id, record.supervisor_pid))
        if procs.start_time(record.supervisor_pid) not in (None, record.supervisor_start):
            return None
        return result

    def _enforce(self, job: Job, record: JobRecord) -> Outcome | None:
        """A live supervisor that does not do its work (stopped by the job, hung): wake it,
        and past cancel or deadline plus grace, kill it and the job."""
        fields = procs.stat_fields(record.supervisor_pid)
        if fields and fields[procs.STATE] in ("T", "t"):
            procs.send(record.supervisor_pid, signal.SIGCONT)
        now = time.time()
        patience = self.grace_seconds + self.unresponsive_supervisor_seconds
        if job.cancel_requested_by and job.id not in self._cancel_asked:
            self.cancel(job)  # asked through another server, or before a restart
        if job.cancel_requested_by and now > self._cancel_asked[job.id] + patience:
            reason = CANCELLED
        elif now > record.started_at + job.max_runtime_seconds + patience:
            reason = DEADLINE
        else:
            return None
        self.log.warning("Job %s: its supervisor did not stop it; killing it", job.id)
        record.kill_all(job.id)
        shutil.rmtree(self.job_dir(job) / "home", ignore_errors=True)
        return self._ended(reason, "", record)

    @staticmethod
    def _ended(reason: str, message: str, record: JobRecord | None = None) -> Outcome:
        """A job's end that the server decided itself (no exit code)."""
        started = record.started_at if record else None
        return Outcome(reason, None, started, time.time(), message)

    def remove(self, job: Job) -> None:
        shutil.rmtree(self.job_dir(job), ignore_errors=True)

    def artifacts_dir(self, job: Job) -> Path:
        return self.job_dir(job) / "artifacts"

    def artifacts_manifest(self, job: Job) -> Path:
        return self.job_dir(job) / "artifacts.json"

    def usage_file(self, job: Job) -> Path:
        return self.job_dir(job) / "usage.json"

    # -- change notifications ----------------------------------------------------------
    async def watch(self, on_change: Callable[[str], None]) -> None:
        """Receive the supervisors' datagrams in ``notify_dir``."""
        try:
            directory = self._private_notify_dir()
        except BackendError as error:  # jobs fail to start, saying the same
            self.log.error("jupyterlab-jobs hears of no job's end: %s", error)
            await super().watch(on_change)
            return
        self._receiver = Receiver(directory, on_change)
        await self._receiver.run()

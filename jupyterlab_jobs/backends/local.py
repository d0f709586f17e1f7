"""Run jobs as processes on this machine, each under a detached supervisor."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from traitlets import Bool, Dict, Float, Int, List, Unicode, default

from ..models import Job
from . import gpus as gpu_devices
from . import supervisor
from .base import VANISHED, Backend, BackendError, JobSpec, Outcome, Started

SUPERVISOR = Path(supervisor.__file__)
# sockaddr_un holds 108 bytes; leave room for "/<pid>-<n>.sock".
MAX_SOCKET_DIR_LENGTH = 80


def _process_alive(pid: int, start_time: str) -> bool:
    try:
        return supervisor.process_start_time(pid) == start_time
    except (OSError, IndexError):
        return False


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        return None


class LocalBackend(Backend):
    """Runs each job as a process tree on this machine under its own detached supervisor.

    The supervisor outlives the Jupyter server and enforces the run-time and memory limits
    itself, so restarting the server never kills, loses or orphans a job.
    """

    max_concurrent_jobs = Int(
        4,
        min=1,
        help="How many jobs may be Preparing or Running at once; more wait as Pending.",
    ).tag(config=True)

    cpu_capacity = Float(
        help=(
            "CPUs jobs may use together (sum of their instance types' cpu). Defaults to "
            "the CPUs this process may run on. A job that does not fit waits as Pending."
        )
    ).tag(config=True)

    @default("cpu_capacity")
    def _default_cpu_capacity(self) -> float:
        return float(len(os.sched_getaffinity(0)))

    project_root = Unicode(
        help="Directory holding each group's persistent directory (<project_root>/<group>). "
        "Defaults to <data_dir>/projects."
    ).tag(config=True)

    datasets_root = Unicode(
        help="Directory holding datasets (<datasets_root>/<name>) whose catalog entry has "
        "no `path`. Defaults to <data_dir>/datasets."
    ).tag(config=True)

    grace_seconds = Float(
        10.0,
        min=0,
        help="After SIGTERM (cancel, deadline), seconds a job has to exit before SIGKILL.",
    ).tag(config=True)

    shell = Unicode("/bin/bash", help="Shell that runs the job's command with -c.").tag(config=True)

    python = Unicode(
        sys.executable,
        help="Python that runs the supervisor (any CPython >= 3.9; only its stdlib is used).",
    ).tag(config=True)

    inherit_env = List(
        Unicode(),
        default_value=["PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR"],
        help="Server environment variables passed to jobs (others, such as tokens, are not).",
    ).tag(config=True)

    extra_env = Dict(value_trait=Unicode(), help="Environment variables added to every job.").tag(
        config=True
    )

    use_launcher = Bool(
        True,
        help="Start supervisors by forking a small resident launcher process (a few ms) "
        "instead of starting a new Python for each job (tens of ms).",
    ).tag(config=True)

    launcher_idle_seconds = Float(
        900.0,
        help="The launcher exits after this long without starting a job.",
    ).tag(config=True)

    launch_timeout_seconds = Float(
        60.0,
        help="A job claimed for start whose supervisor never reported within this time "
        "(the server died while starting it) is Failed.",
    ).tag(config=True)

    gpus = List(
        Unicode(),
        help="GPU devices jobs may use: indices ('0', '1') or UUIDs ('GPU-...'). Each is "
        "given to one job at a time, in CUDA_VISIBLE_DEVICES and NVIDIA_VISIBLE_DEVICES of "
        "the job's environment. Defaults to the NVIDIA GPUs `nvidia-smi -L` lists at "
        "start-up (none without an NVIDIA driver).",
    ).tag(config=True)

    @default("gpus")
    def _default_gpus(self) -> list[str]:
        return gpu_devices.detect(self.log)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.log.info("GPUs for jobs: %s", ", ".join(self.gpus) or "none")
        self._launcher_lock = threading.Lock()

    # -- paths -------------------------------------------------------------------------
    @property
    def projects(self) -> Path:
        return Path(self.project_root or Path(self.data_dir) / "projects")

    @property
    def notify_dir(self) -> Path:
        """Where servers listen for the supervisors' datagrams.

        Unix socket paths are limited to about 100 bytes: under a deep ``data_dir`` the
        sockets go to a directory in /tmp named after it, the same for every server.
        """
        directory = Path(self.data_dir) / "notify"
        if len(str(directory)) <= MAX_SOCKET_DIR_LENGTH:
            return directory
        digest = hashlib.sha256(str(Path(self.data_dir).resolve()).encode()).hexdigest()[:16]
        return Path(tempfile.gettempdir()) / f"jupyterlab-jobs-{os.getuid()}-{digest}"

    def group_dir(self, group: str) -> Path:
        return self.projects / group

    def dataset_path(self, name: str, path: str) -> Path:
        return (
            Path(path)
            if path
            else Path(self.datasets_root or Path(self.data_dir) / "datasets") / name
        )

    # -- policy ------------------------------------------------------------------------
    def validate(self, spec: JobSpec) -> str | None:
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
        used = sum(job.cpu for job in active)
        if used + spec.job.cpu > self.cpu_capacity + 1e-9:
            return (
                f"Insufficient capacity: {used:g} of {self.cpu_capacity:g} CPUs in use, "
                f"the job needs {spec.job.cpu:g}"
            )
        return gpu_devices.waiting_reason(spec.instance_type.gpu, self.gpus, active)

    def reserve(self, spec: JobSpec, active: list[Job]) -> dict[str, Any]:
        return {"gpus": gpu_devices.pick(spec.instance_type.gpu, self.gpus, active)}

    def _pick_cpus(self, count: int, active: list[Job]) -> list[int]:
        """The ``count`` allowed CPUs least used by the active jobs."""
        load: Counter[int] = Counter({cpu: 0 for cpu in os.sched_getaffinity(0)})
        for job in active:
            with contextlib.suppress(ValueError, TypeError):
                load.update(json.loads(job.backend_state).get("cpus", []))
        ranked = sorted(load, key=lambda cpu: (load[cpu], cpu))
        return sorted(ranked[:count])

    # -- lifecycle ---------------------------------------------------------------------
    def start(self, spec: JobSpec, active: list[Job]) -> Started:
        job = spec.job
        directory = self.job_dir(job)
        directory.mkdir(parents=True, exist_ok=True)
        group_dir = self.projects / job.group
        group_dir.mkdir(parents=True, exist_ok=True)
        links = {job.group: str(group_dir)}
        for dataset in spec.datasets:
            links[f"datasets/{dataset.name}"] = str(self.dataset_path(dataset.name, dataset.path))
        home = directory / "home"
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
        env["TERMINATION_MESSAGE_PATH"] = str(directory / "termination-message")
        cpus = self._pick_cpus(spec.instance_type.cpu_slots, active)
        run_spec = {
            "job_id": job.id,
            "command": job.command,
            "shell": self.shell,
            "env": env,
            "home": str(home),
            "links": links,
            "files": {f".job/{name}": str(source) for name, source in spec.files.items()},
            "cpus": cpus,
            "memory_bytes": spec.instance_type.memory_bytes,
            "max_runtime_seconds": job.max_runtime_seconds,
            "grace_seconds": self.grace_seconds,
            "notify_dir": str(self.notify_dir),
        }
        (directory / "spec.json").write_text(json.dumps(run_spec), encoding="utf-8")
        answer = self._launch_through_launcher(directory) if self.use_launcher else None
        if answer is None:
            answer = self._run_supervisor_script([str(directory)])
        if answer != "ok":
            raise BackendError(f"Could not start the job: {answer.removeprefix('error: ')}")
        state = _read_json(directory / "state.json") or {}
        return Started(
            backend_state=json.dumps({"cpus": cpus, **state, "gpus": job.gpus}),
            started_at=float(state.get("started_at", time.time())),
        )

    # -- starting supervisors ----------------------------------------------------------
    @property
    def launcher_socket(self) -> Path:
        """One launcher per user, data directory and supervisor version."""
        version = hashlib.sha256(SUPERVISOR.read_bytes()).hexdigest()[:8]
        return self.notify_dir / f"launcher-{os.getuid()}-{version}.ctl"

    def _run_supervisor_script(self, arguments: list[str]) -> str:
        """Run supervisor.py in a new Python; its first line of output is the answer."""
        process = subprocess.run(
            [self.python, "-I", "-S", str(SUPERVISOR), *arguments],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            start_new_session=True,
            timeout=self.launch_timeout_seconds,
            check=False,
        )
        answer = process.stdout.decode(errors="replace").strip()
        return answer or process.stderr.decode(errors="replace").strip()[-500:]

    def _launch_through_launcher(self, directory: Path) -> str | None:
        """Ask the resident launcher to fork a supervisor; start the launcher if needed.

        None when no launcher can be reached: the caller then starts the supervisor
        script directly (slower, same result).
        """
        path = str(self.launcher_socket)
        for attempt in range(2):
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                    connection.settimeout(self.launch_timeout_seconds)
                    connection.connect(path)
                    connection.sendall(f"{directory}\n".encode())
                    answer = connection.makefile("rb").readline().decode(errors="replace")
                return answer.strip() or "error: the supervisor exited before the job started"
            except (FileNotFoundError, ConnectionRefusedError):
                if attempt:
                    break
                with self._launcher_lock:
                    self.notify_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
                    started = self._run_supervisor_script(
                        ["--serve", path, str(self.launcher_idle_seconds)]
                    )
                if not started.startswith("ready"):
                    self.log.warning("Could not start the job launcher: %s", started)
                    break
            except OSError as error:
                self.log.warning("The job launcher failed (%s); starting directly", error)
                break
        return None

    def cancel(self, job: Job) -> None:
        state = _read_json(self.job_dir(job) / "state.json")
        if state and _process_alive(state["supervisor_pid"], state["supervisor_start"]):
            with contextlib.suppress(ProcessLookupError):
                os.kill(state["supervisor_pid"], signal.SIGTERM)

    def poll(self, job: Job) -> Outcome | None:
        directory = self.job_dir(job)
        result = _read_json(directory / "result.json")
        if result is not None:
            return self._outcome(result, directory)
        state = _read_json(directory / "state.json")
        if state is None:
            claimed = json.loads(job.backend_state or "{}").get("claimed_at", job.created_at)
            if time.time() - claimed < self.launch_timeout_seconds:
                return None
            return Outcome(
                VANISHED,
                None,
                None,
                time.time(),
                "The job never started: the server stopped while preparing it. Rerun it.",
            )
        if _process_alive(state["supervisor_pid"], state["supervisor_start"]):
            return None
        # The supervisor died without a result (machine restart, SIGKILL): kill what is left.
        result = _read_json(directory / "result.json")
        if result is not None:
            return self._outcome(result, directory)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(state["job_pid"], signal.SIGKILL)
        shutil.rmtree(directory / "home", ignore_errors=True)
        return Outcome(
            VANISHED,
            None,
            state.get("started_at"),
            time.time(),
            "The job's supervisor process vanished (was the machine restarted?)",
        )

    @staticmethod
    def _outcome(result: dict[str, Any], directory: Path) -> Outcome:
        """The supervisor's result, with the job's own termination message if it wrote one."""
        message = ""
        if result.get("signal"):
            message = f"Killed by signal {result['signal']}"
        with contextlib.suppress(OSError):
            reported = (directory / "termination-message").read_text(errors="replace")
            message = reported.strip()[:1000] or message
        if result["reason"] == "memory":
            message = f"Out of memory: the job used {int(result['detail']) / 2**20:.0f} MiB"
        return Outcome(
            result["reason"],
            result["exit_code"],
            result.get("started_at"),
            result["finished_at"],
            message,
        )

    def remove(self, job: Job) -> None:
        shutil.rmtree(self.job_dir(job), ignore_errors=True)

    # -- change notifications ----------------------------------------------------------
    async def watch(self, on_change: Callable[[str], None]) -> None:
        """Receive the supervisors' datagrams on ``<data_dir>/notify/<pid>.sock``."""
        self.notify_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._remove_stale_sockets()
        path = self.notify_dir / f"{os.getpid()}-{id(self) % 10**6}.sock"
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        loop = asyncio.get_running_loop()

        class Receiver(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: Any) -> None:
                on_change(data.decode(errors="replace"))

        transport, _ = await loop.create_datagram_endpoint(
            Receiver, local_addr=str(path), family=socket.AF_UNIX
        )
        try:
            await asyncio.Event().wait()
        finally:
            transport.close()
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def _remove_stale_sockets(self) -> None:
        """Sockets of servers that died without cleaning up refuse datagrams: remove them."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as probe:
            for path in self.notify_dir.glob("*.sock"):
                try:
                    probe.connect(str(path))
                except ConnectionRefusedError:
                    path.unlink(missing_ok=True)
                except OSError:
                    continue

"""The supervisor of one local job: a small, detached, stdlib-only process.

The server runs this file with ``python -I -S supervisor.py JOB_DIR``. It must not import
the Jupyter stack (it stays small: about 10 MiB) and it must outlive the server, so it
daemonizes: the launched process forks, the grandchild starts its own session, prepares
the job's home, starts the job and reports ``ok {record}`` (or ``error: ...``) on the
launcher's stdout; the launcher exits at once. The record names the supervisor and the
job's process (pid, start time, boot) and its cgroup: the server keeps it in its store and
trusts nothing the job can write.

Files in JOB_DIR:
  spec.json    written by the server: command, environment, limits, paths
  state.json   written here when the job starts: pids, start time (for people and tools;
               the job can rewrite it, so the server never reads it)
  result.json  written here when the job ends: exit code, reason, times (the server uses
               it only when this supervisor is verifiably gone)
  output.log   the job's combined stdout and stderr, as it comes
  recorded     created by the server once its store holds the job's record: the job's
               command runs only after that (a server that dies between the answer and
               storing it leaves a job that never ran, not one that ran unseen)
  usage.json   written here every ``usage_interval_seconds``: what the job uses
  artifacts/   what the job left in $HOME/artifacts (moved here when it ends), and
  artifacts.json  what of it was not kept (over the size limit, symlinks)

The supervisor enforces the run-time limit and the memory limit itself, so a job is
stopped on time even while no server is up. SIGTERM asks it to cancel the job: SIGTERM to
every process of the job, ``grace_seconds`` to exit, then SIGKILL. It is a child
subreaper, and puts the job in a cgroup of its own where it may, so processes that
daemonize out of the job's session are still found and killed. It reports the job's end
in a datagram to every listening server, who check that the sender is this process.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import select
import shutil
import signal
import socket
import stat
import sys
import time
from collections.abc import Callable
from typing import Any, NoReturn

if __package__:
    from . import collect, launcher, procs, usage_log
else:  # run as a script (python -I -S): its own directory is not on the path
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import collect  # type: ignore[import-not-found,no-redef]
    import launcher  # type: ignore[import-not-found,no-redef]
    import procs  # type: ignore[import-not-found,no-redef]
    import usage_log  # type: ignore[import-not-found,no-redef]

# What this script runs besides itself: a launcher started from other versions of any of
# them is another launcher (launching.py names its socket after all of them).
SCRIPT_MODULES = (collect, launcher, procs, usage_log)

PR_SET_CHILD_SUBREAPER = 36
MEMORY_CHECK_SECONDS = 0.5
# The server creates this file in the job's directory once its store has the job's record.
RECORDED = "recorded"
RECORD_POLL_SECONDS = 0.002
MAX_TERMINATION_MESSAGE_BYTES = 4096  # as records.py reads it


def write_json(path: str, data: dict[str, Any]) -> None:
    """Atomically replace ``path`` (readers never see a half-written file)."""
    temporary = f"{path}.{os.getpid()}.tmp"
    with contextlib.suppress(FileNotFoundError):
        os.unlink(temporary)  # never write through a file the job put there
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    with open(os.open(temporary, flags, 0o600), "w", encoding="utf-8") as handle:
        json.dump(data, handle)
    os.replace(temporary, path)


def notify(spec: dict[str, Any], result: dict[str, Any] | None = None) -> None:
    """Tell every listening server that this job changed, and how it ended (best effort,
    never blocks). The servers take the result from this process only (SO_PASSCRED)."""
    directory = spec["notify_dir"]
    try:
        names = os.listdir(directory)
    except OSError:
        return
    message = json.dumps({"job_id": spec["job_id"], "result": result}).encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        sender.setblocking(False)
        for name in names:
            if name.endswith(".sock"):
                with contextlib.suppress(OSError):
                    sender.sendto(message, os.path.join(directory, name))


class Supervisor:
    def __init__(self, job_dir: str) -> None:
        self.job_dir = job_dir
        with open(os.path.join(job_dir, "spec.json"), encoding="utf-8") as handle:
            self.spec: dict[str, Any] = json.load(handle)
        self.cancel_requested = False
        self.child_pid = 0
        self.returncode: int | None = None
        self.gate = -1  # the write end of the pipe the job waits on before it runs
        self.cgroup = ""
        self.usage = usage_log.UsageLog()

    # -- start -------------------------------------------------------------------------
    def prepare_home(self) -> str:
        """The job's fresh home with links to the group directory and the datasets."""
        home: str = self.spec["home"]
        os.makedirs(home, mode=0o700)
        run_as = self.spec.get("run_as")
        if run_as:  # the job's own home, in the owner's account
            os.chown(home, run_as["uid"], run_as["gid"])
        for link, target in self.spec["links"].items():
            path = os.path.join(home, link)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            os.symlink(target, path)
        for name, source in self.spec.get("files", {}).items():
            path = os.path.join(home, name)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            shutil.copyfile(source, path)
        return home

    def become_job(self, home: str, log_fd: int, gate: int) -> NoReturn:
        """In the forked job process: wait at the gate, set the limits, exec the command.

        Nothing of the job runs before the supervisor opens the gate, that is before the
        server has its record (a job that stops its supervisor at once cannot run unseen).
        """
        try:
            os.close(self.gate)
            os.setsid()
            procs.join_cgroup(self.cgroup)
            # Standard streams first: the launcher's output must not stay open while the
            # job waits at its gate (a direct start waits for that output to close).
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            os.dup2(log_fd, 1)
            os.dup2(log_fd, 2)
            if os.read(gate, 1) != b"x":  # the supervisor gave up: the job never runs
                os._exit(126)
            cpus = self.spec.get("cpus")
            if cpus:
                os.sched_setaffinity(0, cpus)
            memory = self.spec.get("memory_bytes")
            if memory:
                resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
            os.chdir(home)
            os.closerange(3, os.sysconf("SC_OPEN_MAX"))
            for signum in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGCHLD):
                signal.signal(signum, signal.SIG_DFL)  # Python's own choices, not the job's
            run_as = self.spec.get("run_as")
            if run_as:  # the owner's account and the group's Unix group, nothing else
                os.setgroups([run_as["gid"]])
                os.setgid(run_as["gid"])
                os.setuid(run_as["uid"])
            shell = self.spec["shell"]
            os.execve(shell, [shell, "-c", self.spec["command"]], self.spec["env"])
        finally:
            os._exit(127)

    def start(self) -> dict[str, Any]:
        """Fork the job (held at its gate); its record for the server (who keeps it)."""
        home = self.prepare_home()
        self.cgroup = procs.create_cgroup(self.spec["job_id"])
        if not os.access(self.spec["shell"], os.X_OK):
            raise OSError(f"the shell {self.spec['shell']!r} cannot be run")
        log_fd = os.open(
            os.path.join(self.job_dir, "output.log"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600
        )
        gate, self.gate = os.pipe()
        self.child_pid = os.fork()
        if self.child_pid == 0:
            self.become_job(home, log_fd, gate)
        os.close(log_fd)
        os.close(gate)
        self.started_at = time.time()
        record = {
            "supervisor_pid": os.getpid(),
            "supervisor_start": procs.start_time(os.getpid()),
            "job_pid": self.child_pid,
            "job_start": procs.start_time(self.child_pid),
            "boot_id": procs.boot_id(),
            "cgroup": self.cgroup,
            "started_at": self.started_at,
        }
        write_json(os.path.join(self.job_dir, "state.json"), record)
        return record

    def wait_until_recorded(self) -> bool:
        """True once the server created ``recorded`` (its store has the job's record);
        False at ``record_deadline`` (the server died or gave up: the job must not run)."""
        path = os.path.join(self.job_dir, RECORDED)
        deadline = float(self.spec.get("record_deadline", time.time() + 60))
        while not os.path.lexists(path):
            if time.time() >= deadline:
                return False
            time.sleep(RECORD_POLL_SECONDS)
        return True

    def open_gate(self) -> None:
        os.write(self.gate, b"x")
        os.close(self.gate)

    def abort(self) -> None:
        """Undo a start the server never heard of: no process, home or cgroup is left."""
        if self.child_pid:
            os.close(self.gate)  # the job exits at its gate
            self.stop("aborted", "", grace=0)
        shutil.rmtree(self.spec["home"], ignore_errors=True)
        procs.remove_cgroup(self.cgroup, wait=1.0)

    # -- run ---------------------------------------------------------------------------
    def wait(self) -> dict[str, Any]:
        """Wait for the job to end, enforcing the deadline, memory and cancel requests."""
        reader, writer = os.pipe()
        os.set_blocking(writer, False)
        signal.set_wakeup_fd(writer)
        signal.signal(signal.SIGTERM, self._on_cancel)
        signal.signal(signal.SIGINT, self._on_cancel)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        pidfd = os.pidfd_open(self.child_pid)
        deadline = self.started_at + self.spec["max_runtime_seconds"]
        memory_limit = self.spec.get("memory_bytes") or 0
        usage_interval = self.spec.get("usage_interval_seconds") or 3600
        next_sample = self.started_at
        while True:
            if self.cancel_requested:
                return self.stop("cancelled", "")
            now = time.time()
            if now >= deadline:
                return self.stop("deadline", "")
            if now >= next_sample:
                self.sample_usage(now)
                next_sample = now + usage_interval
            timeout = min(
                deadline - now,
                next_sample - now,
                MEMORY_CHECK_SECONDS if memory_limit else 3600,
            )
            ready, _, _ = select.select([pidfd, reader], [], [], max(timeout, 0))
            if pidfd in ready:
                break
            if reader in ready:
                os.read(reader, 512)
            if memory_limit and not ready:
                used = sum(self.processes().values())
                if used > memory_limit:
                    return self.stop("memory", f"{used}")
        return self.stop("exited", "", grace=min(2.0, self.spec["grace_seconds"]))

    def sample_usage(self, now: float, *, ended: bool = False) -> None:
        """Record what the job uses now, in usage.json (rewritten whole: it is small).
        Once it ended, only its totals: a sample of no processes would chart a drop."""
        memory, cpu = procs.supervised_usage(self.child_pid, os.getpid(), self.cgroup)
        reaped = resource.getrusage(resource.RUSAGE_CHILDREN)  # processes we waited for
        cpu += reaped.ru_utime + reaped.ru_stime
        if ended:
            self.usage.cpu_seconds = max(self.usage.cpu_seconds, cpu)
        else:
            gpu = usage_log.gpu_utilization(self.spec.get("gpus", []))
            self.usage.add(now, memory, cpu, gpu)
        # The largest process we waited for, at its largest (a peak between samples too).
        self.usage.peak_memory_bytes = max(self.usage.peak_memory_bytes, reaped.ru_maxrss * 1024)
        with contextlib.suppress(OSError):  # a full disk, or a job blocking the file
            write_json(os.path.join(self.job_dir, "usage.json"), self.usage.to_json())

    def _on_cancel(self, signum: int, frame: object) -> None:
        self.cancel_requested = True

    def processes(self) -> dict[int, int]:
        return procs.supervised_processes(self.child_pid, os.getpid(), self.cgroup)

    def stop(self, reason: str, detail: str, grace: float | None = None) -> dict[str, Any]:
        """SIGTERM every process of the job, wait the grace period, then SIGKILL the rest.

        No process of the job survives it. The job's main process is reaped first (its exit
        code is the job's); re-parented orphans are reaped as they are found.
        """
        if grace is None:
            grace = self.spec["grace_seconds"]
        for pid in procs.main_first(self.processes(), self.child_pid):
            procs.send(pid, signal.SIGTERM)
        end = time.time() + grace
        killed = False
        while True:
            if self.returncode is None:
                pid, status = os.waitpid(self.child_pid, os.WNOHANG)
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
            remaining = self.processes()
            for pid in remaining:
                if pid != self.child_pid:
                    with contextlib.suppress(ChildProcessError):
                        os.waitpid(pid, os.WNOHANG)
            if not remaining and self.returncode is not None:
                break
            if time.time() >= end and not killed:
                for pid in remaining:
                    procs.send(pid, signal.SIGKILL)
                killed = True
            time.sleep(0.01)
        return self.result(reason, self.returncode, detail)

    def keep_termination_message(self) -> None:
        """A job running as its owner wrote its termination message in its home: keep it
        for the server, if it is a regular file of the job's own (never follow a link)."""
        source = os.path.join(self.spec["home"], "termination-message")
        with contextlib.suppress(OSError):
            fd = os.open(source, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
            try:
                info = os.fstat(fd)
                if stat.S_ISREG(info.st_mode) and info.st_uid == self.spec["run_as"]["uid"]:
                    data = os.read(fd, MAX_TERMINATION_MESSAGE_BYTES)
                    target = os.path.join(self.job_dir, "termination-message")
                    with open(target, "wb") as copy:
                        copy.write(data)
            finally:
                os.close(fd)

    def result(self, reason: str, code: int, detail: str) -> dict[str, Any]:
        exit_code = 128 - code if code < 0 else code
        signal_name = ""
        if code < 0:
            with contextlib.suppress(ValueError):
                signal_name = signal.Signals(-code).name
        return {
            "reason": reason,
            "exit_code": exit_code,
            "signal": signal_name,
            "detail": detail,
            "started_at": self.started_at,
            "finished_at": time.time(),
        }

    def finish(self, result: dict[str, Any]) -> None:
        if self.spec.get("run_as"):
            self.keep_termination_message()
        self.sample_usage(time.time(), ended=True)  # the whole job's CPU time, all reaped
        with contextlib.suppress(OSError):
            manifest = collect.collect(
                self.spec["home"],
                os.path.join(self.job_dir, "artifacts"),
                self.spec.get("max_artifact_bytes", 0),
            )
            write_json(os.path.join(self.job_dir, "artifacts.json"), manifest)
        shutil.rmtree(self.spec["home"], ignore_errors=True)
        procs.remove_cgroup(self.cgroup, wait=1.0)
        write_json(os.path.join(self.job_dir, "result.json"), result)
        notify(self.spec, result)


def supervise(job_dir: str, reply: Callable[[bytes], None]) -> int:
    """Become the job's supervisor: start the job, ``reply`` ``ok {record}`` (or why not),
    wait. If the reply cannot be delivered (the server gave up waiting), the job is
    stopped at once: a job runs only if the server knows it does.

    Runs in a freshly forked process, which leaves its parent's session here.
    """
    os.setsid()
    try:
        supervisor = Supervisor(job_dir)
    except (OSError, ValueError) as error:
        reply(f"error: the job's spec cannot be read: {error}\n".encode())
        return 1
    try:
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        record = supervisor.start()
    except Exception as error:  # report why the job could not start, in words
        supervisor.abort()
        with contextlib.suppress(OSError):
            reply(f"error: {error}\n".encode())
        return 1
    try:
        reply(f"ok {json.dumps(record)}\n".encode())
    except OSError:
        supervisor.abort()
        return 1
    # Let go of the launcher's output first: a direct start waits for it to close.
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    if not supervisor.wait_until_recorded():
        supervisor.abort()
        return 1
    supervisor.open_gate()
    notify(supervisor.spec)
    supervisor.finish(supervisor.wait())
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "--serve":
        sys.exit(launcher.serve(sys.argv[2], float(sys.argv[3]), supervise))
    sys.exit(launcher.main(sys.argv[1], supervise))

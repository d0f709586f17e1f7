"""What the server knows of a local job: the record the supervisor gave it at start, and
the checked result of the job's end (from the supervisor's datagram or its result file)."""

from __future__ import annotations

import dataclasses
import math
import signal
from pathlib import Path
from typing import Any

from . import procs
from .base import CANCELLED, DEADLINE, EXITED, OUT_OF_MEMORY, Outcome
from .safe_files import UnsafeFile, read_limited

REASONS = (EXITED, DEADLINE, CANCELLED, OUT_OF_MEMORY)
MAX_TERMINATION_MESSAGE_BYTES = 4096
MAX_MESSAGE_CHARACTERS = 1000


def _is_time(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclasses.dataclass(frozen=True)
class JobRecord:
    """The supervisor's report at start (kept in the store, never read from a file the
    job can write): which processes to check, and to signal, later."""

    supervisor_pid: int
    supervisor_start: str
    job_pid: int
    job_start: str  # "" in records of older versions: the job's processes are not searched
    boot_id: str
    cgroup: str
    started_at: float

    @classmethod
    def parse(cls, state: dict[str, Any]) -> JobRecord:
        """ValueError unless ``state`` is a well-formed record."""

        def pid(name: str) -> int:
            value = state.get(name)
            if type(value) is not int or value <= 1:
                raise ValueError(f"{name} is not a process id")
            return value

        def text(name: str, *, digits: bool = False) -> str:
            value = state.get(name, "")
            if not isinstance(value, str) or (digits and value and not value.isdigit()):
                raise ValueError(f"{name} is malformed")
            return value

        if not _is_time(state.get("started_at")):
            raise ValueError("started_at is not a time")
        return cls(
            supervisor_pid=pid("supervisor_pid"),
            supervisor_start=text("supervisor_start", digits=True) or "?",
            job_pid=pid("job_pid"),
            job_start=text("job_start", digits=True),
            boot_id=text("boot_id") or procs.boot_id(),
            cgroup=text("cgroup"),
            started_at=float(state["started_at"]),
        )

    @property
    def supervisor_alive(self) -> bool:
        return procs.is_process(self.supervisor_pid, self.supervisor_start, self.boot_id)

    def kill_all(self, job_id: str) -> None:
        """SIGKILL the supervisor and every process of the job, if they still run."""
        if self.supervisor_alive:
            procs.send(self.supervisor_pid, signal.SIGKILL)
        if self.job_start and self.boot_id == procs.boot_id():
            cgroup = self.cgroup if procs.is_job_cgroup(self.cgroup, job_id) else ""
            procs.kill_orphans(job_id, self.job_pid, self.job_start, cgroup)


def checked_result(value: Any) -> dict[str, Any] | None:
    """A supervisor's result if ``value`` is a well-formed one, else None."""
    if not isinstance(value, dict) or value.get("reason") not in REASONS:
        return None
    code = value.get("exit_code")
    if type(code) is not int or not 0 <= code <= 255:
        return None
    if not _is_time(value.get("finished_at")) or not _is_time(value.get("started_at", 0.0)):
        return None
    if not isinstance(value.get("signal", ""), str) or len(value.get("signal", "")) > 16:
        return None
    detail = value.get("detail", "")
    if not isinstance(detail, str) or (detail and not detail.isdigit()):
        return None
    return value


def termination_message(directory: Path) -> str:
    """What the job wrote to $TERMINATION_MESSAGE_PATH: a regular file, its first 4 KiB."""
    try:
        raw = read_limited(
            directory, "termination-message", MAX_TERMINATION_MESSAGE_BYTES, truncate=True
        )
    except UnsafeFile as error:
        return f"The job's termination message was ignored: {error}"
    except OSError:
        return ""
    return raw.decode(errors="replace").strip()[:MAX_MESSAGE_CHARACTERS]


def outcome_of(result: dict[str, Any], directory: Path) -> Outcome:
    """The supervisor's checked result, with the job's termination message if it wrote one."""
    message = f"Killed by signal {result['signal']}" if result.get("signal") else ""
    message = termination_message(directory) or message
    if result["reason"] == OUT_OF_MEMORY:
        message = f"Out of memory: the job used {int(result['detail'] or 0) / 2**20:.0f} MiB"
    return Outcome(
        result["reason"],
        result["exit_code"],
        result.get("started_at"),
        result["finished_at"],
        message,
    )

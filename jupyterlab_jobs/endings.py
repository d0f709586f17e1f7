"""How a job's end reads: the final status and the message of a backend's ``Outcome``."""

from __future__ import annotations

from pathlib import Path

from .backends.base import CANCELLED as CANCELLED_REASON
from .backends.base import DEADLINE, EXITED, OUT_OF_MEMORY, Outcome
from .errors import JobsError
from .logs import last_bytes
from .models import CANCELLED, FAILED, SUCCEEDED, Job, human_duration

# The memory limit makes a local job's allocations fail (RLIMIT_DATA) rather than kill
# it: what programs then print, in the last bytes of the log, says why it failed.
ALLOCATION_FAILED = (
    b"MemoryError",
    b"Cannot allocate memory",
    b"std::bad_alloc",
    b"out of memory",
    b"Out of memory",
)
LOG_TAIL_BYTES = 4096


def ran_out_of_memory(log_tail: bytes) -> bool:
    return any(words in log_tail for words in ALLOCATION_FAILED)


def failure_log_tail(outcome: Outcome, log_path: Path) -> bytes:
    """The end of the log of a job that failed by exiting with no reason of its own (what
    it printed last may say why); empty otherwise, or when there is no regular log."""
    if outcome.reason != EXITED or not outcome.exit_code or outcome.message:
        return b""
    try:
        return last_bytes(log_path, LOG_TAIL_BYTES)
    except (OSError, JobsError):
        return b""


def final_status(
    job: Job, outcome: Outcome, memory_limit: str, log_tail: bytes = b""
) -> tuple[str, str]:
    """The status and message ``job`` ends with (``memory_limit``: its instance type's;
    ``log_tail``: the end of its log, for a job that failed by exiting)."""
    exit_code = outcome.exit_code
    if outcome.reason == CANCELLED_REASON or job.cancel_requested_by:
        if job.cancel_requested_by:
            return CANCELLED, f"Cancelled by {job.cancel_requested_by}"
        return CANCELLED, "Cancelled"
    if outcome.reason == DEADLINE:
        return FAILED, f"Exceeded the maximum run time of {human_duration(job.max_runtime_seconds)}"
    if outcome.reason == OUT_OF_MEMORY:
        return FAILED, f"{outcome.message} (limit: {memory_limit})"
    if outcome.reason == EXITED and exit_code == 0:
        return SUCCEEDED, ""
    if outcome.reason == EXITED:
        if outcome.message:
            return FAILED, f"{outcome.message} (exit code {exit_code})"
        if ran_out_of_memory(log_tail):
            return FAILED, (
                f"Exited with code {exit_code} after running out of memory (limit: "
                f"{memory_limit}); choose an instance type with more memory"
            )
        return FAILED, f"Exited with code {exit_code}"
    return FAILED, outcome.message or "The job stopped unexpectedly"

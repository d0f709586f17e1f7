"""How a job's end reads: the final status and the message of a backend's ``Outcome``."""

from __future__ import annotations

from .backends.base import CANCELLED as CANCELLED_REASON
from .backends.base import DEADLINE, EXITED, OUT_OF_MEMORY, Outcome
from .models import CANCELLED, FAILED, SUCCEEDED, Job, human_duration


def final_status(job: Job, outcome: Outcome, memory_limit: str) -> tuple[str, str]:
    """The status and message ``job`` ends with (``memory_limit``: its instance type's)."""
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
        return FAILED, f"Exited with code {exit_code}"
    return FAILED, outcome.message or "The job stopped unexpectedly"

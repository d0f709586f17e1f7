"""CPUs on the local backend: how much of them the active jobs use, and which cores a
starting job is pinned to. Like ``gpus``, every server derives this from the active jobs'
records alone (each job's ``backend_state`` names its cores as ``"cpus"``)."""

from __future__ import annotations

import contextlib
import json
import os
from collections import Counter

from ..models import Job

ROUNDING = 1e-9  # instance types' cpu are fractions: 0.1 + 0.2 must fit in 0.3


def allowed() -> set[int]:
    """The cores this process may run on (and so its jobs)."""
    return os.sched_getaffinity(0)


def waiting_reason(needed: float, capacity: float, active: list[Job]) -> str | None:
    """Why a job needing ``needed`` CPUs must wait (its Pending message), or None."""
    used = sum(job.cpu for job in active)
    if used + needed <= capacity + ROUNDING:
        return None
    return f"Insufficient capacity: {used:g} of {capacity:g} CPUs in use, the job needs {needed:g}"


def pick(count: int, active: list[Job]) -> list[int]:
    """The ``count`` allowed cores least used by the active jobs."""
    load: Counter[int] = Counter({cpu: 0 for cpu in allowed()})
    for job in active:
        with contextlib.suppress(ValueError, TypeError):
            load.update(json.loads(job.backend_state).get("cpus", []))
    ranked = sorted(load, key=lambda cpu: (load[cpu], cpu))
    return sorted(ranked[:count])

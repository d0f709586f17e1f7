"""The schedule record shared by the store, the scheduling service, the engine and REST."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from ..models import Job, iso
from .cron import describe, expand

FORBID, ALLOW, REPLACE = "forbid", "allow", "replace"
CONCURRENCY_POLICIES = (FORBID, ALLOW, REPLACE)
RUN_ONCE, SKIP, RUN_ALL = "run_once", "skip", "run_all"
MISFIRE_POLICIES = (RUN_ONCE, SKIP, RUN_ALL)
# Why a tick started no run.
OVERLAP, MISSED, INVALID = "overlap", "missed", "invalid"


@dataclasses.dataclass
class Schedule:
    """One recurring job. Times are Unix timestamps (UTC); ``job`` is what each run submits
    (instance_type, image, command or notebook and parameters)."""

    id: str
    name: str
    user: str
    group: str
    cron: str
    timezone: str
    job: dict[str, Any]
    enabled: bool = True
    concurrency_policy: str = FORBID
    misfire_policy: str = RUN_ONCE
    starting_deadline_seconds: int = 60
    start_at: float | None = None
    end_at: float | None = None
    next_run_at: float | None = None
    last_tick_at: float | None = None
    invalid_reason: str | None = None
    created_at: float = dataclasses.field(default_factory=time.time)
    updated_at: float = dataclasses.field(default_factory=time.time)
    seq: int = 0

    def to_json(self, last_run: Job | None = None) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "group": self.group,
            "user": self.user,
            "enabled": self.enabled,
            "cron": self.cron,
            "timezone": self.timezone,
            "description": describe(expand(self.cron)),
            "job": self.job,
            "concurrency_policy": self.concurrency_policy,
            "misfire_policy": self.misfire_policy,
            "starting_deadline_seconds": self.starting_deadline_seconds,
            "start_at": iso(self.start_at),
            "end_at": iso(self.end_at),
            "next_run_at": iso(self.next_run_at) if self.enabled else None,
            "last_run": _run_summary(last_run),
            "invalid_reason": self.invalid_reason,
            "created_at": iso(self.created_at),
            "updated_at": iso(self.updated_at),
        }


def _run_summary(job: Job | None) -> dict[str, Any] | None:
    if job is None:
        return None
    return {
        "id": job.id,
        "status": job.status,
        "trigger": job.trigger,
        "scheduled_for": iso(job.scheduled_for),
        "created_at": iso(job.created_at),
    }

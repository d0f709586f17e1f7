"""The job record shared by the store, the service, the backends and the REST layer."""

from __future__ import annotations

import dataclasses
import json
import math
import time
from typing import Any

PENDING = "Pending"
PREPARING = "Preparing"
RUNNING = "Running"
SUCCEEDED = "Succeeded"
FAILED = "Failed"
CANCELLED = "Cancelled"

# What started a job.
MANUAL = "manual"
SCHEDULE = "schedule"
RERUN = "rerun"

STATUSES = (PENDING, PREPARING, RUNNING, SUCCEEDED, FAILED, CANCELLED)
ACTIVE_STATUSES = (PREPARING, RUNNING)
FINAL_STATUSES = (SUCCEEDED, FAILED, CANCELLED)


def iso(timestamp: float | None) -> str | None:
    """ISO-8601 UTC with milliseconds and a ``Z``, or None."""
    if timestamp is None:
        return None
    milliseconds = round(timestamp * 1000)
    seconds, fraction = divmod(milliseconds, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{fraction:03d}Z"


def dumps(value: Any) -> str:
    """A response's JSON text. Strict JSON: a NaN or an Infinity fails here, on the server,
    instead of making the whole response unreadable to a browser's JSON.parse."""
    return json.dumps(value, allow_nan=False)


def _finite_or_none(text: str) -> float | None:
    number = float(text)
    return number if math.isfinite(number) else None


def stored_parameters(text: str) -> Any:
    """A job's stored parameters. Records from before non-finite numbers were refused may
    hold NaN or Infinity (or 1e999): shown as null, so that their list stays valid JSON."""
    return json.loads(text, parse_constant=lambda _: None, parse_float=_finite_or_none)


def human_duration(seconds: float) -> str:
    """``90`` -> ``1m30s``, ``86399`` -> ``23h59m59s``; from a day on, whole days first:
    ``604800`` -> ``7 days``, ``129600`` -> ``1 day 12h``."""
    seconds = round(seconds)
    days, seconds = divmod(seconds, 86400)
    parts = []
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    if seconds or not (parts or days):
        parts.append(f"{seconds}s")
    rest = "".join(parts)
    if not days:
        return rest
    day_text = f"{days} day" if days == 1 else f"{days} days"
    return f"{day_text} {rest}" if rest else day_text


@dataclasses.dataclass(frozen=True)
class Origin:
    """What started a job, for ``JobService.create``: a schedule's tick or its Run now."""

    trigger: str
    schedule_id: str
    schedule_name: str
    scheduled_for: float | None = None


@dataclasses.dataclass
class Job:
    """One job. Times are Unix timestamps (UTC); ``to_json`` renders the REST shape."""

    id: str
    name: str
    user: str
    group: str
    instance_type: str
    image: str
    command: str
    status: str = PENDING
    message: str = ""
    created_at: float = dataclasses.field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    exit_code: int | None = None
    logs_available: bool = True
    rerun_of: str | None = None
    schedule_id: str | None = None
    schedule_name: str | None = None
    trigger: str = MANUAL
    scheduled_for: float | None = None  # the schedule's tick this run is for
    max_runtime_seconds: int = 86400
    cpu: float = 1.0
    cancel_requested_by: str | None = None
    backend_state: str = ""
    notebook: str | None = None
    parameters: str | None = None  # JSON object, as text
    output_path: str | None = None
    seq: int = 0

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None:
            return None
        end = self.finished_at if self.finished_at is not None else time.time()
        return round(max(0.0, end - self.started_at), 3)

    @property
    def gpus(self) -> list[str]:
        """The GPU devices the backend gave the job, as recorded in its backend_state."""
        try:
            state = json.loads(self.backend_state or "{}")
        except ValueError:
            return []
        devices = state.get("gpus") if isinstance(state, dict) else None
        return [str(device) for device in devices] if isinstance(devices, list) else []

    def to_json(self) -> dict[str, Any]:
        schedule = (
            {"id": self.schedule_id, "name": self.schedule_name} if self.schedule_id else None
        )
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "message": self.message,
            "user": self.user,
            "group": self.group,
            "instance_type": self.instance_type,
            "image": self.image,
            "command": self.command,
            "schedule": schedule,
            "trigger": self.trigger,
            "scheduled_for": iso(self.scheduled_for),
            "created_at": iso(self.created_at),
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "duration_seconds": self.duration_seconds,
            "exit_code": self.exit_code,
            "logs_available": self.logs_available,
            "rerun_of": self.rerun_of,
            "notebook": self.notebook,
            "parameters": stored_parameters(self.parameters) if self.parameters else None,
            "output_path": self.output_path,
            "gpus": self.gpus,
        }

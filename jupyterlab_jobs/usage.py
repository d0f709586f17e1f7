"""What a job used (CPU, memory, GPU), as its backend sampled it, for members of its group.

The local backend's samples are written by the job's supervisor into the job's
directory, which the job can write too: the file is read with safe_files and every
sample is checked; a malformed file gives no samples and a message, never an error.
"""

from __future__ import annotations

import math
from typing import Any

from .backends.safe_files import UnsafeFile, read_json_object
from .errors import LogsGone
from .models import human_duration
from .service import JobService

MAX_SAMPLES = 1000  # the supervisor keeps at most 720


def _number(value: Any) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


def _sample(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, list) or len(raw) != 4 or not all(map(_number, raw[:3])):
        return None
    sample = {"t": raw[0], "cpu": raw[1], "memory_bytes": int(raw[2])}
    if _number(raw[3]):
        sample["gpu"] = raw[3]
    elif raw[3] is not None:
        return None
    return sample


def job_usage(service: JobService, user: str, job_id: str) -> dict[str, Any]:
    """``{available, samples: [{t, cpu, memory_bytes, gpu?}], peak_memory_bytes,
    cpu_seconds, memory_limit_bytes, message}``."""
    job = service.get(user, job_id)
    instance_type = service.catalog.instance_type(job.instance_type)
    reply: dict[str, Any] = {
        "available": True,
        "samples": [],
        "peak_memory_bytes": 0,
        "cpu_seconds": 0.0,
        "memory_limit_bytes": instance_type.memory_bytes if instance_type else None,
        "message": "",
    }
    path = service.backend.usage_file(job)
    if path is None:
        reply["available"] = False
        reply["message"] = "Resource use is not recorded on this installation"
        return reply
    if not job.logs_available:
        raise LogsGone(
            f"The resource use of job {job.name!r} was removed with its logs, "
            f"{human_duration(service.log_retention_seconds)} after it finished"
        )
    try:
        data = read_json_object(path.parent, path.name)
    except FileNotFoundError:
        return reply  # not started yet
    except (UnsafeFile, OSError) as error:
        reply["message"] = f"The job's usage record cannot be read: {error}"
        return reply
    raw_samples = data.get("samples")
    samples = [_sample(raw) for raw in raw_samples] if isinstance(raw_samples, list) else [None]
    if len(samples) > MAX_SAMPLES or None in samples:
        reply["message"] = "The job's usage record is malformed"
        return reply
    reply["samples"] = samples
    for key in ("peak_memory_bytes", "cpu_seconds"):
        if _number(data.get(key)):
            reply[key] = data[key]
    return reply

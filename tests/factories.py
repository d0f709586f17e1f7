"""Records the tests write into a store directly, with placeholder values."""

from __future__ import annotations

from typing import Any

from jupyterlab_jobs.models import SUCCEEDED, Job


def make_job(**overrides: Any) -> Job:
    """A job of alice's in "research" that runs `true`; ``overrides`` set any field."""
    fields: dict[str, Any] = {
        "id": "0123456789abcdef",
        "name": "test job",
        "user": "alice",
        "group": "research",
        "instance_type": "cpu-half",
        "image": "base",
        "command": "true",
    }
    return Job(**{**fields, **overrides})


def secret_job(job_id: str) -> Job:
    """A finished job of group `secret`, which alice is not in (finished: a pending one
    would be started by the background dispatch)."""
    return make_job(id=job_id, name="classified", user="carol", group="secret", status=SUCCEEDED)

"""The list's JSON rendering and its cache of finished jobs."""

from __future__ import annotations

import json

from factories import make_job

from jupyterlab_jobs.handlers import RenderedJobs
from jupyterlab_jobs.models import FAILED, RUNNING, Job


def job(index: int, status: str = FAILED, logs: bool = True) -> Job:
    return make_job(
        id=f"j{index}",
        status=status,
        created_at=9.0,
        started_at=10.0,
        finished_at=12.5 if status == FAILED else None,
        logs_available=logs,
    )


def test_rendered_text_is_the_job_json_and_follows_logs_available() -> None:
    cache = RenderedJobs(size=10)
    first = cache.render(job(1))
    assert json.loads(first) == job(1).to_json()
    assert cache.render(job(1)) is first, "a finished job is rendered once"
    removed = json.loads(cache.render(job(1, logs=False)))
    assert removed["logs_available"] is False


def test_active_jobs_are_never_cached_and_the_cache_is_bounded() -> None:
    cache = RenderedJobs(size=3)
    running = job(1, status=RUNNING)
    assert cache.render(running) is not cache.render(running)
    for index in range(10):
        cache.render(job(index))
    assert len(cache._texts) == 3
    assert set(cache._texts) == {("j7", True), ("j8", True), ("j9", True)}

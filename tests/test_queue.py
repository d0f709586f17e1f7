"""The queue: claims under the lock, backend starts outside it, on the app's own pool."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, ClassVar

import pytest

from jupyterlab_jobs.backends.base import JobSpec, Started
from jupyterlab_jobs.backends.local import LocalBackend
from jupyterlab_jobs.models import Job

WORKER_THREADS = 3


class SlowStartBackend(LocalBackend):
    """The local backend, except that a job named "slow" starts only once released (like
    a Kubernetes API call that hangs, or a launch waiting for its timeout)."""

    release = threading.Event()
    start_threads: ClassVar[list[str]] = []

    def start(self, spec: JobSpec, active: list[Job]) -> Started:
        SlowStartBackend.start_threads.append(threading.current_thread().name)
        if spec.job.name == "slow":
            assert SlowStartBackend.release.wait(60), "the test never released the start"
        return super().start(spec, active)


@pytest.fixture
def jobs_settings() -> dict[str, Any]:
    SlowStartBackend.release.clear()
    SlowStartBackend.start_threads.clear()
    return {"JobsApp": {"backend_class": SlowStartBackend, "worker_threads": WORKER_THREADS}}


async def test_a_slow_start_blocks_no_other_submit_cancel_or_list(api: Any, jobs_app: Any) -> None:
    slow_submit = asyncio.ensure_future(api.submit("echo slow", name="slow"))
    try:
        while not SlowStartBackend.start_threads:  # the slow job is in backend.start
            assert not slow_submit.done(), await slow_submit
            await asyncio.sleep(0.02)
        began = time.monotonic()
        fast = await asyncio.wait_for(api.submit("echo fast", name="fast"), 10)
        assert (await api.wait(fast["id"]))["status"] == "Succeeded"
        listed = await asyncio.wait_for(api.call("GET", "jobs"), 10)
        (slow,) = [job for job in listed["jobs"] if job["name"] == "slow"]
        assert slow["status"] == "Preparing"
        cancelling = await asyncio.wait_for(api.call("POST", f"jobs/{slow['id']}/cancel"), 10)
        assert cancelling["message"] == "Cancelling (requested by alice)"
        assert time.monotonic() - began < 10
        assert not slow_submit.done(), "the slow start was released early"
    finally:
        SlowStartBackend.release.set()
    await asyncio.wait_for(slow_submit, 30)
    done = await api.wait(slow["id"])
    assert done["status"] == "Cancelled", done


async def test_blocking_work_runs_on_the_apps_bounded_pool_shut_down_on_stop(
    api: Any, jobs_app: Any
) -> None:
    SlowStartBackend.release.set()
    await asyncio.gather(*(api.call("GET", "jobs") for _ in range(30)))
    job = await api.submit("true")
    await api.wait(job["id"])
    assert SlowStartBackend.start_threads[0].startswith("jupyterlab-jobs")
    pool = {t.name for t in threading.enumerate() if t.name.startswith("jupyterlab-jobs")}
    assert 1 <= len(pool) <= WORKER_THREADS
    executor = jobs_app.executor
    await jobs_app.stop_extension()
    assert jobs_app.executor is None
    with pytest.raises(RuntimeError, match="shutdown"):
        executor.submit(print)
    assert not [t for t in threading.enumerate() if t.name.startswith("jupyterlab-jobs")]

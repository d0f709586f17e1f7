"""Two servers on one store fire each tick of a schedule exactly once (SQLite and
PostgreSQL). Each "server" is its own Store, JobService, LocalBackend and Engine, as in a
server process; both handle every tick at the same moment, in parallel threads, as two
servers woken by the same due tick would. Time is given to the engines (no waiting)."""

from __future__ import annotations

import collections
import concurrent.futures
from pathlib import Path

from server_process import catalog

from jupyterlab_jobs.backends.local import LocalBackend
from jupyterlab_jobs.catalog import Catalog
from jupyterlab_jobs.scheduling.engine import Engine
from jupyterlab_jobs.scheduling.service import ScheduleService
from jupyterlab_jobs.service import JobService
from jupyterlab_jobs.store import Store
from jupyterlab_jobs.store.schedules import ScheduleStore

T0 = 1_893_456_000.0  # 2030-01-01 00:00 UTC
TICKS = 100


def server(db_url: str, data_dir: Path, root: Path) -> Engine:
    store = Store(db_url)
    jobs = JobService(
        store=store,
        catalog=Catalog.load(**catalog(root)),
        backend=LocalBackend(data_dir=str(data_dir), max_concurrent_jobs=2, cpu_capacity=2),
        groups_for=lambda user: ["research"],
        snapshots_dir=data_dir / "notebooks",
    )
    return Engine(ScheduleService(jobs=jobs, store=ScheduleStore(store), clock=lambda: T0))


def test_two_servers_fire_each_of_100_ticks_exactly_once(db_url: str, tmp_path: Path) -> None:
    engines = [server(db_url, tmp_path / "data", tmp_path) for _ in range(2)]
    schedule = engines[0].schedules.create(
        "alice",
        {
            "name": "every minute",
            "group": "research",
            "cron": "* * * * *",
            "concurrency_policy": "allow",
            "job": {"instance_type": "cpu-half", "image": "base", "command": "true"},
        },
    )
    started = []
    try:
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            for minute in range(1, TICKS + 1):
                now = [T0 + 60 * minute] * len(engines)
                started.append(sum(pool.map(Engine.fire_due, engines, now)))
        runs = engines[1].store.runs(schedule.id, 1000)
        ticks = collections.Counter(job.scheduled_for for job in runs)
        assert len(runs) == TICKS
        assert sorted(ticks) == [T0 + 60 * minute for minute in range(1, TICKS + 1)]
        assert set(ticks.values()) == {1}
        assert started == [1] * TICKS  # one of the two servers started each tick's run
        assert engines[0].store.skipped_ticks(schedule.id, 1000) == []
    finally:
        for engine in engines:
            for job in engine.jobs.store.active():
                engine.jobs.backend.cancel(job)
            engine.jobs.store.close()

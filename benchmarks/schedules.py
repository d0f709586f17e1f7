"""Schedules: with 10 000 enabled schedules in the store, a due run starts within 1 s of
its tick, and the scheduler costs no CPU between ticks (it sleeps until the next one)."""

from __future__ import annotations

import secrets
import time
from datetime import datetime, timezone
from pathlib import Path

from .harness import Deadline, Server, cpu_seconds, percentile, summary
from .suites import Result, Settings

UTC = timezone.utc


def fill_schedules(path: Path, count: int, not_before: float) -> float:
    """``count`` enabled schedules (varied crons and zones) that start at ``not_before``;
    seconds taken."""
    from jupyterlab_jobs.scheduling.cron import Recurrence
    from jupyterlab_jobs.scheduling.model import Schedule
    from jupyterlab_jobs.store import Store
    from jupyterlab_jobs.store.schedules import ScheduleStore

    zones = ["UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]
    begin = time.perf_counter()
    store = Store(path)
    schedules = ScheduleStore(store)
    with store.transaction():
        for i in range(count):
            cron = f"{i % 60} {i % 24} {1 + i % 28} * *"
            zone = zones[i % len(zones)]
            start = datetime.fromtimestamp(not_before, UTC)
            next_run = Recurrence.parse(cron, zone).next_after(start)
            assert next_run is not None
            schedules.insert(
                Schedule(
                    id=secrets.token_hex(8),
                    name=f"filler {i}",
                    user="alice",
                    group="research",
                    cron=cron,
                    timezone=zone,
                    job={"instance_type": "cpu-half", "image": "base", "command": "true"},
                    start_at=not_before,
                    next_run_at=next_run.timestamp(),
                )
            )
    store.close()
    return time.perf_counter() - begin


def _seconds(iso: str | None) -> float:
    assert iso is not None
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def bench_schedules(settings: Settings) -> Result:
    result = Result("schedules", "Schedules: 10 000 enabled, a due run starts within 1 s")
    total = 10_000
    probes = settings.n(10, 4)
    ticks = settings.n(3, 1)
    idle_seconds = settings.n(30, 10)
    server = Server("schedules", max_concurrent_jobs=probes + 2, cpu_capacity=probes + 2)
    try:
        fill_seconds = fill_schedules(server.data_dir / "jobs.sqlite", total, time.time() + 7200)
        server.start()
        client = server.client()
        # Idle: nothing is due for two hours. The server's other loops (reconcile every
        # 2 s) are included: this is the whole server's CPU.
        time.sleep(2)
        cpu_before, wall_before = cpu_seconds(server.pid), time.monotonic()
        time.sleep(idle_seconds)
        idle = (cpu_seconds(server.pid) - cpu_before) / (time.monotonic() - wall_before)
        probe_ids = [
            client.json(
                "POST",
                "/schedules",
                {
                    "name": f"probe {i}",
                    "group": "research",
                    "cron": "* * * * *",
                    "concurrency_policy": "allow",
                    "job": {"instance_type": "cpu-half", "image": "base", "command": "true"},
                },
                expect=201,
            )["id"]
            for i in range(probes)
        ]
        budget = Deadline(60 * ticks + 90)
        runs: dict[str, list[dict[str, object]]] = {}
        while budget.left():
            runs = {
                sid: [
                    r["job"]
                    for r in client.json("GET", f"/schedules/{sid}/runs")["runs"]
                    if r["job"] and r["job"]["started_at"]
                ]
                for sid in probe_ids
            }
            if all(len(found) >= ticks for found in runs.values()):
                break
            time.sleep(1)
        budget.check("waiting for the probes' runs")
        jobs = [job for found in runs.values() for job in found[:ticks]]
        accepted_ms = [
            (_seconds(str(j["created_at"])) - _seconds(str(j["scheduled_for"]))) * 1000
            for j in jobs
        ]
        started_ms = [
            (_seconds(str(j["started_at"])) - _seconds(str(j["scheduled_for"]))) * 1000
            for j in jobs
        ]
        client.close()
        result.goal(
            "tick -> run started (Running), p99", percentile(started_ms, 0.99), "ms", "<", 1000
        )
        result.reference("tick -> job submitted, p99", percentile(accepted_ms, 0.99), "ms")
        result.goal("server CPU while no tick is due", idle * 100, "%", "<", 2)
        result.details.update(
            schedules_in_store=total + probes,
            probes=probes,
            ticks_per_probe=ticks,
            fill_seconds=round(fill_seconds, 1),
            tick_to_submitted_ms=summary(accepted_ms),
            tick_to_running_ms=summary(started_ms),
            idle_window_seconds=idle_seconds,
        )
        result.notes.append(
            f"{probes} every-minute schedules fire together at each minute among {total} "
            "others due in two hours or later; times are the job's own created_at and "
            "started_at against its scheduled_for (one clock: the server's)."
        )
    finally:
        server.stop()
        server.kill_leftover_supervisors()
        if not settings.keep:
            server.remove()
    return result

"""Two service processes (real Jupyter servers) on one PostgreSQL database: capacity is
counted over both, no job runs twice, none is lost, and when one is SIGKILLed the other
finishes the queue and reconciles the killed one's jobs."""

from __future__ import annotations

import collections
import concurrent.futures
import itertools
import os
import threading
import time
from pathlib import Path
from typing import Any

from conftest import server_config
from pg_server import PostgresServer
from server_process import ServerProcess

CAPACITY = 4
# The 1 000 jobs: about 50-75 s on a busy 2-core machine. JOBS_REPLICA_TEST_JOBS
# sets another number (e.g. a quick local check).
JOB_COUNT = int(os.environ.get("JOBS_REPLICA_TEST_JOBS", "1000"))
FINAL = {"Succeeded", "Failed", "Cancelled"}
NEVER_STARTED = "The job never started: the server stopped while preparing it"
# Each job notes its start and end; the pause makes overlapping jobs overlap visibly.
COMMAND = (
    'echo "$JOB_ID S $(date +%s.%N)" >> research/runs.log; sleep 0.05; '
    'echo "$JOB_ID E $(date +%s.%N)" >> research/runs.log'
)


def replica_config(tmp_path: Path, db_url: str) -> dict[str, Any]:
    config = server_config(tmp_path, db_url=db_url, reconcile_interval_seconds=0.5)
    config["LocalBackend"].update(
        max_concurrent_jobs=CAPACITY, cpu_capacity=CAPACITY, launch_timeout_seconds=5
    )
    return config


def most_at_once(runs: list[tuple[str, str, float]]) -> int:
    """The largest number of jobs between their S and E lines at one time."""
    events = sorted((at, 1 if kind == "S" else -1) for _, kind, at in runs)
    return max(itertools.accumulate(change for _, change in events))


def test_two_replicas_on_postgresql_share_the_queue_and_survive_a_sigkill(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    config = replica_config(tmp_path, postgres.create_database())
    replicas = [ServerProcess(tmp_path, config, name=name) for name in ("a", "b")]
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        list(pool.map(ServerProcess.start, replicas))
    survivor, victim = replicas  # submissions alternate: even to the survivor
    body = {"group": "research", "instance_type": "cpu-half", "image": "base"}
    submitted: list[str] = []
    lock = threading.Lock()
    began = time.monotonic()

    def submit(index: int) -> None:
        request = {**body, "name": f"j{index}", "command": COMMAND}
        try:
            job = replicas[index % 2].call("POST", "jobs", request)
        except (AssertionError, OSError):
            if index % 2 == 0:
                raise
            # The victim is gone (like a load balancer, send it to the other). Had the
            # victim stored it before dying, that job is in the database too: it counts.
            job = survivor.call("POST", "jobs", request)
        with lock:
            submitted.append(job["id"])

    log = Path(config["JobsApp"]["data_dir"]) / "projects" / "research" / "runs.log"

    def kill_half_way() -> None:
        while not log.exists() or log.read_text().count(" E ") < JOB_COUNT // 2:
            time.sleep(0.05)
        victim.kill()

    try:
        killer = threading.Thread(target=kill_half_way)
        killer.start()
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            list(pool.map(submit, range(JOB_COUNT)))
        killer.join(120)
        assert victim.process is not None and victim.process.poll() is not None
        finals = wait_all_final(survivor, submitted, timeout=240)
    finally:
        for replica in replicas:
            replica.stop()
    elapsed = time.monotonic() - began

    lines = log.read_text().splitlines()
    runs = [(i, kind, float(at)) for i, kind, at in (line.split() for line in lines)]
    starts = collections.Counter(i for i, kind, _ in runs if kind == "S")
    assert max(starts.values()) == 1, "a job ran twice"
    # The victim may have stored (and run) a job whose answer it never sent: it counts.
    assert set(starts) <= set(finals), "a job ran that is not in the database"
    statuses = collections.Counter(job["status"] for job in finals.values())
    succeeded = {i for i, job in finals.items() if job["status"] == "Succeeded"}
    ran_not_succeeded = {i: finals[i] for i in set(starts) - succeeded}
    assert succeeded == set(starts), f"ran but not Succeeded: {ran_not_succeeded}"
    # A job the victim had claimed but not yet launched when killed cannot have run; the
    # survivor fails it with a message (never starting it twice is the rule).
    unfinished = {i: job["message"] for i, job in finals.items() if job["status"] != "Succeeded"}
    assert all(message.startswith(NEVER_STARTED) for message in unfinished.values()), unfinished
    assert len(unfinished) <= CAPACITY, statuses
    assert most_at_once(runs) <= CAPACITY, "more jobs ran at once than the shared capacity"
    assert len(submitted) == JOB_COUNT
    print(
        f"{len(finals)} jobs ({len(submitted)} answered) on 2 replicas, one SIGKILLed, "
        f"in {elapsed:.1f} s: {dict(statuses)}, at most {most_at_once(runs)} at once"
    )


def wait_all_final(
    server: ServerProcess, job_ids: list[str], timeout: float
) -> dict[str, dict[str, Any]]:
    """Every job in the database, once all are final; each of ``job_ids`` must be there."""
    end = time.monotonic() + timeout
    while True:
        jobs: dict[str, dict[str, Any]] = {}
        cursor = ""
        while True:
            page = server.call("GET", f"jobs?group=research&limit=200&cursor={cursor}")
            jobs.update((job["id"], job) for job in page["jobs"])
            cursor = page["next_cursor"]
            if not cursor:
                break
        missing = set(job_ids) - set(jobs)
        assert not missing, f"jobs lost: {sorted(missing)[:5]}"
        waiting = [i for i, job in jobs.items() if job["status"] not in FINAL]
        if not waiting:
            return jobs
        assert time.monotonic() < end, f"{len(waiting)} jobs never ended, e.g. {jobs[waiting[0]]}"
        time.sleep(0.5)

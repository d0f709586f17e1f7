"""The benchmarks. Each takes a ``Settings`` and returns a ``Result`` (metrics with goals).

Every benchmark starts its own real Jupyter server (see harness.py), so each can run alone
(``--only NAME``) and none disturbs another's measurement.
"""

from __future__ import annotations

import dataclasses
import functools
import http.client
import itertools
import json
import random
import shlex
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .harness import (
    STARTED,
    USER,
    USER_GROUPS,
    Client,
    Databases,
    Deadline,
    Server,
    cpu_seconds,
    query,
    rss_kib,
    running_server,
    summary,
)

MiB = 1024 * 1024


def bench_schedules(settings: Settings) -> Result:
    """In benchmarks/schedules.py (imported here: it uses this module's Result)."""
    from .schedules import bench_schedules as run

    return run(settings)


@dataclasses.dataclass
class Settings:
    quick: bool = False
    keep: bool = False
    databases: Databases = dataclasses.field(default_factory=Databases)

    def n(self, full: int, quick: int) -> int:
        return quick if self.quick else full


@dataclasses.dataclass
class Metric:
    name: str
    value: float
    unit: str
    goal: str  # e.g. "< 50"
    passed: bool | None  # None: reference only, no goal
    peer: str = ""  # jupyter-scheduler's number from the issue, for comparison


@dataclasses.dataclass
class Result:
    name: str
    title: str
    metrics: list[Metric] = dataclasses.field(default_factory=list)
    details: dict[str, Any] = dataclasses.field(default_factory=dict)
    notes: list[str] = dataclasses.field(default_factory=list)
    error: str = ""
    seconds: float = 0.0

    def goal(
        self, name: str, value: float, unit: str, op: str, limit: float, peer: str = ""
    ) -> Metric:
        checks: dict[str, Callable[[float, float], bool]] = {
            "<": lambda v, lim: v < lim,
            "<=": lambda v, lim: v <= lim,
            ">=": lambda v, lim: v >= lim,
            "==": lambda v, lim: v == lim,
            "+-": lambda v, lim: abs(v) <= lim,
        }
        metric = Metric(
            name, round(value, 3), unit, f"{op} {limit:g}", checks[op](value, limit), peer
        )
        self.metrics.append(metric)
        return metric

    def reference(self, name: str, value: float, unit: str, peer: str = "") -> Metric:
        metric = Metric(name, round(value, 3), unit, "", None, peer)
        self.metrics.append(metric)
        return metric

    @property
    def passed(self) -> bool:
        return not self.error and all(m.passed is not False for m in self.metrics)


def _named(benchmark: str, engine: str) -> str:
    """The SQLite run keeps the benchmark's historical name; others add the engine."""
    return benchmark if engine == "sqlite" else f"{benchmark}-{engine}"


def _ms(seconds: float) -> float:
    return seconds * 1000.0


# -- 1. submit -> Running, first log byte ---------------------------------------------------
def bench_latency(settings: Settings) -> Result:
    result = Result("latency", "Submit an echo job: time to Running and to its first log byte")
    samples = settings.n(30, 6)
    with running_server("latency", keep=settings.keep) as server:
        client = server.client()
        for _ in range(3):  # warm up the server's threads, connections and imports
            client.wait(client.submit("echo warm")["id"])
        to_running, post_ms, said_running = [], [], 0
        for _ in range(samples):
            start = time.perf_counter()
            job = client.submit("echo hi")
            posted = time.perf_counter()
            post_ms.append(_ms(posted - start))
            status = job["status"]
            if status in STARTED:
                said_running += 1
                seen = posted
            else:
                seen = _poll_until(lambda j=job: client.job(j["id"])["status"] in STARTED)
            to_running.append(_ms(seen - start))
            client.wait(job["id"])
        first_byte = []
        for _ in range(samples):
            start = time.perf_counter()
            job = client.submit("echo hi")
            seen = _poll_until(lambda j=job: _log_bytes(client, j["id"]) > 0)
            first_byte.append(_ms(seen - start))
            client.wait(job["id"])
        client.close()
    running = summary(to_running)
    logs = summary(first_byte)
    result.goal("submit -> Running, median", running["median"], "ms", "<", 50, peer="~3000 ms")
    result.goal("submit -> first log byte, median", logs["median"], "ms", "<", 100)
    result.reference("POST /jobs round trip, median", statistics.median(post_ms), "ms")
    result.details.update(
        submit_to_running_ms=running,
        first_log_byte_ms=logs,
        post_round_trip_ms=summary(post_ms),
        post_response_already_running=f"{said_running}/{samples}",
    )
    breakdown = result.details["breakdown"] = _create_breakdown(settings)
    result.reference(
        "supervisor launch alone (backend.start, timed in-process), median",
        breakdown["backend_start_ms (supervisor launch)"]["median"],
        "ms",
    )
    result.reference(
        "bare `python -I -S -c pass`, median", breakdown["python_startup_floor_ms"]["median"], "ms"
    )
    return result


def _poll_until(done: Callable[[], bool], timeout: float = 15.0, pause: float = 0.002) -> float:
    """perf_counter() at the first poll where ``done()`` is true."""
    budget = Deadline(timeout)
    while budget.left():
        if done():
            return time.perf_counter()
        time.sleep(pause)
    raise TimeoutError(f"condition not met within {timeout:g}s")


def _log_bytes(client: Client, job_id: str) -> int:
    status, _, body = client.request("GET", f"/jobs/{job_id}/logs")
    return len(body) if status == 200 else 0


def _create_breakdown(settings: Settings) -> dict[str, Any]:
    """Where the time of a submit goes: JobService.create in this process, timed by part.

    The same code the POST handler runs in a worker thread, minus HTTP: a fresh store and a
    LocalBackend like the server's. backend.start is the supervisor launch (it waits for
    the supervisor's "ok"); the floor is a bare ``python -I -S -c pass``.
    """
    from jupyterlab_jobs.backends.local import LocalBackend
    from jupyterlab_jobs.catalog import Catalog
    from jupyterlab_jobs.service import JobService
    from jupyterlab_jobs.store import Store

    server = Server("breakdown")  # only for its work directory and config; never started
    try:
        config = server.config
        data_dir = server.data_dir
        jobs = config["JobsApp"]
        cat = Catalog.load(
            groups=jobs["groups"],
            instance_types=jobs["instance_types"],
            images=jobs["images"],
            datasets=jobs["datasets"],
        )
        store = Store(data_dir / "jobs.sqlite")
        backend = LocalBackend(data_dir=str(data_dir), **config["LocalBackend"])
        service = JobService(
            store=store,
            catalog=cat,
            backend=backend,
            groups_for=lambda user: USER_GROUPS.get(user, []),
        )
        start_ms: list[float] = []
        real_start = backend.start

        def timed_start(*args: Any) -> Any:
            begin = time.perf_counter()
            try:
                return real_start(*args)
            finally:
                start_ms.append(_ms(time.perf_counter() - begin))

        backend.start = timed_start  # type: ignore[method-assign]
        create_ms = []
        body = {
            "name": "bench",
            "group": "research",
            "instance_type": "cpu-half",
            "image": "base",
            "command": "echo hi",
        }
        for _ in range(settings.n(15, 4)):
            begin = time.perf_counter()
            job = service.create(USER, body)
            create_ms.append(_ms(time.perf_counter() - begin))
            budget = Deadline(10)
            while budget.left() and not store.get(job.id).is_final:  # type: ignore[union-attr]
                time.sleep(0.01)
                service.refresh(job.id)
        floor = []
        for _ in range(settings.n(10, 3)):
            begin = time.perf_counter()
            subprocess.run([sys.executable, "-I", "-S", "-c", "pass"], check=True)
            floor.append(_ms(time.perf_counter() - begin))
        store.close()
        create = summary(create_ms)
        launch = summary(start_ms)
        return {
            "service_create_ms": create,
            "backend_start_ms (supervisor launch)": launch,
            "create_minus_launch_ms (validation, SQLite)": round(
                create["median"] - launch["median"], 3
            ),
            "python_startup_floor_ms": summary(floor),
        }
    finally:
        if not settings.keep:
            server.remove()


# -- 2. listing with 100 000 jobs -----------------------------------------------------------
LIST_GROUPS = ["research", "ops", "secret"]
LIST_USERS = ["alice", "bob", "carol", "dave"]
LIST_STATUSES = ["Succeeded", "Failed", "Cancelled"]


def fill_store(
    database: str | Path, count: int, seed: int = 7, start: float | None = None
) -> float:
    """``count`` finished jobs over several groups, users and statuses; seconds taken.

    On PostgreSQL the table is then analyzed, as autovacuum does within a minute of such
    an insert, so that the planner's statistics are those of a database in use."""
    from jupyterlab_jobs.models import Job
    from jupyterlab_jobs.store import Store

    rng = random.Random(seed)
    now = time.time()
    logs_expired = now - 7 * 86400  # the default log retention
    start = now - 30 * 86400 if start is None else start
    step = (now - start) / max(count, 1)

    def jobs() -> Any:
        for i in range(count):
            created = start + i * step
            status = rng.choice(LIST_STATUSES)
            yield Job(
                id=f"{rng.getrandbits(64):016x}",
                name=f"job {i} {rng.choice(['train', 'etl', 'report', 'eval'])}",
                user=rng.choice(LIST_USERS),
                group=rng.choice(LIST_GROUPS),
                instance_type="cpu-half",
                image="base",
                command="python train.py --epochs 3",
                status=status,
                message={"Succeeded": "", "Failed": "Exited with code 1"}.get(
                    status, "Cancelled by alice"
                ),
                created_at=created,
                started_at=created + 1,
                finished_at=created + 61,
                exit_code={"Succeeded": 0, "Failed": 1}.get(status, 143),
                logs_available=created + 61 >= logs_expired,
                cpu=0.5,
            )

    begin = time.perf_counter()
    store = Store(database)
    store.insert_many(jobs())
    if store.dialect == "postgresql":
        with store.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
                "ANALYZE jobs"
            )
    store.close()
    return time.perf_counter() - begin


def bench_listing(settings: Settings, engine: str = "sqlite") -> Result:
    result = Result(
        _named("listing", engine), f"List jobs with 100 000 in the store (p95 over HTTP, {engine})"
    )
    total = 100_000
    samples = settings.n(300, 60)
    server = Server(_named("listing", engine), db_url=settings.databases.url(engine))
    try:
        fill_seconds = fill_store(server.database, total)
        server.start()
        client = server.client()
        queries = {
            "newest 50": query(limit=50),
            "filtered (group=research, status=Failed, mine=true)": query(
                group="research", status="Failed", mine="true", limit=50
            ),
        }
        # Follow the cursors once, to the end, to find the last page's cursor.
        cursor, last_cursor, pages, visible = None, None, 0, 0
        walk = Deadline(120)
        begin = time.perf_counter()
        while walk.left():
            page = client.json("GET", "/jobs?" + query(limit=50, cursor=cursor))
            pages += 1
            visible += len(page["jobs"])
            if not page["next_cursor"]:
                break
            last_cursor, cursor = cursor, page["next_cursor"]
        else:
            raise TimeoutError("following the cursors took more than 120 s")
        walk_seconds = time.perf_counter() - begin
        queries["last page"] = query(limit=50, cursor=last_cursor)
        http_ms: dict[str, dict[str, float]] = {}
        server_cpu_ms: dict[str, float] = {}
        floor_label = "GET options (no listing: the HTTP + auth + thread floor)"
        for label, path in [(floor_label, "/options")] + [
            (label, "/jobs?" + params) for label, params in queries.items()
        ]:
            for _ in range(20):
                client.json("GET", path)
            times = []
            budget = Deadline(60)
            cpu_before = cpu_seconds(server.pid)
            for _ in range(samples):
                if not budget.left():
                    break
                begin = time.perf_counter()
                status, _, body = client.request("GET", path)
                times.append(_ms(time.perf_counter() - begin))
                if status != 200:
                    raise RuntimeError(f"GET {path}: {status} {body[:200]!r}")
            server_cpu_ms[label] = round(_ms(cpu_seconds(server.pid) - cpu_before) / len(times), 3)
            http_ms[label] = summary(times)
            if label == floor_label:
                continue
            peer = "16-22 ms (25 of 10 000)" if label == "newest 50" else ""
            result.goal(f"HTTP GET jobs, {label}, p95", http_ms[label]["p95"], "ms", "<", 5, peer)
        client.close()
        direct = _direct_listing(server, queries, last_cursor, samples)
        result.reference("HTTP GET options (floor), p95", http_ms[floor_label]["p95"], "ms")
        for label, cpu in server_cpu_ms.items():
            short = "GET options" if label == floor_label else f"GET jobs, {label}"
            result.reference(f"server CPU per request, {short}", cpu, "ms")
        for label, stats in direct.items():
            if label.startswith("list_jobs "):
                result.reference(f"JobService.{label}, p95", stats["p95"], "ms")
        result.details.update(
            jobs_in_store=total,
            visible_to_alice=visible,
            fill_seconds=round(fill_seconds, 2),
            cursor_walk={"pages": pages, "seconds": round(walk_seconds, 2)},
            http_ms=http_ms,
            server_cpu_ms_per_request=server_cpu_ms,
            direct_ms=direct,
        )
        result.notes.append(
            f"{total} finished jobs inserted with Store.insert_many over groups "
            f"{LIST_GROUPS}, users {LIST_USERS}, statuses {LIST_STATUSES}; alice is in "
            f"{USER_GROUPS['alice']} and sees {visible}."
        )
    finally:
        server.stop()
        if not settings.keep:
            server.remove()
    return result


def _direct_listing(
    server: Server, queries: dict[str, str], last_cursor: str | None, samples: int
) -> dict[str, dict[str, float]]:
    """JobService.list_jobs in this process on the same database (no HTTP), for reference;
    also with the JSON rendering the handler does, to show where the time goes."""
    from jupyterlab_jobs.backends.base import Backend
    from jupyterlab_jobs.catalog import Catalog
    from jupyterlab_jobs.cursors import load_cursor_key
    from jupyterlab_jobs.service import JobService
    from jupyterlab_jobs.store import Store

    jobs = server.config["JobsApp"]
    cat = Catalog.load(
        groups=jobs["groups"],
        instance_types=jobs["instance_types"],
        images=jobs["images"],
        datasets=jobs["datasets"],
    )
    store = Store(server.database)
    service = JobService(
        store=store,
        catalog=cat,
        backend=Backend(),
        groups_for=lambda user: USER_GROUPS.get(user, []),
        snapshots_dir=server.data_dir / "notebooks",
        # The server's cursors (the last page's) are sealed with the data dir's key.
        cursor_key=load_cursor_key(server.data_dir),
    )
    calls: dict[str, dict[str, Any]] = {
        "newest 50": {},
        "filtered (group=research, status=Failed, mine=true)": {
            "group": "research",
            "statuses": ["Failed"],
            "mine": True,
        },
        "last page": {"cursor": last_cursor},
    }
    out: dict[str, dict[str, float]] = {}
    try:
        for label, kwargs in calls.items():
            for render in (False, True):
                times = []
                for i in range(samples + 20):
                    begin = time.perf_counter()
                    page, cursor = service.list_jobs(USER, limit=50, **kwargs)
                    if render:
                        json.dumps({"jobs": [j.to_json() for j in page], "next_cursor": cursor})
                    if i >= 20:
                        times.append(_ms(time.perf_counter() - begin))
                key = f"{'list_jobs + to_json + dumps' if render else 'list_jobs'} {label}"
                out[key] = summary(times)
    finally:
        store.close()
    return out


# -- 3. throughput with the queue on --------------------------------------------------------
def bench_throughput(settings: Settings, engine: str = "sqlite") -> Result:
    result = Result(
        _named("throughput", engine),
        f"Sustained throughput of `true` jobs through a 4-slot queue ({engine})",
    )
    count = settings.n(200, 40)
    slots = 4
    with running_server(
        _named("throughput", engine),
        keep=settings.keep,
        db_url=settings.databases.url(engine),
        max_concurrent_jobs=slots,
    ) as server:
        warm = server.client()
        for _ in range(2):
            warm.wait(warm.submit("true")["id"])
        warm.close()
        runs = {}
        for submitters in (1, 4):
            runs[submitters] = run = _burst(server, count, submitters)
            label = (
                "one client submitting in a loop"
                if submitters == 1
                else f"{submitters} clients submitting at once"
            )
            if run["total_seconds"] is None:
                result.error = f"not all {count} jobs were final in time: {run['statuses']}"
                continue
            rate = count / run["total_seconds"]
            lost = count - run["statuses"].get("Succeeded", 0)
            if submitters == 1:
                result.goal(
                    f"jobs/s, {count} jobs, {slots} slots, {label}",
                    rate,
                    "jobs/s",
                    ">=",
                    20,
                    peer="0.42 jobs/s, no queue",
                )
                result.goal("jobs lost (submitted - Succeeded)", lost, "jobs", "==", 0)
            else:
                result.reference(f"jobs/s, {count} jobs, {slots} slots, {label}", rate, "jobs/s")
                result.goal(f"jobs lost, {label}", lost, "jobs", "==", 0)
            intervals = run["server_side"].get("start_interval_ms (between consecutive starts)")
            if intervals:
                result.reference(
                    f"time between consecutive job starts, median, {label}",
                    intervals["median"],
                    "ms",
                )
            result.details[label] = run
    result.details.update(jobs=count, slots=slots)
    return result


def _burst(server: Server, count: int, submitters: int) -> dict[str, Any]:
    """Submit ``count`` `true` jobs from ``submitters`` connections; wait until all are final."""
    clients = [server.client() for _ in range(submitters)]
    ids: list[str] = []
    errors: list[str] = []

    def submit(client: Client, n: int) -> None:
        try:
            for _ in range(n):
                ids.append(client.submit("true")["id"])
        except Exception as error:
            errors.append(repr(error))

    shares = [count // submitters + (i < count % submitters) for i in range(submitters)]
    threads = [
        threading.Thread(target=submit, args=(c, n), daemon=True)
        for c, n in zip(clients, shares, strict=True)
    ]
    first = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(60.0, count))
    submitted = time.perf_counter()
    if errors or len(ids) != count:
        raise RuntimeError(f"submitting failed: {errors[:3]} ({len(ids)}/{count} accepted)")
    client = clients[0]
    active = query(status=["Pending", "Preparing", "Running"], limit=1)
    budget = Deadline(max(60.0, count / 2.0))
    done = None
    while budget.left():
        if not client.json("GET", "/jobs?" + active)["jobs"]:
            done = time.perf_counter()
            break
        time.sleep(0.02)
    records = _collect(client, set(ids))
    for c in clients:
        c.close()
    statuses: dict[str, int] = {}
    for job in records.values():
        statuses[job["status"]] = statuses.get(job["status"], 0) + 1
    return {
        "submit_phase_seconds": round(submitted - first, 3),
        "submit_rate_per_s": round(count / (submitted - first), 2),
        "total_seconds": round(done - first, 3) if done else None,
        "statuses": statuses,
        "server_side": _server_side_timing(records),
    }


def _collect(client: Client, wanted: set[str]) -> dict[str, dict[str, Any]]:
    """The records of ``wanted`` jobs, found by paging through the list."""
    found: dict[str, dict[str, Any]] = {}
    cursor = None
    for _ in range(len(wanted) // 200 + 50):
        page = client.json("GET", "/jobs?" + query(limit=200, cursor=cursor))
        found.update({j["id"]: j for j in page["jobs"] if j["id"] in wanted})
        cursor = page["next_cursor"]
        if not cursor or len(found) == len(wanted):
            break
    return found


def _iso_seconds(value: str | None) -> float | None:
    if value is None:
        return None
    import datetime

    return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _server_side_timing(records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """From the job records: queue wait, run time, and the gap from a job's end to the next
    start (how fast a freed slot is reused)."""
    jobs = [
        {k: _iso_seconds(j[k]) for k in ("created_at", "started_at", "finished_at")}
        for j in records.values()
        if j["started_at"] and j["finished_at"]
    ]
    if not jobs:
        return {}
    run = [_ms(j["finished_at"] - j["started_at"]) for j in jobs]  # type: ignore[operator]
    starts = sorted(j["started_at"] for j in jobs)  # type: ignore[type-var]
    ends = sorted(j["finished_at"] for j in jobs)  # type: ignore[type-var]
    span = ends[-1] - min(j["created_at"] for j in jobs)  # type: ignore[operator,type-var]
    return {
        "first_created_to_last_finished_s": round(span, 3),
        "started_at_to_finished_at_ms (as recorded)": summary(run),
        "start_interval_ms (between consecutive starts)": summary(
            [_ms(b - a) for a, b in itertools.pairwise(starts)] or [0.0]
        ),
    }


# -- 4. memory ------------------------------------------------------------------------------
WARM_UP_RECORDS = 5000


def bench_memory(settings: Settings) -> Result:
    result = Result("memory", "Supervisor RSS per running job; server RSS over 10 000 jobs")
    total = 10_000
    real_target = settings.n(2000, 60)
    real_budget = settings.n(60, 15)
    batch = 50
    with running_server("memory", keep=settings.keep) as server:
        client = server.client()
        # Warm-up, so that bounded caches (SQLite's page cache per worker thread, the
        # rendered-job cache, the thread pool) are full before the baseline: what is
        # measured is growth per job, i.e. leaks.
        warm_ids = [client.submit("true")["id"] for _ in range(batch)]
        _wait_idle(client, Deadline(120))
        fill_store(
            server.data_dir / "jobs.sqlite", WARM_UP_RECORDS, seed=5, start=time.time() - 2 * 86400
        )
        _touch(client, warm_ids)
        # Supervisors of running jobs.
        sleepers = [client.submit("sleep 60") for _ in range(4)]
        supervisor_kib = []
        for job in sleepers:
            client.wait(job["id"], ("Running",))
            state = json.loads((server.data_dir / "jobs" / job["id"] / "state.json").read_text())
            supervisor_kib.append(rss_kib(int(state["supervisor_pid"])))
        for job in sleepers:
            client.json("POST", f"/jobs/{job['id']}/cancel")
        for job in sleepers:
            client.wait(job["id"])
        time.sleep(1)
        before = _steady_rss(server)
        # 10 000 jobs: real ones in batches through the API, then the rest as records.
        real = 0
        budget = Deadline(real_budget)
        begin = time.perf_counter()
        sample_ids: list[str] = []
        while real < real_target and budget.left():
            ids = [client.submit("echo hello")["id"] for _ in range(batch)]
            sample_ids.extend(ids[:2])
            real += batch
            _wait_idle(client, Deadline(120))
        real_seconds = time.perf_counter() - begin
        after_real = _steady_rss(server)
        inserted = total - real
        fill_store(server.data_dir / "jobs.sqlite", inserted, seed=11, start=time.time() - 86400)
        _touch(client, sample_ids)
        after = _steady_rss(server)
        client.close()
    supervisor = max(supervisor_kib) / 1024
    result.goal(
        "supervisor RSS of a running job (max of 4)",
        supervisor,
        "MiB",
        "<",
        15,
        peer="~155 MiB per running job",
    )
    change = (after - before) / before * 100
    result.goal(f"server RSS change over {total} jobs", change, "%", "+-", 10)
    result.details.update(
        supervisor_rss_kib=supervisor_kib,
        server_rss_kib={
            "before": before,
            f"after {real} real jobs": after_real,
            f"after {total} jobs (+{inserted} inserted records, all listed)": after,
        },
        real_jobs={"count": real, "seconds": round(real_seconds, 1), "batch": batch},
        inserted_records=inserted,
    )
    result.notes.append(
        f"{real} real `echo` jobs ran through the API in batches of {batch} (as many as fit in "
        f"{real_budget} s, at most {real_target}); the other {inserted} of the {total} were "
        "inserted as finished records with Store.insert_many, then every page of the list "
        "was fetched (limit 200) and the logs and records of a sample of real jobs read, so "
        "the server touched all of them. RSS is the median of 5 reads of VmRSS. The baseline "
        f"is taken after a warm-up of {batch} real jobs and {WARM_UP_RECORDS} inserted "
        "records, all listed, so that bounded caches are already full."
    )
    return result


def _wait_idle(client: Client, budget: Deadline) -> None:
    active = query(status=["Pending", "Preparing", "Running"], limit=1)
    while budget.left():
        if not client.json("GET", "/jobs?" + active)["jobs"]:
            return
        time.sleep(0.05)
    raise TimeoutError("jobs still active")


def _touch(client: Client, ids: list[str]) -> None:
    """Fetch every list page, and the record and logs of ``ids``."""
    cursor = None
    for _ in range(1000):
        page = client.json("GET", "/jobs?" + query(limit=200, cursor=cursor))
        cursor = page["next_cursor"]
        if not cursor:
            break
    for job_id in ids:
        client.job(job_id)
        client.request("GET", f"/jobs/{job_id}/logs")
    client.json("GET", "/options")


def _steady_rss(server: Server) -> int:
    reads = []
    for _ in range(5):
        reads.append(server.rss_kib())
        time.sleep(0.2)
    return int(statistics.median(reads))


# -- 5. live log delay ----------------------------------------------------------------------
LOG_PROGRAM = (
    "import time\n"
    "for _ in range({lines}):\n"
    "    print(repr(time.time()), flush=True)\n"
    "    time.sleep(0.1)\n"
)


def bench_logs(settings: Settings) -> Result:
    result = Result("logs", "Live log delay: a follow=1 stream of a line printed every 100 ms")
    lines = settings.n(60, 15)
    with running_server("logs", keep=settings.keep) as server:
        client = server.client()
        client.wait(client.submit("echo warm")["id"])
        program = LOG_PROGRAM.format(lines=lines)
        command = f"python -u -c {shlex.quote(program)}"
        job = client.submit(command, image="python")
        stream = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        stream.request(
            "GET",
            f"/jupyterlab-jobs/jobs/{job['id']}/logs?follow=1",
            headers={"Authorization": f"token {server.token}"},
        )
        response = stream.getresponse()
        if response.status != 200:
            raise RuntimeError(f"follow stream: {response.status}")
        delays, other = [], []
        budget = Deadline(lines * 0.1 + 30)
        while budget.left():
            raw = response.readline()
            received = time.time()
            if not raw:
                break
            try:
                delays.append(_ms(received - float(raw)))
            except ValueError:
                other.append(raw.decode(errors="replace").strip())
        stream.close()
        final = client.wait(job["id"])
        client.close()
    if not delays:
        raise RuntimeError(f"no timestamped lines received; job {final}; other output {other}")
    stats = summary(delays)
    result.goal("receive - print delay, median", stats["median"], "ms", "<", 200)
    result.reference("receive - print delay, p95", stats["p95"], "ms")
    result.details.update(
        delay_ms=stats,
        lines_expected=lines,
        lines_received=len(delays),
        job_status=final["status"],
        other_output=other[:5],
    )
    return result


BENCHMARKS: dict[str, Callable[[Settings], Result]] = {
    "latency": bench_latency,
    "listing": bench_listing,
    "listing-postgresql": functools.partial(bench_listing, engine="postgresql"),
    "throughput": bench_throughput,
    "throughput-postgresql": functools.partial(bench_throughput, engine="postgresql"),
    "memory": bench_memory,
    "logs": bench_logs,
    "schedules": bench_schedules,
    "hub": lambda settings: _bench_hub(settings),
}


def _bench_hub(settings: Settings) -> Result:
    from .hub import bench_hub  # imports this module: only when it runs

    return bench_hub(settings)


PEERS = {
    "tool": "jupyter-scheduler (numbers from the issue, not measured here)",
    "create_to_running": "~3 s",
    "list_p95": "16-22 ms (p95, list 25 of 10 000 jobs)",
    "throughput": "0.42 jobs/s",
    "memory_per_running_job": "~155 MiB",
    "queue": "none",
}

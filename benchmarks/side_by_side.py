"""jupyterlab-jobs and jupyter-scheduler side by side, one after the other in one run.

Both products get the same workloads on the same notebook (``print(1)``) and machine:

1. one notebook job at a time: submit -> running and submit -> finished (median, p95);
2. a burst of notebook jobs: time until all are finished, jobs lost, peak memory of all the
   product's processes (server, supervisors, jobs, kernels);
3. listing 25 and 100 jobs with 10 000 and 100 000 jobs seeded straight into the store;
4. the server's RSS before and after.

Each row holds both numbers and their ratio (peer / ours: how many times less time or
memory we use). A product's processes are those whose environment carries this run's
marker variable: the server gets it from its environment, our jobs through
``LocalBackend.extra_env``, the peer's job processes and kernels inherit it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import statistics
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from . import peer_scheduler
from .harness import (
    FINAL,
    REPO,
    STARTED,
    WORK,
    Client,
    Deadline,
    HTTPFailure,
    Server,
    rss_kib,
    summary,
)
from .suites import Result, Settings, fill_store

MARKER = "JOBS_BENCH_PRODUCT_RUN"
NOTEBOOK = "print1.ipynb"
MiB = 1024.0
PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def notebook_json() -> str:
    cell = {
        "cell_type": "code",
        "execution_count": None,
        "id": "print-one",
        "metadata": {},
        "outputs": [],
        "source": ["print(1)"],
    }
    kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook = {
        "cells": [cell],
        "metadata": {"kernelspec": kernelspec},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(notebook, indent=1)


class Product(Protocol):
    product: str
    running: tuple[str, ...]  # running or later
    final: tuple[str, ...]
    succeeded: str

    @property
    def pid(self) -> int: ...

    def client(self, timeout: float = 30.0) -> Client: ...
    def submit_notebook(self, client: Client, notebook: str) -> str: ...
    def status(self, client: Client, job_id: str) -> str: ...
    def statuses(self, client: Client, limit: int) -> dict[str, str]: ...
    def list_path(self, limit: int) -> str: ...
    def seed(self, count: int) -> None: ...


class Ours:
    """jupyterlab-jobs: the harness server, notebook jobs on the job's Python image."""

    product = "jupyterlab-jobs"
    running = STARTED
    final = FINAL
    succeeded = "Succeeded"

    def __init__(self, server: Server) -> None:
        self.server = server

    @property
    def pid(self) -> int:
        return self.server.pid

    def client(self, timeout: float = 30.0) -> Client:
        return self.server.client(timeout=timeout)

    def submit_notebook(self, client: Client, notebook: str) -> str:
        body = {
            "name": "bench",
            "group": "research",
            "instance_type": "cpu-half",
            "image": "python",
            "notebook": notebook,
        }
        return str(client.json("POST", "/jobs", body, expect=201)["id"])

    def status(self, client: Client, job_id: str) -> str:
        return str(client.job(job_id)["status"])

    def statuses(self, client: Client, limit: int) -> dict[str, str]:
        page = client.json("GET", f"/jobs?limit={limit}")
        return {job["id"]: job["status"] for job in page["jobs"]}

    def list_path(self, limit: int) -> str:
        return f"/jobs?limit={limit}"

    def seed(self, count: int) -> None:
        fill_store(self.server.data_dir / "jobs.sqlite", count, seed=count)


class ProcessMemory(threading.Thread):
    """Samples the summed RSS of every process whose environment holds ``marker``."""

    def __init__(self, marker: str, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.needle = marker.encode() + b"\0"
        self.interval = interval
        self.known: dict[int, bool] = {os.getpid(): False}
        self.peak_kib = 0
        self.peak_processes = 0
        self.done = threading.Event()

    def _ours(self, pid: int) -> bool:
        if pid not in self.known:
            try:
                with open(f"/proc/{pid}/environ", "rb") as handle:
                    self.known[pid] = self.needle in handle.read()
            except OSError:
                return False
        return self.known[pid]

    def sample(self) -> tuple[int, int]:
        total = processes = 0
        for name in os.listdir("/proc"):
            if not name.isdigit() or not self._ours(int(name)):
                continue
            try:
                with open(f"/proc/{name}/statm") as handle:
                    total += int(handle.read().split()[1]) * PAGE_KIB
                processes += 1
            except (OSError, IndexError, ValueError):
                continue
        return total, processes

    def run(self) -> None:
        while not self.done.wait(self.interval):
            total, processes = self.sample()
            if total > self.peak_kib:
                self.peak_kib, self.peak_processes = total, processes

    def reset(self) -> None:
        self.peak_kib = self.peak_processes = 0

    def wait_gone(self, timeout: float = 15.0) -> int:
        """Wait until no marked process is left (the next product must run alone);
        return how many still are."""
        budget = Deadline(timeout)
        while (left := self.sample()[1]) and budget.left():
            time.sleep(0.1)
        return left

    def stop(self) -> None:
        self.done.set()
        self.join(timeout=5)


def _poll(done: Callable[[], bool], budget: Deadline, pause: float = 0.02) -> float:
    while budget.left():
        if done():
            return time.perf_counter()
        time.sleep(pause)
    raise TimeoutError("condition not met in time")


def one_at_a_time(product: Product, samples: int) -> dict[str, Any]:
    """Submit a notebook job, poll its record every 20 ms until running, then until final."""
    client = product.client()
    to_running, to_finished, failed = [], [], 0
    for _ in range(samples):
        start = time.perf_counter()
        job_id = product.submit_notebook(client, NOTEBOOK)
        seen: dict[str, str] = {}

        def reached(statuses: tuple[str, ...], job_id: str = job_id, seen: Any = seen) -> bool:
            seen["status"] = product.status(client, job_id)
            return seen["status"] in statuses

        running = _poll(lambda: reached(product.running), Deadline(120))
        finished = _poll(lambda: reached(product.final), Deadline(300))
        to_running.append((running - start) * 1000)
        to_finished.append((finished - start) * 1000)
        failed += seen["status"] != product.succeeded
    client.close()
    return {
        "submit_to_running_ms": summary(to_running),
        "submit_to_finished_ms": summary(to_finished),
        "not_succeeded": failed,
    }


def burst(product: Product, count: int, memory: ProcessMemory, timeout: float) -> dict[str, Any]:
    client = product.client()
    memory.reset()
    start = time.perf_counter()
    ids, refused = [], []
    for _ in range(count):
        try:
            ids.append(product.submit_notebook(client, NOTEBOOK))
        except HTTPFailure as error:  # counted as lost
            refused.append(str(error)[:200])
    submitted = time.perf_counter()
    budget = Deadline(timeout)
    statuses: dict[str, str] = {}
    while budget.left():
        listed = product.statuses(client, count + 50)
        statuses = {job_id: listed.get(job_id, "missing") for job_id in ids}
        if all(status in product.final for status in statuses.values()):
            break
        time.sleep(0.25)
    finished = time.perf_counter()
    client.close()
    succeeded = sum(status == product.succeeded for status in statuses.values())
    counts: dict[str, int] = {}
    for status in statuses.values():
        counts[status] = counts.get(status, 0) + 1
    return {
        "jobs": count,
        "submit_seconds": round(submitted - start, 2),
        "all_finished_seconds": round(finished - start, 2) if budget.left() else None,
        "lost": count - succeeded,
        "statuses": counts,
        "refused": refused[:3],
        "peak_rss_mib": round(memory.peak_kib / MiB, 1),
        "peak_processes": memory.peak_processes,
    }


def listing(product: Product, samples: int) -> dict[str, dict[str, float]]:
    client = product.client()
    out = {}
    for limit in (25, 100):
        path = product.list_path(limit)
        for _ in range(5):
            client.json("GET", path)
        times = []
        budget = Deadline(90)
        for _ in range(samples):
            if not budget.left():
                break
            begin = time.perf_counter()
            status, _, body = client.request("GET", path)
            times.append((time.perf_counter() - begin) * 1000)
            if status != 200:
                raise RuntimeError(f"GET {path}: {status} {body[:200]!r}")
        out[f"list {limit}"] = summary(times)
    client.close()
    return out


def steady_rss_mib(pid: int) -> float:
    reads = []
    for _ in range(5):
        reads.append(rss_kib(pid))
        time.sleep(0.1)
    return round(statistics.median(reads) / MiB, 1)


def run_product(product: Product, memory: ProcessMemory, settings: Settings) -> dict[str, Any]:
    """All workloads on one running product."""
    phase = time.perf_counter()

    def done(what: str) -> None:
        nonlocal phase
        print(f"      {what}: {time.perf_counter() - phase:.1f} s", flush=True)
        phase = time.perf_counter()

    warm = product.client()
    job_id = product.submit_notebook(warm, NOTEBOOK)  # warm-up: imports, caches, kernelspecs
    _poll(lambda: product.status(warm, job_id) in product.final, Deadline(300), pause=0.05)
    warm.close()
    time.sleep(0.5)
    rss_before = steady_rss_mib(product.pid)
    done("warm-up")
    memory.reset()
    sequential = one_at_a_time(product, settings.n(10, 2))
    sequential["peak_rss_mib"] = round(memory.peak_kib / MiB, 1)
    done("one at a time")
    burst_result = burst(product, settings.n(50, 4), memory, timeout=settings.n(900, 240))
    done("burst")
    lists: dict[str, dict[str, float]] = {}
    seeded = 0
    for total in (10_000, 100_000):
        begin = time.perf_counter()
        product.seed(total - seeded)
        seeded = total
        seed_seconds = time.perf_counter() - begin
        for label, stats in listing(product, settings.n(100, 10)).items():
            lists[f"{label} of {total}"] = {**stats, "seed_seconds": round(seed_seconds, 1)}
    rss_after = steady_rss_mib(product.pid)
    done("seeding and listing")
    return {
        "server_rss_mib": {"before": rss_before, "after": rss_after},
        "one_at_a_time": sequential,
        "burst": burst_result,
        "listing_ms": lists,
    }


@contextmanager
def marked() -> Iterator[tuple[str, ProcessMemory]]:
    """This product's marker in the environment (so its server inherits it), and a memory
    sampler following every process that carries it."""
    value = secrets.token_hex(8)
    os.environ[MARKER] = value
    memory = ProcessMemory(f"{MARKER}={value}")
    memory.start()
    try:
        yield value, memory
    finally:
        memory.stop()
        os.environ.pop(MARKER, None)


def measure_ours(settings: Settings) -> dict[str, Any]:
    with marked() as (value, memory):
        server = Server("side-by-side", extra_env={MARKER: value})
        (server.root / NOTEBOOK).write_text(notebook_json())
        try:
            server.start()
            return run_product(Ours(server), memory, settings)
        finally:
            server.stop()
            server.kill_leftover_supervisors()
            memory.wait_gone()
            if not settings.keep:
                server.remove()


def measure_peer(settings: Settings) -> dict[str, Any]:
    peer_scheduler.ensure_venv()
    root = WORK / f"peer-{os.getpid()}-{secrets.token_hex(3)}"
    with marked() as (value, memory):
        server = peer_scheduler.PeerServer(root, {MARKER: value})
        (root / NOTEBOOK).write_text(notebook_json())
        try:
            server.start()
            return run_product(server, memory, settings)
        finally:
            server.stop()
            memory.wait_gone()
            if not settings.keep:
                shutil.rmtree(root, ignore_errors=True)


def rows(ours: dict[str, Any], peer: dict[str, Any]) -> list[dict[str, Any]]:
    """The table: one row per number, both products and the ratio peer / ours."""
    table: list[dict[str, Any]] = []

    def row(group: str, metric: str, unit: str, get: Callable[[dict[str, Any]], Any]) -> None:
        a, b = get(ours), get(peer)
        ratio = round(b / a, 2) if isinstance(a, int | float) and a and b is not None else None
        table.append(
            {"group": group, "metric": metric, "unit": unit, "ours": a, "peer": b, "ratio": ratio}
        )

    for what, key in (
        ("submit -> running", "submit_to_running_ms"),
        ("submit -> finished", "submit_to_finished_ms"),
    ):
        for stat in ("median", "p95"):
            row(
                "one notebook job at a time",
                f"{what}, {stat}",
                "ms",
                lambda r, k=key, s=stat: r["one_at_a_time"][k][s],
            )
    n = ours["burst"]["jobs"]
    group = f"burst of {n} notebook jobs"
    row(group, "until all finished", "s", lambda r: r["burst"]["all_finished_seconds"])
    row(group, "jobs lost", "jobs", lambda r: r["burst"]["lost"])
    row(group, "peak memory, all processes", "MiB", lambda r: r["burst"]["peak_rss_mib"])
    for total in (10_000, 100_000):
        for limit in (25, 100):
            key = f"list {limit} of {total}"
            for stat in ("median", "p95"):
                row(
                    f"listing, {total:_} jobs in the store".replace("_", " "),
                    f"list {limit}, {'p50' if stat == 'median' else stat}",
                    "ms",
                    lambda r, k=key, s=stat: r["listing_ms"][k][s],
                )
    row("server", "RSS before", "MiB", lambda r: r["server_rss_mib"]["before"])
    row("server", "RSS after", "MiB", lambda r: r["server_rss_mib"]["after"])
    return table


def bench_side_by_side(settings: Settings) -> Result:
    result = Result(
        "side_by_side",
        f"Side by side with jupyter-scheduler {peer_scheduler.PEER_VERSION}, in this run",
    )
    print("   jupyterlab-jobs", flush=True)
    ours = measure_ours(settings)
    print(f"   jupyter-scheduler {peer_scheduler.PEER_VERSION}", flush=True)
    peer = measure_peer(settings)
    table = rows(ours, peer)
    result.details["side_by_side"] = {
        "peer": f"jupyter-scheduler {peer_scheduler.PEER_VERSION}",
        "rows": table,
        "ours": ours,
        "peer_raw": peer,
    }
    finished = ours["one_at_a_time"]["submit_to_finished_ms"]["median"]
    peer_finished = peer["one_at_a_time"]["submit_to_finished_ms"]["median"]
    result.goal(
        "notebook job submit -> Succeeded, median",
        finished,
        "ms",
        "<=",
        1200,
        peer=f"{peer_finished:g} ms",
    )
    result.goal(
        "jupyter-scheduler / ours, submit -> finished median",
        peer_finished / finished,
        "x",
        ">=",
        2,
    )
    result.goal(
        f"burst of {ours['burst']['jobs']}: jobs lost",
        ours["burst"]["lost"],
        "jobs",
        "==",
        0,
        peer=f"{peer['burst']['lost']} jobs",
    )
    # Capacity bounds memory: the server plus at most `slots` jobs at once, each no larger
    # than the largest seen when jobs ran one at a time (+25 % for sampling and sharing).
    slots = 4
    one_job = ours["one_at_a_time"]["peak_rss_mib"] - ours["server_rss_mib"]["before"]
    bound = ours["server_rss_mib"]["before"] + slots * one_job * 1.25
    result.goal(
        f"burst peak memory within {slots} slots (bound {bound:.0f} MiB)",
        ours["burst"]["peak_rss_mib"],
        "MiB",
        "<=",
        round(bound),
        peer=f"{peer['burst']['peak_rss_mib']:g} MiB (no queue)",
    )
    result.notes.append(
        f"Both products on the same {NOTEBOOK} (`print(1)`), one after the other; ours with "
        f"LocalBackend.max_concurrent_jobs={slots}, cpu-half jobs; jupyter-scheduler starts a "
        "process per job at once (no queue). Memory: summed RSS of all the product's "
        "processes (server, supervisors, jobs, kernels), sampled every 0.2 s. Listing: "
        "finished jobs seeded straight into each product's SQLite database; ours lists "
        "what alice may see (2 of 3 groups), the peer lists all."
    )
    return result


def draw_chart(results_json: Path, smoke: bool) -> None:
    """The chart the README shows (docs/benchmarks.png), or a smoke run's in .work/."""
    target = WORK / "benchmarks-latest.png" if smoke else REPO / "docs" / "benchmarks.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    chart = Path(__file__).with_name("chart.py")
    python = peer_scheduler.ensure_venv()
    subprocess.run([str(python), str(chart), str(results_json), str(target)], check=True)
    print(f"chart: {target.relative_to(REPO)}")

"""The JupyterHub service mode through the extension's proxy: a real hub (pure-Python
proxy), the jobs service hub-managed, alice's own server in client mode.

Measured at alice's server (the extension forwards to the service with her token), and
for reference straight at the service and through the hub's proxy.
"""

from __future__ import annotations

import http.client
import json
import statistics
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from hub_process import HubProcess  # tests/ is on the path (harness.py)

from .suites import Result, Settings, fill_store

TOTAL_JOBS = 100_000
LIST = "jupyterlab-jobs/jobs?limit=50"
SUBMIT = {
    "name": "bench",
    "group": "research",
    "instance_type": "cpu-small",
    "image": "shell",
    "command": "sleep 0.2",
}


class Connection:
    """One kept-alive connection with alice's token."""

    def __init__(self, base: str, token: str) -> None:
        url = urlsplit(base)
        self.prefix = url.path.rstrip("/") + "/"
        self.connection = http.client.HTTPConnection(url.hostname or "", url.port)
        self.headers = {"Authorization": f"token {token}"}

    def call(self, method: str, path: str, body: object = None) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body)
        self.connection.request(method, self.prefix + path, body=data, headers=self.headers)
        response = self.connection.getresponse()
        return response.status, response.read()

    def timed_list(self, samples: int) -> list[float]:
        times = []
        for _ in range(samples):
            begin = time.perf_counter()
            status, _ = self.call("GET", LIST)
            times.append((time.perf_counter() - begin) * 1000)
            assert status == 200, status
        return sorted(times)


def p95(times: list[float]) -> float:
    return times[max(0, int(len(times) * 0.95) - 1)]


def bench_hub(settings: Settings) -> Result:
    result = Result("hub", "JupyterHub service mode, through the extension's proxy")
    with tempfile.TemporaryDirectory(prefix="bench-hub-") as work:
        root = Path(work)
        database = root / "state" / "jobs" / "jobs.sqlite"
        database.parent.mkdir(parents=True)
        fill_store(f"sqlite:///{database}", TOTAL_JOBS)
        # The service's job launcher leaves soon after the benchmark.
        idle = 'c.JupyterHub.services[0]["command"] += ["--LocalBackend.launcher_idle_seconds=30"]'
        hub = HubProcess(root, idle).start()
        try:
            token = hub.token("alice")
            hub.spawn({"alice": token})
            server = Connection(f"{hub.server_address('alice')}/user/alice/", token)
            samples = settings.n(300, 60)
            server.timed_list(20)  # warm-up
            listed = server.timed_list(samples)
            result.goal("list p95 at alice's server (100 000 jobs)", p95(listed), "ms", "<", 10)
            for name, base in [
                ("service directly", hub.service_url),
                ("hub proxy -> alice's server", f"{hub.url}/user/alice/"),
            ]:
                other = Connection(base, token)
                other.timed_list(20)
                result.reference(f"list p95, {name}", p95(other.timed_list(samples)), "ms")
            latencies = []
            for _ in range(settings.n(30, 8)):
                begin = time.perf_counter()
                status, raw = server.call("POST", "jupyterlab-jobs/jobs", SUBMIT)
                assert status == 201, raw
                job = json.loads(raw)
                while job["status"] not in ("Running", "Succeeded", "Failed"):
                    job = json.loads(server.call("GET", f"jupyterlab-jobs/jobs/{job['id']}")[1])
                latencies.append((time.perf_counter() - begin) * 1000)
                time.sleep(0.3)  # one at a time: the job ends before the next
            median = statistics.median(latencies)
            result.goal("submit -> Running at alice's server (median)", median, "ms", "<", 60)
        finally:
            hub.stop()
    result.notes.append(
        "The hub's proxy here is the pure-Python configurable-http-proxy (a reference "
        "number only); the goals are measured at the user's server, where the extension "
        "forwards each request to the service."
    )
    return result

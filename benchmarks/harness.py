"""A real Jupyter server with the extension, a keep-alive HTTP client, statistics.

Only the standard library: the server runs as a subprocess (``sys.executable -m
jupyter_server``), so this works in whichever virtualenv runs the benchmarks.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from pg_server import PostgresServer, find_bindir  # noqa: E402
from server_process import catalog, free_port  # noqa: E402  (shared with the tests)

WORK = Path(__file__).resolve().parent / ".work"
BASE = "/jupyterlab-jobs"
USER = "alice"
USER_GROUPS = {"alice": ["research", "ops"], "bob": ["ops"], "carol": ["secret"]}
FINAL = ("Succeeded", "Failed", "Cancelled")
STARTED = ("Running", *FINAL)


def server_config(root: Path, db_url: str = "", **local_backend: Any) -> dict[str, Any]:
    """The extension's configuration: product defaults except the catalog, the queue and
    the database (``db_url``: "" for the default SQLite file)."""
    database = {"db_url": db_url} if db_url else {}
    return {
        "ServerApp": {"jpserver_extensions": {"jupyterlab_jobs": True}},
        "JobsApp": {
            "data_dir": str(root / "jobs-data"),
            "standalone_user": USER,
            **database,
            **catalog(root),
        },
        "StaticGroupsProvider": {"user_groups": USER_GROUPS},
        "LocalBackend": {"max_concurrent_jobs": 4, "cpu_capacity": 2.0, **local_backend},
    }


class HTTPFailure(Exception):
    pass


class Client:
    """One keep-alive HTTP/1.1 connection to the server; JSON in and out."""

    base = BASE  # prefix of every path

    def __init__(self, port: int, token: str, timeout: float = 30.0) -> None:
        self.port = port
        self.token = token
        self.timeout = timeout
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)

    def close(self) -> None:
        self.connection.close()

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"token {self.token}", "Content-Type": "application/json"}

    def request(
        self, method: str, path: str, body: Any = None
    ) -> tuple[int, dict[str, str], bytes]:
        data = (
            json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
        )
        for attempt in (1, 2):
            try:
                self.connection.request(method, self.base + path, body=data, headers=self.headers)
                response = self.connection.getresponse()
                payload = response.read()
                return response.status, dict(response.getheaders()), payload
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                # The server closed an idle keep-alive connection: reconnect once.
                self.connection.close()
                self.connection = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=self.timeout
                )
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        status, _, payload = self.request(method, path, body)
        if status != expect:
            raise HTTPFailure(f"{method} {path}: {status} {payload[:300]!r}")
        return json.loads(payload)

    def submit(self, command: str, **fields: Any) -> dict[str, Any]:
        body = {
            "name": "bench",
            "group": "research",
            "instance_type": "cpu-half",
            "image": "base",
            "command": command,
            **fields,
        }
        return self.json("POST", "/jobs", body, expect=201)  # type: ignore[no-any-return]

    def job(self, job_id: str) -> dict[str, Any]:
        return self.json("GET", f"/jobs/{job_id}")  # type: ignore[no-any-return]

    def wait(self, job_id: str, statuses: tuple[str, ...] = FINAL, timeout: float = 30.0) -> Any:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            job = self.job(job_id)
            if job["status"] in statuses:
                return job
            time.sleep(0.02)
        raise TimeoutError(f"job {job_id} did not reach {statuses} in {timeout:g}s")


def query(**params: Any) -> str:
    return urllib.parse.urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)


class JupyterServer:
    """A ``jupyter_server`` subprocess with its own port, token, Jupyter directories and log
    in ``root``; a subclass says how to start it and what answers once it is up."""

    what = "the server"  # in error messages
    client_class = Client
    ready_path = "/options"  # a GET the client answers with 200 once the server is up

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.token = secrets.token_hex(16)
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.root / "server.log"

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def environment(self) -> dict[str, str]:
        """This environment without JupyterHub's variables, Jupyter's directories in root."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTERHUB_")}
        for name in ("config", "data", "runtime"):
            (self.root / f"jupyter-{name}").mkdir(exist_ok=True)
        env.update(
            JUPYTER_CONFIG_DIR=str(self.root / "jupyter-config"),
            JUPYTER_DATA_DIR=str(self.root / "jupyter-data"),
            JUPYTER_RUNTIME_DIR=str(self.root / "jupyter-runtime"),
            JUPYTER_PLATFORM_DIRS="1",
        )
        return env

    def launch(self, command: list[str], env: dict[str, str], timeout: float) -> None:
        """Run ``command`` (a Python and its server arguments) on this port and token until
        ``ready_path`` answers."""
        command = [
            *command,
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            "--ServerApp.open_browser=False",
            f"--ServerApp.root_dir={self.root}",
            f"--IdentityProvider.token={self.token}",
            "--allow-root",
        ]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command, cwd=self.root, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=log
            )
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.what} exited early:\n{self.log_tail()}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                client = self.client(timeout=2)
                try:
                    status, _, _ = client.request("GET", self.ready_path)
                finally:
                    client.close()
                if status == 200:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.what} did not answer within {timeout:g}s:\n{self.log_tail()}")

    def client(self, timeout: float = 30.0) -> Client:
        return self.client_class(self.port, self.token, timeout=timeout)

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


class Server(JupyterServer):
    """``python -m jupyter_server`` with the extension, in its own work directory."""

    def __init__(
        self,
        name: str,
        *,
        entry: tuple[str, ...] = ("-m", "jupyter_server"),
        db_url: str = "",
        **local_backend: Any,
    ) -> None:
        WORK.mkdir(exist_ok=True)
        super().__init__(WORK / f"{name}-{os.getpid()}-{secrets.token_hex(3)}")
        self.entry = entry
        self.root.mkdir()
        self.config = server_config(self.root, db_url, **local_backend)
        self.data_dir = Path(self.config["JobsApp"]["data_dir"])
        # What Store() opens: the database URL, or the default SQLite file.
        self.database: str | Path = db_url or self.data_dir / "jobs.sqlite"

    def start(self, timeout: float = 60.0) -> None:
        config_file = self.root / "jupyter_server_config.json"
        config_file.write_text(json.dumps(self.config, indent=1))
        env = self.environment()
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        command = [
            sys.executable,
            *self.entry,
            f"--config={config_file}",
            '--ServerApp.jpserver_extensions={"jupyterlab_jobs": True}',
        ]
        self.launch(command, env, timeout)

    def rss_kib(self) -> int:
        return rss_kib(self.pid)

    def kill_leftover_supervisors(self) -> int:
        """Supervisors of jobs this run started that are still alive (should be none)."""
        killed = 0
        for state_file in (self.data_dir / "jobs").glob("*/state.json"):
            if (state_file.parent / "result.json").exists():
                continue
            with contextlib.suppress(OSError, ValueError, KeyError):
                state = json.loads(state_file.read_text())
                pid = int(state["supervisor_pid"])
                stat = Path(f"/proc/{pid}/stat").read_text()
                if stat.rsplit(")", 1)[1].split()[19] == state["supervisor_start"]:
                    os.kill(pid, signal.SIGKILL)
                    killed += 1
        return killed

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def running_server(
    name: str, keep: bool = False, db_url: str = "", **local_backend: Any
) -> Iterator[Server]:
    server = Server(name, db_url=db_url, **local_backend)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        server.kill_leftover_supervisors()
        if not keep:
            server.remove()


def rss_kib(pid: int) -> int:
    """VmRSS of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise ValueError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def summary(values_ms: list[float]) -> dict[str, float]:
    return {
        "n": len(values_ms),
        "median": round(statistics.median(values_ms), 3),
        "p95": round(percentile(values_ms, 0.95), 3),
        "mean": round(statistics.fmean(values_ms), 3),
        "min": round(min(values_ms), 3),
        "max": round(max(values_ms), 3),
    }


class Deadline:
    """A time budget for a loop: ``while budget.left():``."""

    def __init__(self, seconds: float) -> None:
        self.end = time.monotonic() + seconds

    def left(self) -> bool:
        return time.monotonic() < self.end

    def check(self, what: str) -> None:
        if not self.left():
            raise TimeoutError(f"{what}: out of time")


class Databases:
    """The database of a benchmark per engine: "" (the default SQLite file) or a new
    PostgreSQL database on one server started for the run (tests/pg_server.py)."""

    def __init__(self) -> None:
        self.postgres: PostgresServer | None = None

    def url(self, engine: str) -> str:
        if engine == "sqlite":
            return ""
        if self.postgres is None:
            bindir = find_bindir()
            if bindir is None:
                raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql")
            self.postgres = PostgresServer(bindir).start()
        return self.postgres.create_database("bench")

    def stop(self) -> None:
        if self.postgres is not None:
            self.postgres.stop()
            self.postgres = None

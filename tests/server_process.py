"""A real Jupyter server in a subprocess, for tests that kill or share servers.

Stdlib only: the browser tests (ui-tests/) and the benchmarks (benchmarks/) import it
too, with their own settings.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TOKEN = "test-token"


def catalog(root: Path) -> dict[str, Any]:
    """A small catalog: two groups, a few instance types and images, one dataset."""
    dataset = root / "datasets-src" / "mnist"
    dataset.mkdir(parents=True, exist_ok=True)
    (dataset / "README").write_text("mnist sample\n")
    return {
        "groups": [
            {
                "name": "research",
                "display_name": "Research",
                "instance_types": ["cpu-1", "cpu-half", "huge", "gpu-1"],
                "images": ["base", "python"],
                "datasets": ["mnist"],
            },
            {"name": "ops", "instance_types": ["cpu-half"], "images": ["base"]},
            {"name": "secret", "instance_types": ["cpu-half"], "images": ["base"]},
        ],
        "instance_types": [
            {"name": "cpu-1", "cpu": 1, "memory": "1Gi", "description": "1 CPU, 1 GiB"},
            {"name": "cpu-half", "cpu": 0.5, "memory": "512Mi"},
            {"name": "huge", "cpu": 512, "memory": "1Ti"},
            {"name": "gpu-1", "cpu": 1, "memory": "4Gi", "gpu": 1},
        ],
        "images": [
            {"name": "base", "display_name": "System shell"},
            {"name": "python", "prefix": sys.prefix, "description": "The server's Python"},
        ],
        "datasets": [{"name": "mnist", "path": str(dataset)}],
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerProcess:
    """`python -m jupyter_server` (or `jupyterlab`) with a JSON config in its own folders.

    ``config`` is the traitlets config as a dict; ``extra_args`` and ``extra_env`` are
    added to the command line and environment. Stopped with SIGTERM, or SIGKILL (`kill`).
    With ``own_session`` it runs in a session of its own: whatever it signals by process
    group (a bug a hostile job provokes) cannot reach the test runner.
    """

    def __init__(
        self,
        root: Path,
        config: dict[str, Any],
        name: str = "server",
        *,
        app: str = "jupyter_server",
        token: str = TOKEN,
        extra_args: Sequence[str] = (),
        extra_env: dict[str, str] | None = None,
        own_session: bool = False,
    ) -> None:
        self.root = root / name
        self.config = config
        self.app = app
        self.token = token
        self.extra_args = list(extra_args)
        self.extra_env = dict(extra_env or {})
        self.own_session = own_session
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = self.root / "server.log"
        self.notebooks = self.root / "notebooks"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def url(self) -> str:
        return f"{self.base_url}jupyterlab-jobs/"

    def start(self, timeout: float = 60) -> ServerProcess:
        for sub in ("config", "data", "runtime"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.notebooks.mkdir(parents=True, exist_ok=True)
        (self.root / "config" / "jupyter_server_config.json").write_text(json.dumps(self.config))
        env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTERHUB_")}
        env.update(
            JUPYTER_CONFIG_DIR=str(self.root / "config"),
            JUPYTER_DATA_DIR=str(self.root / "data"),
            JUPYTER_RUNTIME_DIR=str(self.root / "runtime"),
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
            **self.extra_env,
        )
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    self.app,
                    "--allow-root",
                    "--no-browser",
                    "--ServerApp.ip=127.0.0.1",
                    f"--ServerApp.port={self.port}",
                    "--ServerApp.port_retries=0",
                    f"--IdentityProvider.token={self.token}",
                    f"--ServerApp.root_dir={self.notebooks}",
                    *self.extra_args,
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=self.own_session,
            )
        end = time.monotonic() + timeout
        while True:
            try:
                self.request("GET", "options")
                return self
            except (urllib.error.URLError, ConnectionError):
                if self.process.poll() is not None or time.monotonic() > end:
                    self.stop()
                    raise RuntimeError(f"the server did not start:\n{self.log_tail()}") from None
                time.sleep(0.1)

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """Status and decoded payload (JSON or text) of a REST call; 4xx/5xx don't raise."""
        data = None if body is None else json.dumps(body).encode()
        if method == "POST" and data is None:
            data = b""
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, _decode(response.read(), response.headers)
        except urllib.error.HTTPError as error:
            return error.code, _decode(error.read(), error.headers)

    def call(self, method: str, path: str, body: Any = None, expect: int | None = None) -> Any:
        """The payload; the status must be ``expect`` (any 2xx when None)."""
        status, payload = self.request(method, path, body)
        ok = status == expect if expect is not None else 200 <= status < 300
        assert ok, f"{method} {path}: {status} {payload}"
        return payload

    def wait(self, job_id: str, statuses: set[str], timeout: float = 60) -> dict[str, Any]:
        end = time.monotonic() + timeout
        while True:
            job = self.call("GET", f"jobs/{job_id}")
            if job["status"] in statuses:
                return job  # type: ignore[no-any-return]
            assert time.monotonic() < end, f"job stayed {job['status']}: {job}"
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: the server gets no chance to clean up."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


def _decode(raw: bytes, headers: Any) -> Any:
    if "json" in headers.get("Content-Type", ""):
        return json.loads(raw)
    return raw.decode()

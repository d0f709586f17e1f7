"""A real `jupyter server` in a subprocess, for tests that kill or share servers."""

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
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
TOKEN = "test-token"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServerProcess:
    """`python -m jupyter_server` with a JSON config; stopped with SIGTERM or SIGKILL."""

    def __init__(self, root: Path, config: dict[str, Any], name: str = "server") -> None:
        self.root = root / name
        self.config = config
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/jupyterlab-jobs/"

    def start(self, timeout: float = 60) -> ServerProcess:
        for sub in ("config", "data", "runtime", "notebooks"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "config" / "jupyter_server_config.json").write_text(json.dumps(self.config))
        env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTERHUB_")}
        env.update(
            JUPYTER_CONFIG_DIR=str(self.root / "config"),
            JUPYTER_DATA_DIR=str(self.root / "data"),
            JUPYTER_RUNTIME_DIR=str(self.root / "runtime"),
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
        )
        self.log = (self.root / "server.log").open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyter_server",
                "--allow-root",
                "--no-browser",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={self.port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={TOKEN}",
                f"--ServerApp.root_dir={self.root / 'notebooks'}",
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        end = time.monotonic() + timeout
        while True:
            try:
                self.request("GET", "options")
                return self
            except (urllib.error.URLError, ConnectionError):
                if self.process.poll() is not None or time.monotonic() > end:
                    raise RuntimeError(
                        f"server did not start: {(self.root / 'server.log').read_text()[-3000:]}"
                    ) from None
                time.sleep(0.1)

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        if method == "POST" and data is None:
            data = b""
        request = urllib.request.Request(
            self.url + path,
            data=data,
            method=method,
            headers={"Authorization": f"token {TOKEN}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, _decode(response.read(), response.headers)
        except urllib.error.HTTPError as error:
            return error.code, _decode(error.read(), error.headers)

    def call(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        status, payload = self.request(method, path, body)
        assert status == expect, f"{method} {path}: {status} {payload}"
        return payload

    def wait(self, job_id: str, statuses: set[str], timeout: float = 30) -> dict[str, Any]:
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
        self.log.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
            self.log.close()


def _decode(raw: bytes, headers: Any) -> Any:
    if "json" in headers.get("Content-Type", ""):
        return json.loads(raw)
    return raw.decode()

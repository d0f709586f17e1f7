"""A real JupyterHub in a subprocess, with the jobs service hub-managed (tests only).

It runs examples/jupyterhub_config.py (the `make run-hub` demo) on free ports, with the
additions of ``extra_config`` (Python config text appended after loading the demo).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from server_process import REPO, free_port


class Response:
    def __init__(self, status: int, headers: Any, raw: bytes) -> None:
        self.status = status
        self.headers = headers
        self.raw = raw

    @property
    def json(self) -> Any:
        return json.loads(self.raw)

    def __repr__(self) -> str:
        return f"<{self.status} {self.raw[:300]!r}>"


class HubProcess:
    def __init__(self, root: Path, extra_config: str = "") -> None:
        self.root = root
        self.state = root / "state"
        self.port = free_port()
        self.service_port = free_port()
        self.extra_config = extra_config
        self.url = f"http://127.0.0.1:{self.port}"
        self.service_url = f"http://127.0.0.1:{self.service_port}/services/jobs/"
        self.log_path = root / "hub.log"
        self.proxy_api = f"http://127.0.0.1:{free_port()}"
        self.proxy_token = "test-proxy-token"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120) -> HubProcess:
        self.state.mkdir(parents=True, exist_ok=True)
        config = self.root / "jupyterhub_config.py"
        demo = REPO / "examples" / "jupyterhub_config.py"
        config.write_text(f"load_subconfig({str(demo)!r})\n{self.extra_config}\n")
        env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTERHUB_")}
        env.update(
            JOBS_HUB_STATE=str(self.state),
            JOBS_SERVICE_URL=f"http://127.0.0.1:{self.service_port}",
            CONFIGPROXY_AUTH_TOKEN=self.proxy_token,
            PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")])),
            PATH=os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        )
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "jupyterhub",
                    "-f",
                    str(config),
                    f"--port={self.port}",
                    f"--JupyterHub.hub_port={free_port()}",
                    f"--ConfigurableHTTPProxy.api_url={self.proxy_api}",
                ],
                cwd=self.root,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        end = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None or time.monotonic() > end:
                self.stop()
                raise RuntimeError(f"the hub did not start:\n{self.log_tail()}")
            try:
                service = self.request("GET", self.service_url + "jupyterlab-jobs/options")
                if service.status == 401 and self.request("GET", "/hub/api").status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)

    def log_tail(self, size: int = 6000) -> str:
        return self.log_path.read_text(errors="replace")[-size:]

    def request(
        self,
        method: str,
        url: str,
        token: str | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> Response:
        """Any status is returned, not raised. ``url`` is absolute or relative to the hub."""
        if not url.startswith("http"):
            url = self.url + url
        data = None if body is None else json.dumps(body).encode()
        if method != "GET" and data is None:
            data = b""
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"token {token}"
        request = urllib.request.Request(url, data=data, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return Response(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return Response(error.code, error.headers, error.read())

    def token(self, user: str, **options: Any) -> str:
        """A new API token of ``user`` (the DummyAuthenticator takes any password)."""
        return str(self.token_model(user, **options)["token"])

    def token_model(self, user: str, **options: Any) -> dict[str, Any]:
        """The hub's model of a new token of ``user`` (with ``token`` and ``id``)."""
        body = {"auth": {"username": user, "password": "any"}, **options}
        reply = self.request("POST", f"/hub/api/users/{user}/tokens", body=body)
        assert reply.status == 201, reply
        return dict(reply.json)

    def spawn(self, users: dict[str, str], timeout: float = 180) -> None:
        """Start the servers of ``users`` (name -> token) and wait until all answer."""
        for user, token in users.items():
            reply = self.request("POST", f"/hub/api/users/{user}/server", token)
            assert reply.status in (201, 202), reply
        end = time.monotonic() + timeout
        for user, token in users.items():
            while True:
                model = self.request("GET", f"/hub/api/users/{user}", token).json
                server = model.get("servers", {}).get("", {})
                if server.get("ready"):
                    break
                assert time.monotonic() < end, f"{user}'s server did not start:\n{self.log_tail()}"
                time.sleep(0.3)

    def server_address(self, user: str) -> str:
        """Where ``user``'s server listens (the proxy's target), e.g. to bypass the
        pure-Python proxy, which buffers streamed responses."""
        routes = self.request("GET", f"{self.proxy_api}/api/routes", self.proxy_token).json
        return str(routes[f"/user/{user}"]["target"])

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

"""The JupyterHub service mode against a real JupyterHub (one hub for the module).

Users and hub groups: alice (research), bob (ops), carol (both), dave (ops), frank
(research; removed from it by a test), erin (no group, custom:jobs:admin!group=research),
admin (hub admin). The jobs service is hub-managed as `jobs`; every user's server runs the
extension in client mode. gina's server points at a port where nothing listens, hank's
at one that never answers.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from hub_process import HubProcess, Response
from server_process import free_port

pytestmark = pytest.mark.timeout(900)

OTHER_SERVICE_TOKEN = "other-service-token-0123456789"
CACHE_SECONDS = 3
API = "jupyterlab-jobs/"
QUICK = {"instance_type": "cpu-small", "image": "shell"}


def extra_config(dead_url: str, slow_url: str) -> str:
    return f"""
import os
c.Authenticator.admin_users = {{"admin"}}
c.JupyterHub.load_groups = {{
    "research": {{"users": ["alice", "carol", "frank"]}},
    "ops": {{"users": ["bob", "carol", "dave"]}},
    "staff": {{"users": ["gina", "hank"]}},  # no such group in the catalog
}}
c.JupyterHub.load_roles = [
    {{"name": "user", "scopes": ["self", "access:services!service=jobs"]}},
    {{"name": "research-admin", "scopes": ["custom:jobs:admin!group=research"],
      "users": ["erin"]}},
    {{"name": "other-service", "scopes": ["access:services!service=jobs"],
      "services": ["other"]}},
]
c.JupyterHub.services[0]["command"].append(
    "--JobsServiceApp.groups_cache_seconds={CACHE_SECONDS}"
)
c.JupyterHub.services.append({{"name": "other", "api_token": {OTHER_SERVICE_TOKEN!r}}})
default_url = os.environ["JOBS_SERVICE_URL"] + "/services/jobs/"
urls = {{"gina": {dead_url!r}, "hank": {slow_url!r}}}
c.Spawner.environment = {{
    "JUPYTERLAB_JOBS_SERVICE_URL": lambda spawner: urls.get(spawner.user.name, default_url),
}}
c.Spawner.args = (["--allow-root"] if os.getuid() == 0 else []) + [
    "--JobsApp.service_timeout_seconds=5",
]
"""


class SilentServer:
    """Accepts connections and never answers (a hung jobs service)."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.port = self.socket.getsockname()[1]
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.connections.append(connection)

    def close(self) -> None:
        self.socket.close()
        for connection in self.connections:
            connection.close()


class Hub:
    """The running hub and the users' tokens, with helpers for the jobs API."""

    def __init__(self, process: HubProcess) -> None:
        self.process = process
        self.tokens: dict[str, str] = {}

    def token(self, user: str) -> str:
        if user not in self.tokens:
            self.tokens[user] = self.process.token(user)
        return self.tokens[user]

    def service(
        self, user: str | None, method: str, path: str, body: Any = None, **kw: Any
    ) -> Response:
        """A call to the jobs service directly, with ``user``'s own token."""
        token = kw.pop("token", None) or (self.token(user) if user else None)
        url = self.process.service_url + API + path
        return self.process.request(method, url, token, body, **kw)

    def server(
        self, user: str, method: str, path: str, body: Any = None, owner: str | None = None
    ) -> Response:
        """A call through a user's own server (or ``owner``'s, shared with ``user``)."""
        url = f"/user/{owner or user}/{API}{path}"
        return self.process.request(method, url, self.token(user), body)

    def submit(self, user: str, group: str, command: str = "echo hello", **kw: Any) -> Any:
        body = {"name": f"{user}-{group}", "group": group, "command": command, **QUICK}
        reply = self.service(user, "POST", "jobs", body, **kw)
        assert reply.status == 201, reply
        return reply.json

    def wait(self, user: str, job_id: str, statuses: set[str], timeout: float = 60) -> Any:
        end = time.monotonic() + timeout
        while True:
            job = self.service(user, "GET", f"jobs/{job_id}").json
            if job["status"] in statuses:
                return job
            assert time.monotonic() < end, job
            time.sleep(0.1)

    def admin(self, method: str, path: str, body: Any = None) -> Response:
        return self.process.request(method, path, self.token("admin"), body)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    silent = SilentServer()
    dead = f"http://127.0.0.1:{free_port()}/services/jobs/"
    slow = f"http://127.0.0.1:{silent.port}/services/jobs/"
    process = HubProcess(tmp_path_factory.mktemp("hub"), extra_config(dead, slow))
    process.start()
    hub = Hub(process)
    try:
        hub.process.spawn({u: hub.token(u) for u in ("alice", "bob", "gina", "hank")})
        yield hub
    except BaseException:
        print(process.log_tail())
        raise
    finally:
        process.stop()
        silent.close()


# -- acceptance 1: through each user's own server ---------------------------------------
def test_alice_works_in_her_group_through_her_server(hub: Hub) -> None:
    options = hub.server("alice", "GET", "options")
    assert options.status == 200, options
    assert options.json["user"] == "alice"
    assert [g["name"] for g in options.json["groups"]] == ["research"]

    body = {"name": "count", "group": "research", **QUICK}
    body["command"] = "for i in 1 2 3 4; do echo line $i; sleep 0.4; done"
    created = hub.server("alice", "POST", "jobs", body)
    assert created.status == 201, created
    job = created.json
    assert job["user"] == "alice"

    listed = hub.server("alice", "GET", "jobs?group=research&mine=true").json
    assert job["id"] in [j["id"] for j in listed["jobs"]]

    # follow streams through the server: lines arrive as the job writes them
    arrivals, text, headers = follow(hub, "alice", job["id"])
    assert headers["Content-Type"].startswith("text/plain")
    assert "X-Log-Offset" in headers
    assert text.splitlines() == [f"line {i}" for i in (1, 2, 3, 4)]
    assert arrivals[-1] - arrivals[0] > 0.6, f"the stream was buffered: {arrivals}"
    done = hub.wait("alice", job["id"], {"Succeeded"})
    logs = hub.server("alice", "GET", f"jobs/{job['id']}/logs")
    assert logs.status == 200 and logs.raw.decode().splitlines()[-1] == "line 4"
    assert logs.headers["X-Log-Offset"] == str(len(logs.raw))

    rerun = hub.server("alice", "POST", f"jobs/{done['id']}/rerun")
    assert rerun.status == 201, rerun
    assert rerun.json["rerun_of"] == done["id"] and rerun.json["user"] == "alice"
    cancelled = hub.server("alice", "POST", f"jobs/{rerun.json['id']}/cancel")
    assert cancelled.status == 200, cancelled
    assert hub.wait("alice", rerun.json["id"], {"Cancelled"})["message"] == "Cancelled by alice"
    again = hub.server("alice", "POST", f"jobs/{rerun.json['id']}/cancel")
    assert again.status == 409 and "already ended" in again.json["message"]


def follow(hub: Hub, user: str, job_id: str) -> tuple[list[float], str, Any]:
    """Follow a job's log through ``user``'s server: (arrival times of the chunks, text,
    headers). Straight to the server: the test's pure-Python hub proxy buffers streams
    (the hub's usual node proxy does not)."""
    url = urlsplit(hub.process.server_address(user))
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    path = f"/user/{user}/{API}jobs/{job_id}/logs?follow=1"
    connection.request("GET", path, headers={"Authorization": f"token {hub.token(user)}"})
    response = connection.getresponse()
    assert response.status == 200
    arrivals = []
    chunks = []
    while True:
        chunk = response.read1(65536)
        if not chunk:
            break
        arrivals.append(time.monotonic())
        chunks.append(chunk)
    connection.close()
    return arrivals, b"".join(chunks).decode(), response.headers


def test_bob_gets_404_for_alices_job_and_403_creating_in_her_group(hub: Hub) -> None:
    job = hub.submit("alice", "research", "sleep 30")
    for method, path in [
        ("GET", f"jobs/{job['id']}"),
        ("GET", f"jobs/{job['id']}/logs"),
        ("GET", f"jobs/{job['id']}/logs?follow=1"),
        ("POST", f"jobs/{job['id']}/cancel"),
        ("POST", f"jobs/{job['id']}/rerun"),
    ]:
        for reply in (hub.server("bob", method, path), hub.service("bob", method, path)):
            assert reply.status == 404, (method, path, reply)
            assert job["id"] in reply.json["message"]
    body = {"name": "x", "group": "research", "command": "true", **QUICK}
    for reply in (
        hub.server("bob", "POST", "jobs", body),
        hub.service("bob", "POST", "jobs", body),
    ):
        assert reply.status == 403, reply
        assert reply.json["field"] == "group"
    assert job["id"] not in [j["id"] for j in hub.server("bob", "GET", "jobs").json["jobs"]]
    assert hub.service("alice", "GET", f"jobs/{job['id']}").json["status"] == "Running"
    hub.service("alice", "POST", f"jobs/{job['id']}/cancel")


def test_group_removal_takes_effect_at_once_for_changes_and_within_the_cache_time(
    hub: Hub,
) -> None:
    running = hub.submit("frank", "research", "sleep 60")
    hub.service("frank", "GET", "jobs")  # frank's groups are now cached
    removed = hub.admin("DELETE", "/hub/api/groups/research/users", {"users": ["frank"]})
    assert removed.status == 200, removed
    try:
        body = {"name": "x", "group": "research", "command": "true", **QUICK}
        assert hub.service("frank", "POST", "jobs", body).status == 403
        assert hub.service("frank", "POST", f"jobs/{running['id']}/cancel").status == 404
        assert hub.service("frank", "POST", f"jobs/{running['id']}/rerun").status == 404
        # reads may use the hub's answer for up to the cache time, not longer
        time.sleep(CACHE_SECONDS + 0.5)
        assert hub.service("frank", "GET", f"jobs/{running['id']}").status == 404
        assert hub.service("frank", "GET", "jobs").json["jobs"] == []
        assert hub.service("frank", "GET", "options").json["groups"] == []
        assert hub.service("alice", "GET", f"jobs/{running['id']}").json["status"] == "Running"
    finally:
        hub.admin("POST", "/hub/api/groups/research/users", {"users": ["frank"]})
    time.sleep(CACHE_SECONDS + 0.5)
    assert hub.service("frank", "POST", f"jobs/{running['id']}/cancel").status == 200

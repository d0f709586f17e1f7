"""The JupyterHub service mode against a real JupyterHub (one hub for the module).

Users and hub groups: alice (research), bob (ops), carol (both), dave (ops), frank
(research; removed from it by a test), ivy (research; removed by the schedule test), erin
(no group, custom:jobs:admin!group=research), admin (hub admin). The jobs service is
hub-managed as `jobs` (allowed to read users' groups); every user's server runs the
extension in client mode. gina's server points at a port where nothing listens, hank's at
one that never answers.
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import nbformat
import pytest
from hub_process import HubProcess, Response
from server_process import REPO, free_port

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
    "research": {{"users": ["alice", "carol", "frank", "ivy"]}},
    "ops": {{"users": ["bob", "carol", "dave"]}},
    "staff": {{"users": ["gina", "hank"]}},  # no such group in the catalog
}}
c.JupyterHub.load_roles = [
    {{"name": "user",
      "scopes": ["self", "shares!user", "read:users:name", "access:services!service=jobs"]}},
    {{"name": "research-admin", "scopes": ["custom:jobs:admin!group=research"],
      "users": ["erin"]}},
    {{"name": "other-service", "scopes": ["access:services!service=jobs"],
      "services": ["other"]}},
    {{"name": "jobs-service", "scopes": ["read:users:groups"], "services": ["jobs"]}},
]
c.JupyterHub.services[0]["command"] += [
    "--JobsServiceApp.groups_cache_seconds={CACHE_SECONDS}",
    "--LocalBackend.launcher_idle_seconds=30",  # gone soon after the tests
]
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


def test_many_follow_streams_hold_up_no_other_request(hub: Hub) -> None:
    job = hub.submit("alice", "research", "echo started; sleep 60")
    url = urlsplit(hub.process.server_address("alice"))
    path = f"/user/alice/{API}jobs/{job['id']}/logs?follow=1"
    headers = {"Authorization": f"token {hub.token('alice')}"}
    streams = []
    try:
        for _ in range(15):  # more than tornado's default of 10 requests at a time
            connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
            connection.request("GET", path, headers=headers)
            assert connection.getresponse().status == 200
            streams.append(connection)
        started = time.monotonic()
        assert hub.server("alice", "GET", "options").status == 200
        assert time.monotonic() - started < 3
    finally:
        hub.service("alice", "POST", f"jobs/{job['id']}/cancel")
        for connection in streams:
            connection.close()


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


# -- acceptance 2: forgery fails and changes nothing ------------------------------------
ENDPOINTS = [
    "options",
    "jobs",
    "jobs/{id}",
    "jobs/{id}/logs",
    "jobs/{id}/cancel",
    "jobs/{id}/rerun",
]


def all_calls(job_id: str) -> list[tuple[str, str, Any]]:
    create = {"name": "forged", "group": "research", "command": "true", **QUICK}
    return [
        ("GET", "options", None),
        ("GET", "jobs", None),
        ("POST", "jobs", create),
        ("GET", f"jobs/{job_id}", None),
        ("GET", f"jobs/{job_id}/logs", None),
        ("POST", f"jobs/{job_id}/cancel", None),
        ("POST", f"jobs/{job_id}/rerun", None),
    ]


def test_forged_identities_get_401_or_403_and_change_nothing(hub: Hub) -> None:
    job = hub.submit("alice", "research", "sleep 60")
    before = [j["id"] for j in hub.service("alice", "GET", "jobs?limit=200").json["jobs"]]
    no_scope = hub.process.token("alice", scopes=["read:users:name!user=alice"])
    expiring = hub.process.token("alice", expires_in=1)
    revoked = hub.process.token_model("alice")
    assert hub.service(None, "GET", "options", token=revoked["token"]).status == 200
    deleted = hub.admin("DELETE", f"/hub/api/users/alice/tokens/{revoked['id']}")
    assert deleted.status == 204, deleted
    time.sleep(1.5)
    cases = {
        "no token": (None, {}, 401),
        "a made-up token": ("0123456789abcdef", {}, 401),
        "an expired token": (expiring, {}, 401),
        "another service's token": (OTHER_SERVICE_TOKEN, {}, 403),
        "a token without access:services!service=jobs": (no_scope, {}, 403),
        "a user header without a token": (None, {"X-Forwarded-User": "alice"}, 401),
    }
    for what, (token, headers, status) in cases.items():
        for method, path, body in all_calls(job["id"]):
            reply = hub.service(None, method, path, body, token=token, headers=headers)
            assert reply.status == status, (what, method, path, reply)
            assert reply.json["message"], (what, reply)
    # a revoked token cannot change anything at once; reads stop within the cache time
    for method, path, body in all_calls(job["id"]):
        if method == "POST":
            reply = hub.service(None, method, path, body, token=revoked["token"])
            assert reply.status == 401, (method, path, reply)
    time.sleep(CACHE_SECONDS + 0.5)
    assert hub.service(None, "GET", "jobs", token=revoked["token"]).status == 401
    # headers and parameters naming another user do not change who the caller is
    forged = {"X-Forwarded-User": "alice", "X-JupyterHub-User": "alice", "REMOTE_USER": "alice"}
    assert hub.service("bob", "GET", "options?user=alice", headers=forged).json["user"] == "bob"
    assert hub.service("bob", "GET", f"jobs/{job['id']}", headers=forged).status == 404
    assert hub.service("bob", "POST", f"jobs/{job['id']}/cancel", headers=forged).status == 404

    after = hub.service("alice", "GET", "jobs?limit=200").json["jobs"]
    assert [j["id"] for j in after] == before
    assert hub.service("alice", "GET", f"jobs/{job['id']}").json["status"] == "Running"
    hub.service("alice", "POST", f"jobs/{job['id']}/cancel")


def test_on_a_shared_server_the_visitor_acts_as_themselves(hub: Hub) -> None:
    shared = hub.process.request(
        "POST", "/hub/api/shares/alice/", hub.token("alice"), {"user": "dave"}
    )
    assert shared.status in (200, 201), shared
    job = hub.submit("alice", "research", "true")
    options = hub.server("dave", "GET", "options", owner="alice")
    assert options.status == 200, options
    assert options.json["user"] == "dave"
    assert [g["name"] for g in options.json["groups"]] == ["ops"]
    assert hub.server("dave", "GET", f"jobs/{job['id']}", owner="alice").status == 404
    body = {"name": "dave's", "group": "ops", "command": "true", **QUICK}
    created = hub.server("dave", "POST", "jobs", body, owner="alice")
    assert created.status == 201 and created.json["user"] == "dave", created
    research = {**body, "group": "research"}
    assert hub.server("dave", "POST", "jobs", research, owner="alice").status == 403
    # the owner is still herself on her server
    assert hub.server("alice", "GET", "options").json["user"] == "alice"
    assert hub.server("alice", "GET", f"jobs/{created.json['id']}").status == 404


# -- acceptance 3: who sees what --------------------------------------------------------
MEMBERS = {"alice": {"research"}, "bob": {"ops"}, "carol": {"research", "ops"}, "dave": {"ops"}}
ADMINISTERED = {"erin": {"research"}}
USERS = [*MEMBERS, *ADMINISTERED]


def visible(user: str) -> set[str]:
    return MEMBERS.get(user, set()) | ADMINISTERED.get(user, set())


def every_page(hub: Hub, user: str, query: str) -> list[Any]:
    jobs: list[Any] = []
    cursor = ""
    while True:
        reply = hub.service(user, "GET", f"jobs?limit=2&{query}&cursor={cursor}")
        assert reply.status == 200, reply
        jobs += reply.json["jobs"]
        cursor = reply.json["next_cursor"]
        if not cursor:
            return jobs


def test_security_matrix(hub: Hub) -> None:
    jobs = [
        hub.submit(user, group, "echo secret-of-$JOB_USER")
        for user, groups in MEMBERS.items()
        for group in sorted(groups)
    ]
    for job in jobs:
        hub.wait(job["user"], job["id"], {"Succeeded"})
    for user in USERS:
        mine = visible(user)
        listed = every_page(hub, user, "")
        assert {j["group"] for j in listed} <= mine, user
        ids = {j["id"] for j in listed}
        assert {j["id"] for j in jobs if j["group"] in mine} <= ids, user
        assert not {j["id"] for j in jobs if j["group"] not in mine} & ids, user
        own = every_page(hub, user, "mine=true")
        assert {j["user"] for j in own} <= {user}, user
        done = every_page(hub, user, "status=Succeeded")
        assert {j["status"] for j in done} == ({"Succeeded"} if mine else set()), user
        for group in ("research", "ops", "nope"):
            reply = hub.service(user, "GET", f"jobs?group={group}")
            if group in mine:
                assert {j["group"] for j in reply.json["jobs"]} <= {group}, (user, group)
            else:
                assert reply.status == 403, (user, group, reply)
        options = hub.service(user, "GET", "options").json
        assert {g["name"] for g in options["groups"]} == MEMBERS.get(user, set())
        for job in jobs:
            seen = job["group"] in mine
            expected = 200 if seen else 404
            for path in (f"jobs/{job['id']}", f"jobs/{job['id']}/logs"):
                reply = hub.service(user, "GET", path)
                assert reply.status == expected, (user, path, reply)
            if seen:
                assert reply.raw == f"secret-of-{job['user']}\n".encode()
            cancel = hub.service(user, "POST", f"jobs/{job['id']}/cancel")
            assert cancel.status == (409 if seen else 404), (user, job, cancel)
            rerun = hub.service(user, "POST", f"jobs/{job['id']}/rerun")
            member = job["group"] in MEMBERS.get(user, set())
            assert rerun.status == (201 if member else 403 if seen else 404), (user, job, rerun)
            create = {"name": "m", "group": job["group"], "command": "true", **QUICK}
            created = hub.service(user, "POST", "jobs", create)
            assert created.status == (201 if member else 403), (user, job, created)
    # through the users' own servers: the same answers
    for user in ("alice", "bob"):
        through = hub.server(user, "GET", "jobs?limit=200").json["jobs"]
        assert {j["group"] for j in through} <= visible(user)
        for job in jobs:
            status = hub.server(user, "GET", f"jobs/{job['id']}").status
            assert status == (200 if job["group"] in visible(user) else 404), (user, job)


def test_a_group_administrator_sees_and_cancels_that_groups_jobs(hub: Hub) -> None:
    job = hub.submit("alice", "research", "sleep 60")
    other = hub.submit("bob", "ops", "sleep 60")
    assert hub.service("erin", "GET", f"jobs/{job['id']}").status == 200
    assert hub.service("erin", "GET", f"jobs/{other['id']}").status == 404
    assert hub.service("erin", "POST", f"jobs/{other['id']}/cancel").status == 404
    cancelled = hub.service("erin", "POST", f"jobs/{job['id']}/cancel")
    assert cancelled.status == 200, cancelled
    assert hub.wait("alice", job["id"], {"Cancelled"})["message"] == "Cancelled by erin"
    hub.service("bob", "POST", f"jobs/{other['id']}/cancel")


# -- acceptance 5: notebook jobs from a user's server ----------------------------------
def test_a_notebook_job_from_a_users_server_runs_in_the_service(hub: Hub) -> None:
    home = hub.process.state / "homes" / "alice"
    notebook = nbformat.v4.new_notebook()
    parameters = nbformat.v4.new_code_cell("x = 1")
    parameters.metadata["tags"] = ["parameters"]
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.cells = [parameters, nbformat.v4.new_code_cell("print('x squared', x * x)")]
    (home / "analysis.ipynb").write_text(nbformat.writes(notebook))
    body = {
        "name": "analysis",
        "group": "research",
        "instance_type": "cpu-small",
        "image": "python",
        "notebook": "analysis.ipynb",
        "parameters": {"x": 7},
    }
    created = hub.server("alice", "POST", "jobs", body)
    assert created.status == 201, created
    done = hub.wait("alice", created.json["id"], {"Succeeded", "Failed"}, timeout=180)
    assert done["status"] == "Succeeded", (
        done,
        hub.server("alice", "GET", f"jobs/{done['id']}/logs"),
    )
    output = Path(done["output_path"])
    assert output.is_relative_to(hub.process.state / "projects" / "research")
    executed = nbformat.reads(output.read_text(), as_version=4)
    printed = [o.get("text", "") for c in executed.cells for o in c.get("outputs", [])]
    assert "x squared 49\n" in printed
    # the service itself reads no file a caller names: the content must come along
    for path in ("analysis.ipynb", "state/jobs/jobs.sqlite", "hub.log"):
        direct = hub.service("alice", "POST", "jobs", {**body, "notebook": path})
        assert direct.status == 400 and direct.json["field"] == "notebook", direct
    missing = {**body, "notebook": "nope.ipynb"}
    reply = hub.server("alice", "POST", "jobs", missing)
    assert reply.status == 400 and "nope.ipynb" in reply.json["message"], reply


# -- the service down or hung: a clear error, never a 500 or a hang ---------------------
def test_a_down_or_hung_service_is_a_clear_error(hub: Hub) -> None:
    started = time.monotonic()
    down = hub.server("gina", "GET", "jobs")
    assert down.status == 503, down
    assert "The jobs service is not reachable" in down.json["message"]
    assert time.monotonic() - started < 10
    started = time.monotonic()
    hung = hub.server("hank", "POST", "jobs", {"name": "x"})
    assert hung.status == 504, hung
    assert "did not answer within 5 s" in hung.json["message"]
    assert time.monotonic() - started < 15
    started = time.monotonic()
    following = hub.server("hank", "GET", "jobs/0123/logs?follow=1")
    assert following.status == 504, following
    assert time.monotonic() - started < 15


def test_jupyter_jobs_in_a_terminal_talks_to_the_service_with_a_hub_token(hub: Hub) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "JUPYTER_TOKEN": hub.token("bob")}
    command = [sys.executable, "-m", "jupyterlab_jobs.cli", "--url", hub.process.service_url]
    submitted = subprocess.run(
        [*command, "submit", "--group", "ops", "--instance-type", "cpu-small", "--image",
         "shell", "--command", "echo from-the-terminal", "--follow"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert submitted.returncode == 0, submitted
    assert "from-the-terminal" in submitted.stdout
    refused = subprocess.run(
        [*command, "submit", "--group", "research", "--instance-type", "cpu-small",
         "--image", "shell", "--command", "true"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert refused.returncode != 0 and "research" in refused.stderr, refused


def test_schedules_work_through_a_users_server_and_fire_in_the_service(hub: Hub) -> None:
    """Every schedule verb passes through the client (PATCH and DELETE included), and a
    Run now job is started by the service, whatever the user's server does."""
    body = {
        "name": "nightly",
        "group": "research",
        "cron": "0 3 * * *",
        "timezone": "Europe/Berlin",
        "job": {"command": "echo scheduled", **QUICK},
    }
    created = hub.server("alice", "POST", "schedules", body)
    assert created.status == 201, created
    schedule = created.json
    assert schedule["user"] == "alice" and schedule["next_run_at"]
    patched = hub.server("alice", "PATCH", f"schedules/{schedule['id']}", {"cron": "0 4 * * *"})
    assert patched.status == 200, patched
    assert patched.json["cron"] == "0 4 * * *"
    # bob is not in research: the schedule does not exist for him
    assert hub.server("bob", "GET", f"schedules/{schedule['id']}").status == 404
    assert hub.server("bob", "DELETE", f"schedules/{schedule['id']}").status == 404
    run = hub.server("alice", "POST", f"schedules/{schedule['id']}/run")
    assert run.status == 201, run
    assert run.json["schedule"] == {"id": schedule["id"], "name": "nightly"}
    assert hub.wait("alice", run.json["id"], {"Succeeded"})["trigger"] == "manual"
    deleted = hub.server("alice", "DELETE", f"schedules/{schedule['id']}")
    assert deleted.status in (200, 204), deleted
    assert hub.server("alice", "GET", f"schedules/{schedule['id']}").status == 404


def test_each_tick_asks_the_hub_for_its_owners_groups(hub: Hub) -> None:
    """Ticks fire in the service without a request of the owner's: at each tick the hub
    is asked for the owner's groups (the service's own token has read:users:groups), so
    one after the owner left the group is recorded as invalid and runs nothing, even
    though the service's last answer for the owner still had the group."""
    body = {
        "name": "every minute",
        "group": "research",
        "cron": "* * * * *",
        "timezone": "UTC",
        "concurrency_policy": "allow",
        "job": {"command": "echo tick", **QUICK},
    }
    created = hub.service("ivy", "POST", "schedules", body)
    assert created.status == 201, created
    runs_path = f"schedules/{created.json['id']}/runs"

    def runs(count: int) -> list[Any]:
        end = time.monotonic() + 90  # a tick a minute
        while True:
            reply = hub.service("carol", "GET", runs_path)  # carol is in research
            assert reply.status == 200, reply
            if len(reply.json["runs"]) >= count:
                return list(reply.json["runs"])
            assert time.monotonic() < end, reply
            time.sleep(0.5)

    try:
        (first,) = runs(1)
        assert first["job"] is not None, first
        assert hub.wait("carol", first["job"]["id"], {"Succeeded"})["trigger"] == "schedule"
        removed = hub.admin("DELETE", "/hub/api/groups/research/users", {"users": ["ivy"]})
        assert removed.status == 200, removed
        newest = max(runs(2), key=lambda run: run["scheduled_for"])
        assert newest["reason"] == "invalid" and newest["job"] is None, newest
        assert "not a member of group 'research'" in newest["message"]
    finally:
        hub.admin("POST", "/hub/api/groups/research/users", {"users": ["ivy"]})
        assert hub.service("ivy", "DELETE", f"schedules/{created.json['id']}").status == 204

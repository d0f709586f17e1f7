"""Jobs outlive the server; servers of several users share one data_dir safely."""

from __future__ import annotations

import collections
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import server_config
from server_process import ServerProcess
from test_lifecycle import alive

# Processes, files and sockets: also run as an account whose uid differs from its gid.
pytestmark = pytest.mark.unprivileged

FINAL = {"Succeeded", "Failed", "Cancelled"}


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.stop()


def start(servers: list[ServerProcess], tmp_path: Path, name: str, **config: Any) -> ServerProcess:
    server = ServerProcess(tmp_path, config or server_config(tmp_path), name=name).start()
    servers.append(server)
    return server


def submit(server: ServerProcess, command: str, **fields: Any) -> dict[str, Any]:
    body = {"name": "job", "group": "research", "instance_type": "cpu-half", "image": "base"}
    body.update(fields, command=command)
    return server.call("POST", "jobs", body, expect=201)  # type: ignore[no-any-return]


def test_jobs_survive_a_killed_server(servers: list[ServerProcess], tmp_path: Path) -> None:
    first = start(servers, tmp_path, "first")
    long = submit(
        first,
        "echo begin; while [ ! -f research/release ]; do sleep 0.05; done; echo end",
        name="long",
    )
    short = submit(first, "echo short; sleep 1; exit 7", name="short")
    first.wait(long["id"], {"Running"})
    first.wait(short["id"], {"Running"})
    data_dir = Path(first.config["JobsApp"]["data_dir"])
    state = json.loads((data_dir / "jobs" / long["id"] / "state.json").read_text())
    first.kill()
    killed_at = time.time()

    time.sleep(2.0)  # the short job ends while no server is up
    os.kill(state["supervisor_pid"], 0)  # the long job's supervisor is still there

    second = start(servers, tmp_path, "second")
    ended = second.wait(short["id"], FINAL, timeout=10)
    assert ended["status"] == "Failed"
    assert ended["exit_code"] == 7 and ended["message"] == "Exited with code 7"
    assert second.call("GET", f"jobs/{short['id']}/logs") == "short\n"
    finished = time.mktime(time.strptime(ended["finished_at"][:19], "%Y-%m-%dT%H:%M:%S"))
    assert finished - time.timezone <= killed_at + 1.5, "finished_at is when it really ended"

    assert second.call("GET", f"jobs/{long['id']}")["status"] == "Running"
    (data_dir / "projects" / "research" / "release").touch()
    done = second.wait(long["id"], FINAL, timeout=15)
    assert done["status"] == "Succeeded" and done["exit_code"] == 0
    assert second.call("GET", f"jobs/{long['id']}/logs") == "begin\nend\n"
    assert done["started_at"] == long["started_at"] or long["started_at"] is None


def test_a_job_whose_supervisor_vanished_fails_with_a_message(
    servers: list[ServerProcess], tmp_path: Path
) -> None:
    server = start(servers, tmp_path, "only")
    job = submit(server, "sleep 30")
    server.wait(job["id"], {"Running"})
    data_dir = Path(server.config["JobsApp"]["data_dir"])
    state = json.loads((data_dir / "jobs" / job["id"] / "state.json").read_text())
    os.kill(state["supervisor_pid"], 9)
    done = server.wait(job["id"], FINAL, timeout=10)
    assert done["status"] == "Failed"
    assert "vanished" in done["message"]
    end = time.monotonic() + 5
    while alive(state["job_pid"]):
        assert time.monotonic() < end, "the orphaned job must be killed"
        time.sleep(0.05)


def test_two_users_share_a_data_dir_and_see_only_their_groups(
    servers: list[ServerProcess], tmp_path: Path
) -> None:
    alice_config = server_config(tmp_path, user="alice")
    bob_config = server_config(tmp_path, user="bob")
    alice = start(servers, tmp_path, "alice", **alice_config)
    bob = start(servers, tmp_path, "bob", **bob_config)

    private = submit(alice, "echo research secret", group="research", name="private")
    shared = submit(alice, "echo ops work", group="ops", name="shared")
    mine = submit(bob, "echo bob work", group="ops", name="bobs")
    for job in (private, shared, mine):
        alice.wait(job["id"], FINAL)

    bob_sees = {j["id"] for j in bob.call("GET", "jobs")["jobs"]}
    assert bob_sees == {shared["id"], mine["id"]}
    alice_sees = {j["id"] for j in alice.call("GET", "jobs")["jobs"]}
    assert alice_sees == {private["id"], shared["id"], mine["id"]}
    assert {j["id"] for j in bob.call("GET", "jobs?mine=true")["jobs"]} == {mine["id"]}
    assert [g["name"] for g in bob.call("GET", "options")["groups"]] == ["ops"]

    for method, path in [
        ("GET", f"jobs/{private['id']}"),
        ("GET", f"jobs/{private['id']}/logs"),
        ("POST", f"jobs/{private['id']}/cancel"),
        ("POST", f"jobs/{private['id']}/rerun"),
    ]:
        status, body = bob.request(method, path)
        assert status == 404, (method, path, status, body)
        assert "research" not in json.dumps(body)
    status, body = bob.request("GET", "jobs?group=research")
    assert status == 403
    status, body = bob.request(
        "POST",
        "jobs",
        {
            "name": "x",
            "group": "research",
            "instance_type": "cpu-half",
            "image": "base",
            "command": "true",
        },
    )
    assert status == 403 and "not a member" in body["message"]
    assert {j["id"] for j in bob.call("GET", "jobs")["jobs"]} == bob_sees


def test_two_servers_never_start_a_job_twice(servers: list[ServerProcess], tmp_path: Path) -> None:
    config = server_config(tmp_path)
    config["LocalBackend"]["max_concurrent_jobs"] = 2
    config_bob = server_config(tmp_path, user="bob")
    config_bob["LocalBackend"]["max_concurrent_jobs"] = 2
    alice = start(servers, tmp_path, "alice", **config)
    bob = start(servers, tmp_path, "bob", **config_bob)
    command = "echo $JOB_ID >> ops/ran; sleep 0.2"
    jobs = []
    for index in range(8):
        jobs.append(submit(alice, command, group="ops", name=f"a{index}"))
        jobs.append(submit(bob, command, group="ops", name=f"b{index}"))
    peak = 0
    end = time.monotonic() + 60
    while True:
        listed = alice.call("GET", "jobs?group=ops&limit=100")["jobs"]
        active = [j for j in listed if j["status"] in ("Preparing", "Running")]
        peak = max(peak, len(active))
        if all(j["status"] in FINAL for j in listed):
            break
        assert time.monotonic() < end
        time.sleep(0.02)
    assert {j["status"] for j in listed} == {"Succeeded"}
    assert peak <= 2, "capacity is shared by all servers of one data_dir"
    data_dir = Path(config["JobsApp"]["data_dir"])
    ran = collections.Counter((data_dir / "projects" / "ops" / "ran").read_text().split())
    assert ran == {job["id"]: 1 for job in jobs}

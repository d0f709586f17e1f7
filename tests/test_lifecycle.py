"""A job's whole life through the REST API, with real processes."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

# Processes, files and sockets: also run as an account whose uid differs from its gid.
pytestmark = pytest.mark.unprivileged


@pytest.fixture
def jobs_db_url(db_url: str) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return db_url


def alive(pid: int) -> bool:
    """True while ``pid`` is a live (non-zombie) process."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


@pytest.mark.parametrize(
    "jobs_settings",
    [
        pytest.param({}, id="forked-by-the-launcher"),
        pytest.param({"LocalBackend": {"use_launcher": False}}, id="started-directly"),
    ],
)
async def test_supervisors_started_both_ways_run_the_job(api: Any) -> None:
    job = await api.submit("echo hello; echo oops >&2", name="greeting")
    done = await api.wait(job["id"])
    assert (done["status"], done["exit_code"]) == ("Succeeded", 0)
    assert done["created_at"].endswith("Z")
    assert await api.logs(job["id"]) == "hello\noops\n"


async def test_server_secrets_are_not_passed_to_jobs(api: Any) -> None:
    os.environ["JUPYTERHUB_API_TOKEN"] = "server-secret"
    try:
        job = await api.submit('echo "token=$JUPYTERHUB_API_TOKEN"; echo "home=$HOME"')
        await api.wait(job["id"])
    finally:
        del os.environ["JUPYTERHUB_API_TOKEN"]
    lines = (await api.logs(job["id"])).splitlines()
    assert lines[0] == "token="
    assert lines[1].startswith("home=/") and lines[1].endswith("/home")


async def test_nonzero_exit_is_failed_with_code_in_message(api: Any) -> None:
    job = await api.submit("echo about to fail; exit 3")
    done = await api.wait(job["id"])
    assert done["status"] == "Failed"
    assert done["exit_code"] == 3
    assert done["message"] == "Exited with code 3"


async def test_windows_and_old_mac_line_endings_reach_bash_as_newlines(api: Any) -> None:
    job = await api.submit("echo hi\r\necho there\recho end\r\n")
    assert job["command"] == "echo hi\necho there\necho end"  # the trailing one stripped
    done = await api.wait(job["id"])
    assert done["status"] == "Succeeded"
    assert await api.logs(job["id"]) == "hi\nthere\nend\n"  # no "\r" from bash's echo


async def test_killed_by_signal_says_so(api: Any) -> None:
    job = await api.submit("kill -KILL $$")
    done = await api.wait(job["id"])
    assert done["status"] == "Failed"
    assert done["exit_code"] == 137
    assert "SIGKILL" in done["message"]


async def test_image_prefix_comes_first_on_path(api: Any) -> None:
    import sys

    job = await api.submit("command -v python", image="python")
    await api.wait(job["id"])
    assert (await api.logs(job["id"])).strip() == f"{sys.prefix}/bin/python"


async def test_temporary_home_persistent_group_dir_and_datasets(api: Any, jobs_app: Any) -> None:
    command = (
        'pwd; echo "$HOME"; echo scratch > scratch.txt; '
        "echo kept >> research/result.txt; cat datasets/mnist/README; ls"
    )
    first = await api.submit(command)
    await api.wait(first["id"])
    lines = (await api.logs(first["id"])).splitlines()
    home = Path(lines[0])
    assert lines[1] == str(home)
    assert lines[2] == "mnist sample"
    assert sorted(lines[3:]) == ["datasets", "research", "scratch.txt"]
    assert not home.exists(), "the job's temporary home must be removed when it ends"
    group_dir = Path(jobs_app.backend.projects) / "research"
    assert (group_dir / "result.txt").read_text() == "kept\n"

    second = await api.submit(command)
    await api.wait(second["id"])
    assert Path((await api.logs(second["id"])).splitlines()[0]) != home
    assert (group_dir / "result.txt").read_text() == "kept\nkept\n"


async def test_cpu_affinity_and_memory_limit(api: Any) -> None:
    cpus = await api.submit("python3 -c 'import os; print(len(os.sched_getaffinity(0)))'")
    await api.wait(cpus["id"])
    assert (await api.logs(cpus["id"])).strip() == "1"
    # cpu-half allows 512Mi: allocating 1 GiB must fail.
    hog = await api.submit("python3 -c 'b = bytearray(1024**3); print(\"allocated\")'")
    done = await api.wait(hog["id"])
    assert done["status"] == "Failed"
    assert "allocated" not in await api.logs(hog["id"])
    assert "MemoryError" in await api.logs(hog["id"])
    assert done["message"] == (
        "Exited with code 1 after running out of memory (limit: 512Mi); "
        "choose an instance type with more memory"
    )
    plain = await api.wait((await api.submit("echo 'no such thing'; exit 3"))["id"])
    assert plain["message"] == "Exited with code 3"


async def test_cancel_kills_every_process_of_the_job(api: Any, jobs_app: Any) -> None:
    group_dir = Path(jobs_app.backend.projects) / "research"
    pids = group_dir / "pids"
    command = (
        "sleep 300 & echo $! >> research/pids; "
        "(sleep 300 & echo $! >> research/pids; wait) & "
        "setsid sleep 300 & echo $! >> research/pids; "
        "echo $$ >> research/pids; wait"
    )
    job = await api.submit(command)
    await api.wait(job["id"], {"Running"})
    end = time.monotonic() + 10
    while not pids.exists() or len(pids.read_text().split()) < 4:
        assert time.monotonic() < end
        await asyncio.sleep(0.05)
    numbers = [int(p) for p in pids.read_text().split()]
    assert all(alive(p) for p in numbers)
    await api.cancel(job["id"])
    assert [p for p in numbers if alive(p)] == []


async def test_cancel_sigkills_a_job_that_ignores_sigterm(api: Any) -> None:
    # The job notes SIGTERM in its log and goes on: only SIGKILL can end it.
    job = await api.submit("trap 'echo got SIGTERM' TERM; echo ready; while :; do sleep 0.1; done")
    await api.wait(job["id"], {"Running"})
    while "ready" not in await api.logs(job["id"]):
        await asyncio.sleep(0.05)
    started = time.monotonic()
    await api.call("POST", f"jobs/{job['id']}/cancel")
    done = await api.wait(job["id"])
    elapsed = time.monotonic() - started
    assert done["status"] == "Cancelled"
    # SIGTERM first (the job saw it), then SIGKILL (128 + 9), no sooner than the grace
    # (1 s in the tests); the upper bound is loose: under load the kill comes late.
    assert "got SIGTERM" in (await api.logs(job["id"])).splitlines()
    assert done["exit_code"] == 137
    assert 0.9 <= elapsed < 30


@pytest.mark.parametrize(
    "jobs_settings",
    [{"LocalBackend": {"max_concurrent_jobs": 1}}],
)
async def test_capacity_queues_jobs_first_in_first_out(api: Any) -> None:
    first = await api.submit("sleep 1", name="first")
    assert first["status"] in ("Preparing", "Running")
    second = await api.submit("echo second", name="second")
    third = await api.submit("echo third", name="third")
    for waiting in (second, third):
        assert waiting["status"] == "Pending"
        assert waiting["message"] == "Insufficient capacity: 1/1 jobs running"
    jobs = [await api.wait(j["id"]) for j in (first, second, third)]
    assert [j["status"] for j in jobs] == ["Succeeded"] * 3
    assert jobs[0]["finished_at"] <= jobs[1]["started_at"] <= jobs[2]["started_at"]
    assert jobs[1]["started_at"] >= jobs[1]["created_at"]


@pytest.mark.parametrize(
    "jobs_settings",
    [{"LocalBackend": {"max_concurrent_jobs": 1}}],
)
async def test_a_queued_job_whose_dataset_went_missing_fails_saying_why(
    api: Any, jobs_app: Any
) -> None:
    """Checked at submission and again at its start: not run with a dangling link."""
    first = await api.submit("sleep 1", name="first")
    waiting = await api.submit("ls datasets/mnist/", name="waiting")
    assert waiting["status"] == "Pending"
    mnist = jobs_app.service.catalog.dataset("mnist")
    dataset = jobs_app.backend.dataset_path(mnist.name, mnist.path)
    shutil.rmtree(dataset)
    assert (await api.wait(first["id"]))["status"] == "Succeeded"
    failed = await api.wait(waiting["id"])
    assert failed["status"] == "Failed"
    assert failed["message"] == (
        "Could not start: Dataset 'mnist' of this group is missing on this server; "
        "ask your administrator"
    )


async def test_cpu_capacity_queues_jobs(api: Any) -> None:
    # cpu_capacity is 2 in the tests: two 1-CPU jobs fill it.
    a = await api.submit("sleep 1", instance_type="cpu-1")
    b = await api.submit("sleep 1", instance_type="cpu-1")
    c = await api.submit("true", instance_type="cpu-half")
    assert c["status"] == "Pending"
    assert c["message"] == "Insufficient capacity: 2 of 2 CPUs in use, the job needs 0.5"
    for job in (a, b, c):
        assert (await api.wait(job["id"]))["status"] == "Succeeded"


async def test_cancel_of_a_pending_job(api: Any, jobs_app: Any) -> None:
    blockers = [await api.submit("sleep 2", instance_type="cpu-1") for _ in range(2)]
    waiting = await api.submit("echo never")
    assert waiting["status"] == "Pending"
    done = await api.call("POST", f"jobs/{waiting['id']}/cancel")
    assert done["status"] == "Cancelled" and done["message"] == "Cancelled by alice"
    assert done["started_at"] is None and done["duration_seconds"] is None
    for job in blockers:
        await api.call("POST", f"jobs/{job['id']}/cancel")
    await asyncio.sleep(0.3)
    assert (await api.call("GET", f"jobs/{waiting['id']}"))["status"] == "Cancelled"
    assert not (Path(jobs_app.data_dir) / "jobs" / waiting["id"]).exists()


@pytest.mark.parametrize(
    "jobs_settings",
    [{"JobsApp": {"record_retention_seconds": 1, "retention_interval_seconds": 0.2}}],
)
async def test_record_retention_removes_old_records(api: Any) -> None:
    job = await api.submit("true")
    await api.wait(job["id"])
    end = time.monotonic() + 10
    while (await api.raw("GET", f"jobs/{job['id']}")).code != 404:
        assert time.monotonic() < end
        await asyncio.sleep(0.1)
    assert (await api.call("GET", "jobs"))["jobs"] == []


async def test_pending_job_log_is_empty(api: Any) -> None:
    for _ in range(2):
        await api.submit("sleep 1", instance_type="cpu-1")
    waiting = await api.submit("echo later")
    assert waiting["status"] == "Pending"
    assert await api.logs(waiting["id"]) == ""


async def test_state_files_record_the_supervisor(api: Any, jobs_app: Any) -> None:
    job = await api.submit("sleep 0.5")
    await api.wait(job["id"], {"Running"})
    state = json.loads((Path(jobs_app.data_dir) / "jobs" / job["id"] / "state.json").read_text())
    assert alive(state["supervisor_pid"]) and alive(state["job_pid"])
    assert os.getsid(state["supervisor_pid"]) != os.getsid(0), "supervisor must be detached"
    await api.wait(job["id"])

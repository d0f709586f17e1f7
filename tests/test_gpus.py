"""GPUs on the local backend: detection, one job per device, waiting for devices, and the
assignments surviving a killed server. No GPU is needed: the devices come from config (or
from a stand-in ``nvidia-smi``), and the jobs print what they were given."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import Api, server_config
from server_process import ServerProcess, catalog

from jupyterlab_jobs.backends.base import JobSpec, Started
from jupyterlab_jobs.backends.gpus import parse_nvidia_smi_list
from jupyterlab_jobs.backends.local import LocalBackend
from jupyterlab_jobs.catalog import Catalog
from jupyterlab_jobs.models import Job
from jupyterlab_jobs.service import JobService
from jupyterlab_jobs.store import Store

NVIDIA_SMI_L = """\
GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-2d6d0d35-6f1f-3b2a-b1c4-0f8e2f8d9a11)
  MIG 1g.5gb      Device  0: (UUID: MIG-0a6b1c55-7d1e-5b8a-9e55-3d2c1b0a9f88)
GPU 1: Tesla T4 (UUID: GPU-8c1e2a3b-4d5e-6f70-8192-a3b4c5d6e7f8)
"""
# Prints what the job was given, then runs until the test creates research/release-<name>.
GPU_JOB = (
    'echo "cuda=[$CUDA_VISIBLE_DEVICES] nvidia=[$NVIDIA_VISIBLE_DEVICES]"; '
    'while [ ! -f research/release-"$JOB_NAME" ]; do sleep 0.05; done'
)
WAITING = {"Pending"}
RUNNING = {"Running"}
FINAL = {"Succeeded", "Failed", "Cancelled"}


def gpu_catalog(root: Path) -> dict[str, Any]:
    """The test catalog plus instance types with two and three GPUs."""
    entries = catalog(root)
    entries["instance_types"] += [
        {"name": "gpu-2", "cpu": 1, "memory": "1Gi", "gpu": 2},
        {"name": "gpu-3", "cpu": 1, "memory": "1Gi", "gpu": 3},
    ]
    entries["groups"][0]["instance_types"] += ["gpu-2", "gpu-3"]
    return entries


@pytest.fixture
def jobs_settings(tmp_path: Path) -> dict[str, Any]:
    return {
        "JobsApp": gpu_catalog(tmp_path),
        "LocalBackend": {"gpus": ["0", "1"], "cpu_capacity": 8},
    }


def release(jobs_app: Any, name: str) -> None:
    (Path(jobs_app.backend.projects) / "research" / f"release-{name}").touch()


async def submit_gpu_job(api: Api, name: str, instance_type: str = "gpu-1") -> dict[str, Any]:
    return await api.submit(GPU_JOB, name=name, instance_type=instance_type)


async def given(api: Api, job: dict[str, Any]) -> str:
    """The first line the job printed: what it was given."""
    running = await api.wait(job["id"], RUNNING)
    assert running["gpus"], running
    for _ in range(200):
        text = await api.logs(job["id"])
        if text.endswith("\n"):
            return text.splitlines()[0]
        await asyncio.sleep(0.05)
    raise AssertionError(f"job {job['name']} printed nothing")


# -- acceptance 1: one device per job, the third waits for a freed one ----------------------
async def test_each_gpu_job_gets_its_own_device_and_the_third_waits(
    api: Api, jobs_app: Any
) -> None:
    first, second = await submit_gpu_job(api, "first"), await submit_gpu_job(api, "second")
    one, two = await given(api, first), await given(api, second)
    devices = {(await api.call("GET", f"jobs/{job['id']}"))["gpus"][0] for job in (first, second)}
    assert devices == {"0", "1"}
    assert {one, two} == {"cuda=[0] nvidia=[0]", "cuda=[1] nvidia=[1]"}
    third = await submit_gpu_job(api, "third")
    waiting = await api.call("GET", f"jobs/{third['id']}")
    assert waiting["status"] == "Pending", waiting
    assert waiting["message"] == "Waiting for 1 GPU: 2/2 in use"
    assert waiting["gpus"] == []
    freed = (await api.call("GET", f"jobs/{first['id']}"))["gpus"]
    release(jobs_app, "first")
    assert (await api.wait(first["id"], FINAL))["status"] == "Succeeded"
    assert await given(api, third) == f"cuda=[{freed[0]}] nvidia=[{freed[0]}]"
    assert (await api.call("GET", f"jobs/{third['id']}"))["gpus"] == freed
    for name in ("second", "third"):
        release(jobs_app, name)
    await api.wait(third["id"], FINAL)


# -- acceptance 2: a job of two GPUs waits for both; three is refused ------------------------
async def test_a_two_gpu_job_waits_for_both_and_three_is_a_400(api: Api, jobs_app: Any) -> None:
    one = await submit_gpu_job(api, "one")
    await given(api, one)
    both = await submit_gpu_job(api, "both", instance_type="gpu-2")
    waiting = await api.call("GET", f"jobs/{both['id']}")
    assert (waiting["status"], waiting["message"]) == ("Pending", "Waiting for 2 GPUs: 1/2 in use")
    release(jobs_app, "one")
    assert await given(api, both) == "cuda=[0,1] nvidia=[0,1]"
    assert (await api.call("GET", f"jobs/{both['id']}"))["gpus"] == ["0", "1"]
    release(jobs_app, "both")
    await api.wait(both["id"], FINAL)

    refused = await api.raw(
        "POST",
        "jobs",
        {
            "name": "too many",
            "group": "research",
            "instance_type": "gpu-3",
            "image": "base",
            "command": "true",
        },
    )
    assert refused.code == 400
    error = refused.body.decode()
    assert "Instance type 'gpu-3' needs 3 GPUs; this machine offers jobs 2" in error
    assert '"field": "instance_type"' in error
    listed = await api.call("GET", "jobs", q="too many")
    assert listed["jobs"] == [], "nothing was recorded"


# -- acceptance 4: CPU-only jobs see no GPU -------------------------------------------------
async def test_a_cpu_only_job_sees_no_gpu(
    api: Api, jobs_app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")  # the server's own: never passed on
    job = await api.submit(
        'echo "cuda=[${CUDA_VISIBLE_DEVICES-unset}] nvidia=[${NVIDIA_VISIBLE_DEVICES-unset}]"'
    )
    done = await api.wait(job["id"])
    assert done["status"] == "Succeeded" and done["gpus"] == []
    assert await api.logs(job["id"]) == "cuda=[] nvidia=[]\n"


# -- acceptance 5: detection --------------------------------------------------------------
def test_nvidia_smi_list_is_parsed_without_mig_devices() -> None:
    assert parse_nvidia_smi_list(NVIDIA_SMI_L) == [
        ("0", "NVIDIA A100-SXM4-40GB"),
        ("1", "Tesla T4"),
    ]
    assert parse_nvidia_smi_list("No devices were found\n") == []


def stand_in_nvidia_smi(directory: Path, script: str) -> str:
    directory.mkdir()
    program = directory / "nvidia-smi"
    program.write_text(f"#!/bin/sh\n{script}\n")
    program.chmod(0o755)
    return f"{directory}{os.pathsep}{os.environ['PATH']}"


def test_the_default_gpus_are_detected_with_nvidia_smi(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = stand_in_nvidia_smi(
        tmp_path / "bin", f'[ "$1" = -L ] || exit 2\ncat <<"EOF"\n{NVIDIA_SMI_L}EOF'
    )
    monkeypatch.setenv("PATH", path)
    with caplog.at_level(logging.INFO):
        backend = LocalBackend(data_dir=str(tmp_path))
    assert backend.gpus == ["0", "1"]
    assert "GPUs for jobs: 0 (NVIDIA A100-SXM4-40GB), 1 (Tesla T4)" in caplog.text
    assert LocalBackend(data_dir=str(tmp_path), gpus=["GPU-8c1e"]).gpus == ["GPU-8c1e"]


def test_no_driver_means_no_gpus(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(
        "PATH",
        stand_in_nvidia_smi(
            tmp_path / "bin",
            "echo \"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA "
            'driver."; exit 9',
        ),
    )
    with caplog.at_level(logging.INFO):
        assert LocalBackend(data_dir=str(tmp_path)).gpus == []
    assert "couldn't communicate with the NVIDIA driver" in caplog.text
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert LocalBackend(data_dir=str(tmp_path)).gpus == []


# -- acceptance 3: a killed server's GPU jobs keep their devices ---------------------------
@pytest.fixture
def servers() -> Iterator[list[ServerProcess]]:
    started: list[ServerProcess] = []
    yield started
    for server in started:
        server.stop()


def gpu_server(servers: list[ServerProcess], tmp_path: Path, name: str) -> ServerProcess:
    config = server_config(tmp_path)
    config["LocalBackend"].update(gpus=["0", "1"], cpu_capacity=8)
    server = ServerProcess(tmp_path, config, name=name).start()
    servers.append(server)
    return server


def test_a_restarted_server_never_hands_out_a_busy_gpu(
    servers: list[ServerProcess], tmp_path: Path
) -> None:
    body = {"group": "research", "instance_type": "gpu-1", "image": "base", "command": GPU_JOB}
    first = gpu_server(servers, tmp_path, "first")
    jobs = [first.call("POST", "jobs", {**body, "name": name}, expect=201) for name in "ab"]
    given = {job["name"]: first.wait(job["id"], RUNNING)["gpus"] for job in jobs}
    assert sorted(given.values()) == [["0"], ["1"]]
    first.kill()

    second = gpu_server(servers, tmp_path, "second")
    third = gpu_server(servers, tmp_path, "third")  # a second server on the same store
    waiting = [
        server.call("POST", "jobs", {**body, "name": name}, expect=201)
        for server, name in ((second, "c"), (third, "d"))
    ]
    for job in waiting:
        pending = second.wait(job["id"], WAITING)
        assert pending["message"] == "Waiting for 1 GPU: 2/2 in use", pending
    assert [second.call("GET", f"jobs/{job['id']}")["status"] for job in jobs] == ["Running"] * 2

    project = Path(first.config["JobsApp"]["data_dir"]) / "projects" / "research"
    (project / "release-a").touch()
    assert second.wait(jobs[0]["id"], FINAL)["status"] == "Succeeded"
    started = second.wait(waiting[0]["id"], RUNNING)
    assert started["gpus"] == given["a"], "the freed device, and only that one"
    still = third.call("GET", f"jobs/{waiting[1]['id']}")
    assert (still["status"], still["message"]) == ("Pending", "Waiting for 1 GPU: 2/2 in use")
    for name in "bcd":
        (project / f"release-{name}").touch()
    assert third.wait(waiting[1]["id"], FINAL)["status"] == "Succeeded"


class StartsLate(LocalBackend):
    """A server whose start of a claimed job is slow (a launch may take seconds)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.starting = threading.Event()
        self.go_on = threading.Event()

    def start(self, spec: JobSpec, active: list[Job]) -> Started:
        self.starting.set()
        assert self.go_on.wait(30)
        return super().start(spec, active)


def test_two_servers_claiming_at_once_never_give_out_one_device_twice(tmp_path: Path) -> None:
    """Server A has claimed a job and is still starting it when server B claims the next:
    B must not give out the device A is about to use."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    entries = gpu_catalog(tmp_path)
    options: dict[str, Any] = {
        "data_dir": str(data_dir),
        "gpus": ["0", "1"],
        "cpu_capacity": 8,
        "use_launcher": False,
        "grace_seconds": 1.0,
    }
    slow = StartsLate(**options)
    servers = [
        JobService(
            store=Store(data_dir / "jobs.sqlite"),
            catalog=Catalog.load(**entries),
            backend=backend,
            groups_for=lambda user: ["research"],
        )
        for backend in (slow, LocalBackend(**options))
    ]
    body = {"group": "research", "instance_type": "gpu-1", "image": "base", "command": GPU_JOB}
    created: list[Job] = []
    submitting = threading.Thread(
        target=lambda: created.append(servers[0].create("alice", {**body, "name": "a"}))
    )
    submitting.start()
    try:
        assert slow.starting.wait(30), "server A claimed its job"
        second = servers[1].create("alice", {**body, "name": "b"})
    finally:
        slow.go_on.set()
        submitting.join(30)
    first = created[0]
    jobs = [servers[1].store.get(job.id) for job in (first, second)]
    assert all(job is not None and job.status == "Running" for job in jobs), jobs
    devices = [job.gpus for job in jobs if job is not None]
    assert sorted(devices) == [["0"], ["1"]]
    for job, given in zip((first, second), devices, strict=True):
        log = slow.log_path(job)
        end = time.monotonic() + 10
        while not (log.exists() and log.read_text().endswith("\n")):
            assert time.monotonic() < end, f"job {job.name} printed nothing"
            time.sleep(0.05)
        assert log.read_text() == f"cuda=[{given[0]}] nvidia=[{given[0]}]\n"
    project = slow.group_dir("research")
    for name in "ab":
        (project / f"release-{name}").touch()
    end = time.monotonic() + 15
    while any(not (servers[1].store.get(job.id) or job).is_final for job in (first, second)):
        assert time.monotonic() < end, "the jobs did not end"
        servers[1].reconcile()
        time.sleep(0.05)
    for server in servers:
        server.store.close()

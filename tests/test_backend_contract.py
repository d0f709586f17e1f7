"""One behaviour, two backends: a job's whole life through the REST API, run on the local
backend and on the Kubernetes backend (against ``fake_k8s.FakeCluster``, whose kubelet
runs each pod's command as a local process, after a short schedule and create delay).

Assertions here hold for both; what a backend may do differently (the exact words of a
failure message, whole-second timestamps on a cluster) is spelled out where it matters.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_k8s import FakeCluster, wait_for

ORDER = ["Pending", "Preparing", "Running", "Succeeded", "Failed", "Cancelled"]
K8S_BACKEND = "jupyterlab_jobs.backends.kubernetes.KubernetesBackend"


@pytest.fixture
def jobs_db_url(db_url: str) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return db_url


# The local backend's processes, files and sockets: also run as an account whose uid
# differs from its gid.
@pytest.fixture(params=[pytest.param("local", marks=pytest.mark.unprivileged), "kubernetes"])
def backend_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def extra_settings() -> dict[str, dict[str, Any]]:
    """Parametrize to add JobsApp settings for one test (both backends)."""
    return {}


@pytest.fixture
def cluster(backend_name: str) -> Iterator[FakeCluster | None]:
    if backend_name != "kubernetes":
        yield None
        return
    # The "python" image's commands run with the tests' own Python (papermill, ipykernel).
    fake = FakeCluster(
        auto=True,
        schedule_delay=0.2,
        start_delay=0.2,
        image_paths={"python:3.12": str(Path(sys.prefix) / "bin")},
    )
    yield fake
    fake.close()


@pytest.fixture
def jobs_settings(
    cluster: FakeCluster | None, tmp_path: Path, extra_settings: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    settings: dict[str, dict[str, Any]] = {"JobsApp": {}}
    if cluster is not None:
        settings["JobsApp"] = {
            "backend_class": K8S_BACKEND,
            "images": [
                {"name": "base", "container_image": "debian:12"},
                {"name": "python", "container_image": "python:3.12"},
            ],
            "datasets": [{"name": "mnist", "pvc": "mnist"}],
        }
        settings["KubernetesBackend"] = {
            "config_source": "kubeconfig",
            "kubeconfig": str(cluster.write_kubeconfig(tmp_path / "kubeconfig.json")),
            "request_timeout_seconds": 5.0,
            "max_backoff_seconds": 0.2,
            "grace_seconds": 1,  # as LocalBackend.grace_seconds in conftest
        }
    for section, values in extra_settings.items():
        settings.setdefault(section, {}).update(values)
    return settings


@pytest.fixture
def api(api: Any, jobs_app: Any, jp_asyncio_loop: Any) -> Any:
    """The REST client, once the backend knows the cluster's state (the first list; the
    Kubernetes client's first use takes a second or two)."""

    async def ready() -> None:
        end = time.monotonic() + 30
        while not getattr(jobs_app.backend, "ready", True):
            assert time.monotonic() < end, "the backend never listed the cluster"
            await asyncio.sleep(0.01)

    jp_asyncio_loop.run_until_complete(ready())
    return api


async def watch_statuses(api: Any, job_id: str, timeout: float = 30) -> list[str]:
    """Every status the job showed while polled every 20 ms, until it was final."""
    seen: list[str] = []
    end = time.monotonic() + timeout
    while not seen or seen[-1] not in ("Succeeded", "Failed", "Cancelled"):
        assert time.monotonic() < end, f"still {seen}"
        status = (await api.call("GET", f"jobs/{job_id}"))["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        await asyncio.sleep(0.02)
    return seen


async def test_a_job_runs_through_the_statuses_to_success(
    api: Any, backend_name: str, cluster: FakeCluster | None
) -> None:
    job = await api.submit("echo hello; sleep 0.6; echo oops >&2", name="greeting")
    assert job["status"] in ("Pending", "Preparing", "Running")
    assert (job["name"], job["user"], job["group"]) == ("greeting", "alice", "research")
    seen = await watch_statuses(api, job["id"])
    assert seen == sorted(seen, key=ORDER.index), f"statuses went backwards: {seen}"
    assert "Running" in seen and seen[-1] == "Succeeded"
    if cluster is not None:  # the fake cluster takes 0.2 s to schedule, 0.2 s to create
        assert "Preparing" in seen
    done = await api.call("GET", f"jobs/{job['id']}")
    assert done["exit_code"] == 0 and done["message"] == ""
    assert done["created_at"] <= done["started_at"] <= done["finished_at"]
    assert 0 <= done["duration_seconds"] < 5
    assert done["logs_available"] is True
    assert await api.logs(job["id"]) == "hello\noops\n"


async def test_jobs_are_listed_newest_first_and_filtered(api: Any) -> None:
    first = await api.submit("true", name="first run")
    second = await api.submit("exit 1", name="second run")
    for job in (first, second):
        await api.wait(job["id"])
    listed = (await api.call("GET", "jobs"))["jobs"]
    assert [j["id"] for j in listed] == [second["id"], first["id"]]
    assert [j["id"] for j in (await api.call("GET", "jobs", q="first"))["jobs"]] == [first["id"]]
    failed = (await api.call("GET", "jobs", status="Failed"))["jobs"]
    assert [j["id"] for j in failed] == [second["id"]]


async def test_a_failing_command_is_failed_with_its_exit_code(api: Any) -> None:
    job = await api.submit("echo about to fail; exit 3")
    done = await api.wait(job["id"])
    assert done["status"] == "Failed"
    assert done["exit_code"] == 3
    # Local: "Exited with code 3"; Kubernetes adds the container's last words:
    # "about to fail (exit code 3)".
    assert re.search(r"\bexit(ed with)? code 3\b", done["message"], re.IGNORECASE)


async def test_environment_variables(api: Any) -> None:
    names = ["PRIMEHUB_USER", "PRIMEHUB_GROUP", "JUPYTERHUB_USER", "JOB_ID", "JOB_NAME"]
    names += ["JOB_GROUP", "JOB_USER", "INSTANCE_TYPE", "IMAGE_NAME", "PYTHONUNBUFFERED"]
    command = "; ".join(f'echo "{n}=${n}"' for n in names)
    job = await api.submit(command, name="env check")
    await api.wait(job["id"])
    lines = dict(line.split("=", 1) for line in (await api.logs(job["id"])).splitlines())
    assert lines == {
        "PRIMEHUB_USER": "alice",
        "PRIMEHUB_GROUP": "research",
        "JUPYTERHUB_USER": "alice",
        "JOB_ID": job["id"],
        "JOB_NAME": "env check",
        "JOB_GROUP": "research",
        "JOB_USER": "alice",
        "INSTANCE_TYPE": "cpu-half",
        "IMAGE_NAME": "base",
        "PYTHONUNBUFFERED": "1",
    }


async def test_the_group_and_datasets_directories_are_given_as_absolute_paths(
    api: Any, jobs_app: Any, cluster: FakeCluster | None
) -> None:
    command = (
        'echo "$JOB_GROUP_DIR"; echo "$JOB_DATASETS_DIR"; echo "$HOME"; '
        'echo kept > "$JOB_GROUP_DIR/kept.txt"'
    )
    job = await api.submit(command)
    done = await api.wait(job["id"])
    assert done["status"] == "Succeeded", done["message"]
    group_dir, datasets_dir, home = (await api.logs(job["id"])).splitlines()
    if cluster is None:
        assert group_dir == str(jobs_app.backend.group_dir("research"))
        assert datasets_dir == f"{home}/datasets"
        kept = Path(group_dir) / "kept.txt"
        reader = await api.submit('cat "$JOB_DATASETS_DIR/mnist/README"')
        await api.wait(reader["id"])
        assert await api.logs(reader["id"]) == "mnist sample\n"
    else:  # where the manifest mounts the group's PVC and the datasets
        ((_, created),) = _created_jobs(cluster)
        (container,) = created["spec"]["template"]["spec"]["containers"]
        env = {e["name"]: e["value"] for e in container["env"]}
        assert (env["JOB_GROUP_DIR"], env["JOB_DATASETS_DIR"]) == ("/project/research", "/datasets")
        assert "/datasets/mnist" in {m["mountPath"] for m in container["volumeMounts"]}
        kept = cluster.pvc_dir("project-research") / "kept.txt"
    assert Path(group_dir).is_absolute() and Path(datasets_dir).is_absolute()
    assert kept.read_text() == "kept\n"


async def test_logs_offset_tail_and_header(api: Any) -> None:
    job = await api.submit("for i in 1 2 3 4 5; do echo line$i; done")
    await api.wait(job["id"])
    response = await api.raw("GET", f"jobs/{job['id']}/logs")
    text = response.body.decode()
    assert text == "".join(f"line{i}\n" for i in range(1, 6))
    assert int(response.headers["X-Log-Offset"]) == len(text)
    assert response.headers["Content-Type"].startswith("text/plain")
    assert await api.logs(job["id"], offset=12) == text[12:]
    assert await api.logs(job["id"], offset=10**6) == ""
    assert await api.logs(job["id"], tail=2) == "line4\nline5\n"
    assert await api.logs(job["id"], tail=0) == ""
    assert await api.logs(job["id"], tail=100) == text


async def test_logs_follow_streams_until_the_job_ends(api: Any, jp_fetch: Any) -> None:
    job = await api.submit("for i in 1 2 3; do echo tick$i; sleep 0.4; done")
    await api.wait(job["id"], {"Running"})
    received: list[bytes] = []
    response = await jp_fetch(
        "jupyterlab-jobs",
        "jobs",
        job["id"],
        "logs",
        params={"follow": "1"},
        streaming_callback=received.append,
        request_timeout=30,
    )
    assert response.code == 200
    assert b"".join(received) == b"tick1\ntick2\ntick3\n"
    assert len(received) >= 2, "output must arrive while the job runs, not only at the end"
    assert (await api.call("GET", f"jobs/{job['id']}"))["status"] == "Succeeded"


# The job exits at once on SIGTERM, but a loaded machine may run its trap later than the
# tests' 1 s grace: a longer one here (a job that ignored SIGTERM would still be killed
# within api.wait's 30 s, and fail the log check).
@pytest.mark.parametrize(
    "extra_settings",
    [{"LocalBackend": {"grace_seconds": 20}, "KubernetesBackend": {"grace_seconds": 20}}],
)
async def test_cancel_stops_the_job_gracefully(api: Any, cluster: FakeCluster | None) -> None:
    job = await api.submit("trap 'echo got SIGTERM; exit 0' TERM; echo ready; sleep 60 & wait")
    await api.wait(job["id"], {"Running"})
    end = time.monotonic() + 10
    while "ready" not in await api.logs(job["id"]):
        assert time.monotonic() < end
        await asyncio.sleep(0.05)
    await api.cancel(job["id"])
    assert (await api.logs(job["id"])).endswith("got SIGTERM\n"), "SIGTERM first, then a grace"
    if cluster is not None:
        assert [policy for _, policy in cluster.deletions] == ["Foreground"]


async def test_rerun_creates_a_new_job_owned_by_the_caller(api: Any) -> None:
    job = await api.submit("echo $JOB_ID", name="original")
    await api.wait(job["id"])
    again = await api.call("POST", f"jobs/{job['id']}/rerun", expect=201)
    assert again["id"] != job["id"] and again["rerun_of"] == job["id"]
    for field in ("name", "group", "instance_type", "image", "command"):
        assert again[field] == job[field]
    done = await api.wait(again["id"])
    assert done["status"] == "Succeeded"
    assert (await api.logs(again["id"])).strip() == again["id"]


@pytest.mark.parametrize("extra_settings", [{"JobsApp": {"max_runtime_seconds": 2}}])
async def test_the_deadline_fails_a_job_that_runs_too_long(
    api: Any, cluster: FakeCluster | None
) -> None:
    job = await api.submit("echo start; sleep 60")
    done = await api.wait(job["id"], timeout=20)
    assert done["status"] == "Failed"
    assert done["message"] == "Exceeded the maximum run time of 2s"
    # A cluster's timestamps have whole seconds: 2 s of running may show as 1 to 3.
    low = 1 if cluster is not None else 2
    assert low <= done["duration_seconds"] < 6
    assert await api.logs(job["id"]) == "start\n"


# 3 s of retention: a cluster's finish times have whole seconds (up to 1 s early), and the
# job must still be seen with its logs before they go.
@pytest.mark.parametrize(
    "extra_settings",
    [{"JobsApp": {"log_retention_seconds": 3, "retention_interval_seconds": 0.2}}],
)
async def test_log_retention_removes_logs_and_keeps_the_record(
    api: Any, jobs_app: Any, cluster: FakeCluster | None
) -> None:
    job = await api.submit("echo bye")
    done = await api.wait(job["id"])
    assert done["logs_available"] is True
    end = time.monotonic() + 15
    while (await api.call("GET", f"jobs/{job['id']}"))["logs_available"]:
        assert time.monotonic() < end
        await asyncio.sleep(0.1)
    assert not (Path(jobs_app.data_dir) / "jobs" / job["id"]).exists()
    gone = await api.call("GET", f"jobs/{job['id']}/logs", expect=410)
    assert "removed" in gone["message"]
    listed = (await api.call("GET", "jobs"))["jobs"]
    assert listed[0]["id"] == job["id"] and listed[0]["status"] == "Succeeded"
    if cluster is not None:
        (created,) = [j for _, j in _created_jobs(cluster)]
        assert created["spec"]["ttlSecondsAfterFinished"] == 3, "tied to log retention"
        name = created["metadata"]["name"]
        wait_for(lambda: (name, "Background") in cluster.deletions, what="the Job deleted")


def _created_jobs(cluster: FakeCluster) -> list[tuple[str, dict[str, Any]]]:
    with cluster.cond:
        return [(e, obj) for _, kind, e, obj in cluster.history if kind == "jobs" and e == "ADDED"]


def _write_notebook(path: Path, *sources: str, parameters: str | None = None) -> None:
    import nbformat

    cells = [nbformat.v4.new_code_cell(source) for source in sources]
    if parameters is not None:
        cells.insert(0, nbformat.v4.new_code_cell(parameters, metadata={"tags": ["parameters"]}))
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",  # papermill needs it to inject parameters
    }
    nbformat.write(notebook, path)


NOTEBOOK_JOB = {
    "name": "notebook",
    "group": "research",
    "instance_type": "cpu-1",
    "image": "python",
}


async def test_a_notebook_job_runs_and_saves_the_executed_notebook(
    api: Any, jp_root_dir: Path, cluster: FakeCluster | None
) -> None:
    import nbformat

    _write_notebook(
        jp_root_dir / "nb.ipynb", "print('hi from the notebook', n)", parameters="n = 0"
    )
    body = {**NOTEBOOK_JOB, "notebook": "nb.ipynb", "parameters": {"n": 7}}
    job = await api.call("POST", "jobs", body, expect=201)
    done = await api.wait(job["id"], timeout=90)
    assert done["status"] == "Succeeded", done["message"]
    assert "hi from the notebook 7" in await api.logs(job["id"])
    if cluster is None:
        saved = jp_root_dir / done["output_path"]  # absolute when outside the root
    else:  # the ConfigMap carried the files; the output is on the PVC
        name = f"nb-{job['id']}.ipynb"
        saved = cluster.pvc_dir("project-research") / "notebook-runs" / name
    executed = nbformat.read(saved, as_version=4)
    assert executed.cells[1].metadata["tags"] == ["injected-parameters"]
    assert executed.metadata["papermill"]["parameters"] == {"n": 7}
    assert "hi from the notebook 7" in executed.cells[2].outputs[0]["text"]
    if cluster is not None:
        (created,) = [j for _, j in _created_jobs(cluster)]
        config_map = cluster.get("configmaps", created["metadata"]["name"] + "-files")
        assert config_map is not None
        assert config_map["metadata"]["ownerReferences"][0]["uid"] == created["metadata"]["uid"]


async def test_a_failing_cell_fails_the_notebook_job_with_its_error(
    api: Any, jp_root_dir: Path
) -> None:
    _write_notebook(jp_root_dir / "broken.ipynb", "x = 1", "raise ValueError('bad input 42')")
    body = {**NOTEBOOK_JOB, "notebook": "broken.ipynb"}
    job = await api.call("POST", "jobs", body, expect=201)
    done = await api.wait(job["id"], timeout=90)
    assert done["status"] == "Failed"
    # Local: the supervisor reads $TERMINATION_MESSAGE_PATH; Kubernetes: the container's
    # termination message (/dev/termination-log), both written by run_notebook.py.
    assert "ValueError: bad input 42" in done["message"], done["message"]

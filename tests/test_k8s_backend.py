"""KubernetesBackend against the fake API server, through the real `kubernetes` client.

Every test talks HTTP to ``fake_k8s.FakeCluster`` on 127.0.0.1: the backend's reflectors
list and watch, its log pumps follow pod logs, cancel deletes Jobs. Most tests drive pod
states by hand (``auto=False``); the cancel test runs a real process as the container.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest.mock import ANY

import pytest
from factories import make_job
from fake_k8s import FakeCluster, rfc3339, wait_for
from traitlets import TraitError
from traitlets.config import Config

from jupyterlab_jobs.backends.base import (
    DEADLINE,
    EXITED,
    OUT_OF_MEMORY,
    VANISHED,
    BackendError,
    JobSpec,
    Outcome,
    Progress,
)
from jupyterlab_jobs.backends.kubernetes import KubernetesBackend
from jupyterlab_jobs.backends.kubernetes.backend import DELETED_OUTSIDE, NEVER_STARTED
from jupyterlab_jobs.backends.kubernetes.reflector import Reflector
from jupyterlab_jobs.backends.kubernetes.settings import KubernetesSettings
from jupyterlab_jobs.catalog import Dataset, Image, InstanceType
from jupyterlab_jobs.models import PENDING, PREPARING, RUNNING, Job

BACKEND_OPTIONS: dict[str, Any] = {
    "config_source": "kubeconfig",
    "request_timeout_seconds": 5.0,
    "watch_timeout_seconds": 30,
    "max_backoff_seconds": 0.2,
    "job_ttl_seconds": 600,
}


def make_spec(name: str = "train model", job_id: str = "0123456789abcdef", **job: Any) -> JobSpec:
    record = make_job(
        id=job_id,
        name=name,
        instance_type="cpu-1",
        command=job.pop("command", "echo hi"),
        max_runtime_seconds=job.pop("max_runtime_seconds", 3600),
        **job,
    )
    return JobSpec(
        record,
        InstanceType(name="cpu-1", cpu=1, memory="1Gi"),
        Image(name="base", container_image="debian:12"),
        [Dataset(name="mnist", pvc="mnist-data")],
        {"JOB_ID": job_id, "JOB_NAME": name},
    )


class Running:
    """A backend whose ``watch`` runs on its own event loop thread, as under the app."""

    def __init__(self, cluster: FakeCluster | Path, data_dir: Path, **options: Any) -> None:
        kubeconfig = (
            cluster
            if isinstance(cluster, Path)
            else cluster.write_kubeconfig(data_dir / "kubeconfig.json")
        )
        self.backend = KubernetesBackend(
            data_dir=str(data_dir), kubeconfig=str(kubeconfig), **{**BACKEND_OPTIONS, **options}
        )
        self.changed: list[str] = []
        self.loop = asyncio.new_event_loop()
        self.task: asyncio.Task[None] | None = None
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> KubernetesBackend:
        self.thread.start()

        async def begin() -> None:
            self.task = asyncio.create_task(self.backend.watch(self.changed.append))

        asyncio.run_coroutine_threadsafe(begin(), self.loop).result(5)
        wait_for(lambda: self.backend.ready, timeout=30, what="the first list")
        return self.backend

    def __exit__(self, *exc: Any) -> None:
        async def end() -> None:
            assert self.task is not None
            self.task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await self.task

        asyncio.run_coroutine_threadsafe(end(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture
def cluster() -> Iterator[FakeCluster]:
    fake = FakeCluster(auto=False)
    yield fake
    fake.close()


@pytest.fixture
def running(cluster: FakeCluster, tmp_path: Path) -> Iterator[KubernetesBackend]:
    with Running(cluster, tmp_path) as backend:
        yield backend


def start(backend: KubernetesBackend, spec: JobSpec) -> Job:
    started = backend.start(spec, [])
    assert started.status == PENDING
    job = spec.job
    job.backend_state, job.status = started.backend_state, started.status
    return job


def poll_until(
    backend: KubernetesBackend,
    job: Job,
    predicate: Callable[[Outcome | Progress | None], bool],
    timeout: float = 10,
) -> Any:
    end = time.monotonic() + timeout
    while True:
        result = backend.poll(job)
        if predicate(result):
            return result
        assert time.monotonic() < end, f"last poll: {result}"
        time.sleep(0.02)


def progress(status: str, message: str | None = None) -> Callable[[Any], bool]:
    def check(result: Any) -> bool:
        return (
            isinstance(result, Progress)
            and result.status == status
            and (message is None or result.message == message)
        )

    return check


def ended(result: Any) -> bool:
    return isinstance(result, Outcome)


def pod_name(cluster: FakeCluster, backend: KubernetesBackend, job: Job) -> str:
    return str(cluster.pod_of(backend.job_name(job))["metadata"]["name"])


# -- status mapping -------------------------------------------------------------------------
def test_a_job_goes_pending_preparing_running_succeeded(
    cluster: FakeCluster, tmp_path: Path
) -> None:
    runner = Running(cluster, tmp_path)
    with runner as running:
        check_a_whole_life(cluster, running)
    assert set(runner.changed) == {"0123456789abcdef"}, "the watch reported the job's changes"


def check_a_whole_life(cluster: FakeCluster, running: KubernetesBackend) -> None:
    job = start(running, make_spec())
    created = cluster.get("jobs", running.job_name(job))
    assert created is not None and created["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    pod = pod_name(cluster, running, job)
    poll_until(running, job, progress(PENDING, "Waiting for resources: waiting for a node"))
    cluster.set_pod(pod, scheduled="0/3 nodes are available: 3 Insufficient nvidia.com/gpu.")
    poll_until(
        running,
        job,
        progress(
            PENDING,
            "Waiting for resources: 0/3 nodes are available: 3 Insufficient nvidia.com/gpu.",
        ),
    )
    cluster.set_pod(pod, scheduled=True, state={"waiting": {"reason": "ContainerCreating"}})
    poll_until(running, job, progress(PREPARING, "Creating the container"))
    cluster.set_pod(
        pod, state={"waiting": {"reason": "ErrImagePull", "message": "rpc error: timeout"}}
    )
    poll_until(running, job, progress(PREPARING, "ErrImagePull: rpc error: timeout"))
    cluster.run_pod(pod)
    now = poll_until(running, job, progress(RUNNING, ""))
    assert now.started_at is not None and abs(now.started_at - time.time()) < 3
    cluster.add_log(pod, "working\n")
    cluster.finish_pod(pod, 0)
    outcome = poll_until(running, job, ended)
    assert (outcome.reason, outcome.exit_code, outcome.message) == (EXITED, 0, "")
    assert outcome.started_at <= outcome.finished_at
    assert running.log_path(job).read_text() == "working\n"


def _pull_backoff(cluster: FakeCluster, pod: str) -> None:
    cluster.set_pod(
        pod,
        scheduled=True,
        state={
            "waiting": {
                "reason": "ImagePullBackOff",
                "message": 'Back-off pulling image "debian:nope"',
            }
        },
    )


def _invalid_image(cluster: FakeCluster, pod: str) -> None:
    cluster.set_pod(
        pod,
        scheduled=True,
        state={"waiting": {"reason": "InvalidImageName", "message": 'bad "Debian:12"'}},
    )


def _oom(cluster: FakeCluster, pod: str) -> None:
    cluster.run_pod(pod)
    cluster.finish_pod(pod, 137, reason="OOMKilled")


def _pod_deadline(cluster: FakeCluster, pod: str) -> None:
    cluster.run_pod(pod)
    cluster.finish_pod(
        pod,
        143,
        pod_reason="DeadlineExceeded",
        pod_message="Pod was active on the node longer than the specified deadline",
    )


def _job_deadline(cluster: FakeCluster, pod: str) -> None:
    cluster.run_pod(pod)
    job_name = cluster.get("pods", pod)["metadata"]["labels"]["job-name"]  # type: ignore[index]
    cluster.remove("pods", pod)
    cluster.update(
        "jobs",
        job_name,
        lambda j: j["status"].update(
            conditions=[
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "DeadlineExceeded",
                    "message": "Job was active longer than specified deadline",
                    "lastTransitionTime": rfc3339(time.time()),
                }
            ]
        ),
    )


def _termination_message(cluster: FakeCluster, pod: str) -> None:
    cluster.run_pod(pod)
    cluster.finish_pod(pod, 3, message="loading data\nValueError: column 'x' missing\n")


def _killed(cluster: FakeCluster, pod: str) -> None:
    cluster.run_pod(pod)
    cluster.finish_pod(pod, 137)


def _plain_exit(cluster: FakeCluster, pod: str) -> None:
    cluster.run_pod(pod)
    cluster.finish_pod(pod, 2)


def _evicted(cluster: FakeCluster, pod: str) -> None:
    cluster.run_pod(pod)
    cluster.set_pod(
        pod,
        phase="Failed",
        state={"waiting": {"reason": "ContainerStatusUnknown"}},
        reason="Evicted",
        message="The node was low on resource: memory.",
    )


@pytest.mark.parametrize(
    ("scenario", "reason", "exit_code", "message"),
    [
        (
            _pull_backoff,
            VANISHED,
            None,
            'Image pull failed: ImagePullBackOff: Back-off pulling image "debian:nope"',
        ),
        (_invalid_image, VANISHED, None, 'Image pull failed: InvalidImageName: bad "Debian:12"'),
        (_oom, OUT_OF_MEMORY, 137, "Out of memory (OOMKilled)"),
        (_pod_deadline, DEADLINE, 143, ""),
        (_job_deadline, DEADLINE, None, ""),
        (_termination_message, EXITED, 3, "ValueError: column 'x' missing"),
        (_killed, EXITED, 137, "Killed by signal SIGKILL"),
        (_plain_exit, EXITED, 2, ""),
        (
            _evicted,
            VANISHED,
            None,
            "The job's pod failed: Evicted: The node was low on resource: memory.",
        ),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_failure_reasons(
    cluster: FakeCluster,
    running: KubernetesBackend,
    scenario: Callable[[FakeCluster, str], None],
    reason: str,
    exit_code: int | None,
    message: str,
) -> None:
    job = start(running, make_spec())
    scenario(cluster, pod_name(cluster, running, job))
    outcome = poll_until(running, job, ended)
    assert (outcome.reason, outcome.exit_code, outcome.message) == (reason, exit_code, message)
    assert outcome.finished_at >= job.created_at


@pytest.mark.parametrize("scenario", [_pull_backoff, _invalid_image])
def test_a_hopeless_pod_is_deleted_by_the_backend(
    cluster: FakeCluster, running: KubernetesBackend, scenario: Callable[..., None]
) -> None:
    job = start(running, make_spec())
    scenario(cluster, pod_name(cluster, running, job))
    poll_until(running, job, ended)
    assert cluster.deletions == [(running.job_name(job), "Background")]
    wait_for(lambda: cluster.get("jobs", running.job_name(job)) is None)


def test_preparing_timeout_fails_with_the_reason(cluster: FakeCluster, tmp_path: Path) -> None:
    # 3 s: time enough to see the Preparing progress first on a loaded machine.
    with Running(cluster, tmp_path, preparing_timeout_seconds=3) as backend:
        job = start(backend, make_spec())
        pod = pod_name(cluster, backend, job)
        cluster.set_pod(pod, scheduled=True, state={"waiting": {"reason": "ContainerCreating"}})
        cluster.add_event(
            "Pod", pod, "FailedMount", 'MountVolume.SetUp failed for volume "dataset-0"'
        )
        waiting = poll_until(
            backend,
            job,
            progress(PREPARING, 'FailedMount: MountVolume.SetUp failed for volume "dataset-0"'),
        )
        assert waiting.started_at is None
        outcome = poll_until(backend, job, ended, timeout=8)
        assert outcome.reason == VANISHED
        assert outcome.message == (
            "The job was still preparing after 3s: "
            'FailedMount: MountVolume.SetUp failed for volume "dataset-0"'
        )
        assert cluster.deletions == [(backend.job_name(job), "Background")]


def test_a_pending_pod_is_never_timed_out(cluster: FakeCluster, tmp_path: Path) -> None:
    with Running(cluster, tmp_path, preparing_timeout_seconds=1) as backend:
        job = start(backend, make_spec())
        cluster.set_pod(pod_name(cluster, backend, job), scheduled="0/1 nodes are available")
        poll_until(backend, job, progress(PENDING))
        time.sleep(1.3)
        assert backend.poll(job) == Progress(
            PENDING, "Waiting for resources: 0/1 nodes are available"
        )


def test_quota_shows_while_no_pod_can_be_created(cluster: FakeCluster, running: Any) -> None:
    cluster.create_pods = False
    job = start(running, make_spec())
    poll_until(running, job, progress(PENDING, "Waiting for the cluster to create the job's pod"))
    cluster.add_event(
        "Job",
        running.job_name(job),
        "FailedCreate",
        'pods "x" is forbidden: exceeded quota: compute, requested: cpu=1, limited: cpu=4',
    )
    poll_until(
        running,
        job,
        progress(
            PENDING,
            'Waiting for the cluster: FailedCreate: pods "x" is forbidden: exceeded quota: '
            "compute, requested: cpu=1, limited: cpu=4",
        ),
    )


def test_a_job_deleted_outside_is_reported_after_the_grace(
    cluster: FakeCluster, tmp_path: Path
) -> None:
    with Running(cluster, tmp_path, start_grace_seconds=0.5) as backend:
        job = start(backend, make_spec())
        cluster.remove("jobs", backend.job_name(job))
        cluster.remove("pods", pod_name(cluster, backend, job))
        assert backend.poll(job) is None, "within the grace, a missing Job may just be new"
        outcome = poll_until(backend, job, ended)
        assert (outcome.reason, outcome.message) == (VANISHED, DELETED_OUTSIDE)


def test_poll_reads_the_cache_and_never_calls_the_api(
    cluster: FakeCluster, running: KubernetesBackend
) -> None:
    jobs = [start(running, make_spec(job_id=f"{i:016x}")) for i in range(5)]
    for job in jobs:
        cluster.run_pod(pod_name(cluster, running, job))
    for job in jobs:
        poll_until(running, job, progress(RUNNING))
    time.sleep(0.2)  # let the log pumps open their streams

    def status_requests() -> list[tuple[str, str, dict[str, str]]]:
        # The pod metrics are polled on their own clock, never by poll().
        return [r for r in cluster.requests if not r[1].startswith("/apis/metrics.k8s.io/")]

    before = len(status_requests())
    for _ in range(200):
        for job in jobs:
            assert isinstance(running.poll(job), Progress)
    assert len(status_requests()) == before
    lists = [
        r for r in status_requests() if r[0] == "GET" and "watch" not in r[2] and "/log" not in r[1]
    ]
    assert len(lists) == 3, "one list per kind: jobs, pods, events"


# -- the watch ----------------------------------------------------------------------------
def waiting_for_a_node(
    cluster: FakeCluster, running: KubernetesBackend
) -> tuple[Job, str, Reflector]:
    """A started job whose pod waits for a node (seen by poll), its pod's name, and the
    backend's reflector of pods."""
    job = start(running, make_spec())
    pod = pod_name(cluster, running, job)
    poll_until(running, job, progress(PENDING, "Waiting for resources: waiting for a node"))
    return job, pod, running._cache.reflectors["pods"]


def test_the_watch_resumes_from_its_resource_version_after_a_dropped_stream(
    cluster: FakeCluster, running: KubernetesBackend
) -> None:
    job, pod, pods = waiting_for_a_node(cluster, running)
    seen = pods.resource_version
    cluster.pause_watches()
    cluster.run_pod(pod)  # happens while the stream is cut
    cluster.drop_streams()
    wait_for(lambda: pods.watches >= 2, what="a new watch")
    cluster.pause_watches(False)
    poll_until(running, job, progress(RUNNING))
    assert pods.lists == 1, "a dropped stream resumes; it does not list again"
    resumed = [query for _, path, query in cluster.requests_to("GET", "/pods") if "watch" in query]
    assert resumed[-1]["resourceVersion"] == seen


def test_410_gone_lists_again(cluster: FakeCluster, running: KubernetesBackend) -> None:
    job, pod, pods = waiting_for_a_node(cluster, running)
    cluster.pause_watches()
    cluster.run_pod(pod)
    cluster.compact()  # the version the reflector holds is gone
    cluster.drop_streams()
    poll_until(running, job, progress(RUNNING))
    cluster.pause_watches(False)
    assert pods.lists == 2
    assert pods.resource_version is not None and int(pods.resource_version) >= cluster.compacted


def test_the_watch_backs_off_and_recovers_when_the_server_fails(
    cluster: FakeCluster, running: KubernetesBackend
) -> None:
    job, pod, pods = waiting_for_a_node(cluster, running)
    original = cluster.namespace
    cluster.namespace = "elsewhere"  # every request now fails with 403
    cluster.drop_streams()
    wait_for(lambda: pods.last_error.startswith("403"), what="a failing watch")
    cluster.namespace = original
    cluster.run_pod(pod)
    poll_until(running, job, progress(RUNNING))


# -- logs ---------------------------------------------------------------------------------
def a_running_job(cluster: FakeCluster, running: KubernetesBackend) -> tuple[Job, str]:
    """A started job whose pod runs (seen by poll, so its log is followed), and the pod's
    name."""
    job = start(running, make_spec())
    pod = pod_name(cluster, running, job)
    cluster.run_pod(pod)
    poll_until(running, job, progress(RUNNING))
    return job, pod


def test_logs_are_followed_resumed_after_a_drop_and_outlive_the_pod(
    cluster: FakeCluster, running: KubernetesBackend
) -> None:
    job, pod = a_running_job(cluster, running)
    path = running.log_path(job)
    cluster.add_log(pod, "one\n")
    cluster.add_log(pod, "two\n")
    wait_for(lambda: path.exists() and path.read_text() == "one\ntwo\n", what="followed lines")
    cluster.drop_streams()
    cluster.add_log(pod, "three\n")
    wait_for(lambda: path.read_text() == "one\ntwo\nthree\n", what="lines after the drop")
    logs = cluster.requests_to("GET", "/log")
    assert len(logs) >= 2
    assert logs[0][2]["follow"] == "true" and logs[0][2]["timestamps"] == "true"
    assert "sinceSeconds" not in logs[0][2] and int(logs[-1][2]["sinceSeconds"]) >= 1
    cluster.add_log(pod, "no newline at the end")
    cluster.finish_pod(pod, 0)
    outcome = poll_until(running, job, ended)
    assert outcome.reason == EXITED
    expected = "one\ntwo\nthree\nno newline at the end"
    assert path.read_text() == expected
    assert json.loads((path.parent / "log-position.json").read_text())["done"] is True
    cluster.remove("pods", pod)
    cluster.remove("jobs", running.job_name(job))
    assert path.read_text() == expected


def test_lines_with_the_same_timestamp_are_neither_lost_nor_doubled(
    cluster: FakeCluster, running: KubernetesBackend
) -> None:
    job, pod = a_running_job(cluster, running)
    moment = time.time_ns()
    cluster.add_log(pod, "a\n", at_ns=moment)
    cluster.add_log(pod, "b\n", at_ns=moment)
    path = running.log_path(job)
    wait_for(lambda: path.exists() and path.read_text() == "a\nb\n")
    cluster.drop_streams()
    cluster.add_log(pod, "c\n", at_ns=moment)
    cluster.add_log(pod, "d\n")
    wait_for(lambda: path.read_text() == "a\nb\nc\nd\n", what="c and d once")


def test_servers_sharing_a_data_dir_copy_each_log_once_and_take_over(
    cluster: FakeCluster, tmp_path: Path
) -> None:
    first_server, second_server = Running(cluster, tmp_path), Running(cluster, tmp_path)
    with second_server as second:
        with first_server as first:
            job = start(first, make_spec())
            pod = pod_name(cluster, first, job)
            cluster.run_pod(pod)
            poll_until(first, job, progress(RUNNING))
            path = first.log_path(job)
            cluster.add_log(pod, "one\n")
            wait_for(lambda: path.exists() and path.read_text() == "one\n", what="one")
            # Both servers reconcile the job, so both start a pump for it.
            poll_until(second, job, progress(RUNNING))
            standby = wait_for(lambda: second._pumps.get(job.id), what="the second pump")
            cluster.add_log(pod, "two\n")
            wait_for(lambda: path.read_text() == "one\ntwo\n", what="two")
            time.sleep(0.5)  # time for a second copy, if there were one
            assert path.read_text() == "one\ntwo\n"
            assert standby.alive and standby.streams == 0, "the second server stood by"
        # The first server stopped: the second takes over where the first left off.
        cluster.add_log(pod, "three\n")
        wait_for(lambda: standby.streams > 0, what="the take-over")
        wait_for(lambda: path.read_text() == "one\ntwo\nthree\n", what="three")
        cluster.add_log(pod, "four\n")
        cluster.finish_pod(pod, 0)
        outcome = poll_until(second, job, ended)
        assert outcome.reason == EXITED
        assert path.read_text() == "one\ntwo\nthree\nfour\n"


def test_a_killed_holder_of_the_log_copy_is_taken_over_without_a_doubled_line(
    cluster: FakeCluster, running: KubernetesBackend
) -> None:
    job = start(running, make_spec())
    pod = pod_name(cluster, running, job)
    directory = running.job_dir(job)
    directory.mkdir(parents=True, exist_ok=True)
    # Another server's pump wrote "one" and saved its position, then wrote "two" and was
    # SIGKILLed before saving: its lock goes with its process.
    moment = time.time_ns()
    cluster.add_log(pod, "one\n", at_ns=moment)
    cluster.add_log(pod, "two\n", at_ns=moment + 1000)
    running.log_path(job).write_text("one\ntw")
    position = {"last_ns": moment, "count": 1, "done": False, "size": 4}
    (directory / "log-position.json").write_text(json.dumps(position))
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import fcntl, sys, time\n"
            "lock = open(sys.argv[1], 'a')\n"
            "fcntl.flock(lock, fcntl.LOCK_EX)\n"
            "print('locked', flush=True)\n"
            "time.sleep(60)\n",
            str(directory / "log-pump.lock"),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"locked\n"
        cluster.run_pod(pod)
        poll_until(running, job, progress(RUNNING))
        pump = wait_for(lambda: running._pumps.get(job.id), what="the pump")
        time.sleep(0.5)
        assert pump.streams == 0 and running.log_path(job).read_text() == "one\ntw"
    finally:
        holder.kill()
        holder.communicate()
    cluster.add_log(pod, "three\n")
    wait_for(lambda: running.log_path(job).read_text() == "one\ntwo\nthree\n", what="all once")


# -- cancel -------------------------------------------------------------------------------
def test_cancel_deletes_in_the_foreground_and_gone_is_success(tmp_path: Path) -> None:
    cluster = FakeCluster(auto=True)
    try:
        with Running(cluster, tmp_path, grace_seconds=5) as backend:
            spec = make_spec(
                command="trap 'echo got SIGTERM; exit 0' TERM; echo ready; "
                "while true; do sleep 0.1; done"
            )
            job = start(backend, spec)
            poll_until(backend, job, progress(RUNNING))
            path = backend.log_path(job)
            wait_for(lambda: path.exists() and "ready" in path.read_text(), what="ready")
            job.cancel_requested_by = "alice"  # as the service records it before cancelling
            backend.cancel(job)
            assert cluster.deletions == [(backend.job_name(job), "Foreground")]
            outcome = poll_until(backend, job, ended)
            # The pod had its SIGTERM and grace period: the trap ran and said so.
            text = path.read_text()  # bash may also report its killed `sleep`
            assert text.startswith("ready\n") and text.endswith("got SIGTERM\n")
            assert outcome.exit_code in (0, None)
            wait_for(lambda: cluster.get("jobs", backend.job_name(job)) is None)
            backend.cancel(job)  # already gone: 404 is success
            assert cluster.requests_to("DELETE")[-1][1].endswith(backend.job_name(job))
            assert len(cluster.deletions) == 1
            assert backend.poll(job) == Outcome("cancelled", None, None, ANY)
    finally:
        cluster.close()


def test_cancel_before_the_job_exists_is_success(cluster: FakeCluster, tmp_path: Path) -> None:
    backend = KubernetesBackend(
        data_dir=str(tmp_path),
        kubeconfig=str(cluster.write_kubeconfig(tmp_path / "kubeconfig.json")),
        **BACKEND_OPTIONS,
    )
    job = make_spec().job
    backend.cancel(job)
    assert cluster.deletions == []
    assert cluster.requests_to("DELETE")[0][2]["propagationPolicy"] == "Foreground"


# -- start and restart --------------------------------------------------------------------
def test_start_is_idempotent_and_refuses_a_foreign_job(
    cluster: FakeCluster, running: KubernetesBackend
) -> None:
    spec = make_spec()
    first = running.start(spec, [])
    again = running.start(spec, [])  # the server died after creating it, before recording
    assert json.loads(first.backend_state)["name"] == json.loads(again.backend_state)["name"]
    assert len(cluster.store["jobs"]) == 1
    impostor = make_spec(job_id="0123456789abcdee")
    name = running.manifest(impostor)["metadata"]["name"]
    cluster.create_pods = False
    cluster.create_job({"metadata": {"name": name, "labels": {}}, "spec": {"template": {}}})
    with pytest.raises(BackendError, match=r"Kubernetes refused the job: .*already exists"):
        running.start(impostor, [])


def test_start_reports_the_api_servers_refusal(cluster: FakeCluster, tmp_path: Path) -> None:
    with Running(cluster, tmp_path) as backend:
        cluster.namespace = "other"
        with pytest.raises(BackendError, match="namespace default is not allowed"):
            backend.start(make_spec(), [])
        cluster.namespace = "default"


def test_reconcile_after_a_restart(cluster: FakeCluster, tmp_path: Path) -> None:
    done_spec, running_spec = (
        make_spec(job_id="aaaa000000000001"),
        make_spec(job_id="aaaa000000000002"),
    )
    with Running(cluster, tmp_path) as first:
        done_job, running_job = start(first, done_spec), start(first, running_spec)
        done_pod = pod_name(cluster, first, done_job)
        cluster.run_pod(done_pod)
        cluster.add_log(done_pod, "before the restart\n")
        poll_until(first, done_job, progress(RUNNING))
        path = first.log_path(done_job)
        wait_for(lambda: path.exists() and path.read_text() == "before the restart\n")
    # While no server runs: one job ends, one starts running, one was never created.
    cluster.add_log(done_pod, "while the server was down\n")
    cluster.finish_pod(done_pod, 0)
    cluster.run_pod(pod_name(cluster, first, running_job))
    lost = make_spec(job_id="aaaa000000000003").job
    lost.backend_state = json.dumps({"claimed_at": time.time() - 3600})
    with Running(cluster, tmp_path) as second:
        outcome = poll_until(second, done_job, ended)
        assert (outcome.reason, outcome.exit_code) == (EXITED, 0)
        assert path.read_text() == "before the restart\nwhile the server was down\n"
        poll_until(second, running_job, progress(RUNNING))
        never = second.poll(lost)
        assert isinstance(never, Outcome) and never.message == NEVER_STARTED
    assert len(cluster.store["jobs"]) == 2, "nothing was created twice"


def test_poll_knows_nothing_before_the_first_list(cluster: FakeCluster, tmp_path: Path) -> None:
    backend = KubernetesBackend(
        data_dir=str(tmp_path),
        kubeconfig=str(cluster.write_kubeconfig(tmp_path / "kubeconfig.json")),
        **BACKEND_OPTIONS,
    )
    job = make_spec().job
    job.backend_state = json.dumps({"claimed_at": time.time() - 3600})
    assert backend.poll(job) is None, "never report a job vanished from an empty cache"
    assert backend.capacity_problem(make_spec(), []) is None


def test_namespace_comes_from_the_kubeconfig_context(cluster: FakeCluster, tmp_path: Path) -> None:
    cluster.namespace = "team-a"
    backend = KubernetesBackend(
        data_dir=str(tmp_path),
        kubeconfig=str(cluster.write_kubeconfig(tmp_path / "kubeconfig.json")),
        **BACKEND_OPTIONS,
    )
    assert backend.ns == "team-a"
    assert backend.manifest(make_spec())["metadata"]["namespace"] == "team-a"
    explicit = KubernetesBackend(
        data_dir=str(tmp_path),
        kubeconfig=str(tmp_path / "kubeconfig.json"),
        namespace="batch",
        **BACKEND_OPTIONS,
    )
    assert explicit.ns == "batch"


def test_options_are_configured_under_the_backends_name(tmp_path: Path) -> None:
    # The options are declared on a base class (settings.KubernetesSettings): traitlets
    # still applies and validates them from the c.KubernetesBackend section.
    options = {
        "namespace": "batch",
        "config_source": "kubeconfig",
        "grace_seconds": 7,
        "extra_env": {"TEAM": "a"},
    }
    backend = KubernetesBackend(
        config=Config({"KubernetesBackend": options}), data_dir=str(tmp_path)
    )
    assert {name: getattr(backend, name) for name in options} == options
    assert set(KubernetesSettings.class_traits(config=True)) <= set(
        KubernetesBackend.class_traits(config=True)
    )
    bad = Config({"KubernetesBackend": {"group_pvc_template": "Project_{group}"}})
    with pytest.raises(TraitError, match="does not make a valid name"):
        KubernetesBackend(config=bad, data_dir=str(tmp_path))


def test_every_trait_is_documented() -> None:
    traits = KubernetesBackend.class_traits(config=True)
    assert len(traits) >= 20
    for name, trait in traits.items():
        assert len(trait.help) > 20, f"{name} needs help="


# -- notebook jobs: their files in a ConfigMap ------------------------------------------------
def files_spec(tmp_path: Path, command: str, job_id: str = "0123456789abcdef") -> JobSpec:
    spec = make_spec(command=command, job_id=job_id)
    (tmp_path / "nb dir").mkdir(exist_ok=True)
    (tmp_path / "nb dir" / "Étude 1.ipynb").write_bytes(b'{"cells": []}')
    (tmp_path / "nb dir" / "params.json").write_bytes(b"\x00\xff binary too")
    spec.files = {
        "Étude 1.ipynb": tmp_path / "nb dir" / "Étude 1.ipynb",
        "parameters.json": tmp_path / "nb dir" / "params.json",
    }
    return spec


def test_files_reach_the_job_through_a_config_map_owned_by_its_job(tmp_path: Path) -> None:
    cluster = FakeCluster(auto=True)
    try:
        with Running(cluster, tmp_path, usage_interval_seconds=0.1) as backend:
            spec = files_spec(
                tmp_path,
                "cat '.job/Étude 1.ipynb'; echo; wc -c < .job/parameters.json",
            )
            assert backend.validate(spec) is None
            job = start(backend, spec)
            name = backend.job_name(job)
            config_map = cluster.get("configmaps", f"{name}-files")
            assert config_map is not None
            (owner,) = config_map["metadata"]["ownerReferences"]
            k8s_job = cluster.get("jobs", name)
            assert k8s_job is not None
            assert (owner["kind"], owner["name"]) == ("Job", name)
            assert owner["uid"] == k8s_job["metadata"]["uid"]
            assert config_map["metadata"]["labels"] == k8s_job["metadata"]["labels"]
            # The Job came first (its uid is the owner's); its pod waited for the volume.
            order = [(k, obj["metadata"]["name"]) for _, k, e, obj in _added(cluster)]
            assert order.index(("jobs", name)) < order.index(("configmaps", f"{name}-files"))
            outcome = poll_until(backend, job, ended)
            assert (outcome.reason, outcome.exit_code) == (EXITED, 0)
            log = backend.log_path(job).read_text()
            assert log == '{"cells": []}\n13\n'
            # A restart re-submits: the Job and its ConfigMap already exist, both fine.
            backend.start(spec, [])
            backend.remove(job)
            wait_for(lambda: cluster.get("configmaps", f"{name}-files") is None, what="GC")
    finally:
        cluster.close()


def _added(cluster: FakeCluster) -> list[tuple[int, str, str, dict[str, Any]]]:
    with cluster.cond:
        return [h for h in cluster.history if h[2] == "ADDED"]


def test_files_too_large_for_a_config_map_are_refused(tmp_path: Path) -> None:
    backend = KubernetesBackend(data_dir=str(tmp_path))
    spec = files_spec(tmp_path, "true")
    (tmp_path / "big.ipynb").write_bytes(b"x" * 901 * 1024)
    spec.files["big.ipynb"] = tmp_path / "big.ipynb"
    problem = backend.validate(spec)
    assert problem is not None and "too large" in problem and "900 KiB" in problem
    spec.files.pop("big.ipynb")
    assert backend.validate(spec) is None


def test_a_refused_config_map_deletes_the_job(
    running: KubernetesBackend, tmp_path: Path, cluster: FakeCluster
) -> None:
    spec = files_spec(tmp_path, "true")
    name = running.job_name(spec.job)
    original = cluster.create_config_map

    def refuse(body: dict[str, Any]) -> dict[str, Any]:
        from fake_k8s import ApiError

        raise ApiError(403, "Forbidden", "configmaps is forbidden: quota")

    cluster.create_config_map = refuse  # type: ignore[method-assign]
    try:
        with pytest.raises(BackendError, match="refused the job's files: configmaps is forbidden"):
            running.start(spec, [])
    finally:
        cluster.create_config_map = original  # type: ignore[method-assign]
    assert (name, "Background") in cluster.deletions
    assert cluster.get("jobs", name) is None


def _permission(method: str, path: str, query: dict[str, str]) -> tuple[str, str, str]:
    """(API group, resource, verb) an API request needs, as RBAC sees it."""
    parts = path.strip("/").split("/")
    group = parts[1] if parts[0] == "apis" else ""
    rest = parts[3:] if group else parts[2:]
    resource = rest[2] + ("/" + rest[4] if len(rest) > 4 else "")
    if method == "GET" and len(rest) == 3:
        verb = "watch" if query.get("watch") in ("true", "1") else "list"
    else:
        verb = {"GET": "get", "POST": "create", "DELETE": "delete"}[method]
    return group, resource, verb


def test_the_shipped_role_allows_every_request_the_backend_makes(tmp_path: Path) -> None:
    import yaml

    rbac = Path(__file__).resolve().parent.parent / "examples" / "kubernetes" / "rbac.yaml"
    (role,) = [d for d in yaml.safe_load_all(rbac.read_text()) if d["kind"] == "Role"]
    allowed = {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }
    cluster = FakeCluster(auto=True)
    try:
        with Running(cluster, tmp_path, usage_interval_seconds=0.1) as backend:
            done = start(backend, make_spec(command="echo done", job_id="b" * 16))
            poll_until(backend, done, ended)
            backend.start(make_spec(command="echo done", job_id="b" * 16), [])  # exists
            files = make_spec(command="cat .job/a.txt", job_id="d" * 16)
            (tmp_path / "a.txt").write_text("file a\n")
            files.files = {"a.txt": tmp_path / "a.txt"}
            poll_until(backend, start(backend, files), ended)
            running = start(backend, make_spec(command="sleep 30", job_id="c" * 16))
            poll_until(backend, running, progress(RUNNING))
            backend.cancel(running)
            backend.remove(done)
            wait_for(lambda: cluster.requests_to("GET", "metrics.k8s.io"), what="pod metrics")
        needed = {_permission(*request) for request in cluster.requests}
    finally:
        cluster.close()
    assert {verb for _, _, verb in needed} == {"create", "get", "list", "watch", "delete"}
    assert ("", "pods/log", "get") in needed
    assert ("", "configmaps", "create") in needed
    assert needed <= allowed, needed - allowed
    assert allowed <= needed, f"the Role grants more than is used: {allowed - needed}"

"""Resource use of Kubernetes jobs, from the metrics API (the fake cluster serves
metrics.k8s.io from the pods' processes, as metrics-server would)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fake_k8s import FakeCluster
from test_backend_contract import K8S_BACKEND, api  # noqa: F401
from test_usage import ALLOCATE_AND_BURN, BURN_SECONDS, MIB, burning_samples

from jupyterlab_jobs.backends.kubernetes.metrics import pod_usage
from jupyterlab_jobs.models import SUCCEEDED


@pytest.fixture
def cluster() -> Iterator[FakeCluster]:
    fake = FakeCluster(
        auto=True,
        schedule_delay=0.2,
        start_delay=0.2,
        image_paths={"python:3.12": str(Path(sys.prefix) / "bin")},
        metrics=True,
    )
    yield fake
    fake.close()


@pytest.fixture
def jobs_settings(cluster: FakeCluster, tmp_path: Path) -> dict[str, dict[str, Any]]:
    return {
        "JobsApp": {
            "backend_class": K8S_BACKEND,
            "images": [
                {"name": "base", "container_image": "debian:12"},
                {"name": "python", "container_image": "python:3.12"},
            ],
            "datasets": [{"name": "mnist", "pvc": "mnist"}],
        },
        "KubernetesBackend": {
            "config_source": "kubeconfig",
            "kubeconfig": str(cluster.write_kubeconfig(tmp_path / "kubeconfig.json")),
            "request_timeout_seconds": 5.0,
            "max_backoff_seconds": 0.2,
            "grace_seconds": 1,
            "usage_interval_seconds": 0.5,
        },
    }


async def test_usage_of_a_pod_from_the_metrics_api(api: Any) -> None:  # noqa: F811
    job = await api.submit(ALLOCATE_AND_BURN, instance_type="cpu-1", image="python")
    done = await api.wait(job["id"], timeout=60)
    assert done["status"] == SUCCEEDED, done
    usage = await api.call("GET", f"jobs/{job['id']}/usage")
    burning = burning_samples(usage)
    mean = sum(s["cpu"] for s in burning[1:]) / len(burning[1:])  # the first: no rate yet
    print(
        f"peak {usage['peak_memory_bytes'] / MIB:.1f} MiB, CPU {mean:.2f}, "
        f"{usage['cpu_seconds']:.2f} CPU s"
    )
    assert 0.5 <= mean <= 1.2, burning
    assert 0.4 * BURN_SECONDS <= usage["cpu_seconds"] <= BURN_SECONDS + 3


def test_pod_metrics_items_are_checked() -> None:
    labels = {"jupyterlab-jobs/job-id": "abc123"}
    item = {
        "metadata": {"labels": labels},
        "containers": [{"usage": {"cpu": "250m", "memory": "300Mi"}}, {"usage": {"cpu": "1"}}],
    }
    assert pod_usage(item) == ("abc123", 1.25, 300 * MIB)
    for bad in (
        {"metadata": {"labels": {"jupyterlab-jobs/job-id": ".."}}, "containers": []},
        {"metadata": {"labels": {}}, "containers": []},
        {"metadata": {"labels": labels}, "containers": "no"},
    ):
        assert pod_usage(bad) is None
    junk = {"metadata": {"labels": labels}, "containers": [{"usage": {"cpu": "lots"}}]}
    assert pod_usage(junk) == ("abc123", 0.0, 0)

"""End to end on a real cluster: runs only when KUBECONFIG is set, else reported skipped.

    KUBECONFIG=~/.kube/config pytest tests/test_k8s_e2e.py -rs

Optional: JOBS_E2E_NAMESPACE (default: the context's namespace), JOBS_E2E_IMAGE (an
image with bash; default debian:stable-slim), JOBS_E2E_PVC (an existing claim to mount
as the group's directory; default: the test creates a 1Gi claim and deletes it after).
The account needs the Role of examples/kubernetes/rbac.yaml, plus create/delete on
persistentvolumeclaims unless JOBS_E2E_PVC is given. See docs/kubernetes.md.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_k8s_backend import Running, ended, make_spec, poll_until, progress, start

from jupyterlab_jobs.backends.base import EXITED
from jupyterlab_jobs.backends.kubernetes import KubernetesBackend
from jupyterlab_jobs.catalog import Image
from jupyterlab_jobs.models import RUNNING

pytestmark = pytest.mark.skipif(
    not os.environ.get("KUBECONFIG"),
    reason="end-to-end test on a real cluster: set KUBECONFIG to run it",
)
PULL_AND_RUN_SECONDS = 300


@pytest.fixture
def claim(tmp_path: Path) -> Iterator[str]:
    existing = os.environ.get("JOBS_E2E_PVC")
    if existing:
        yield existing
        return
    probe = KubernetesBackend(data_dir=str(tmp_path), kubeconfig=str(kubeconfig()), **options())
    name = f"jobs-e2e-{secrets.token_hex(4)}"
    body = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    probe.core.create_namespaced_persistent_volume_claim(probe.ns, body, _request_timeout=30)
    yield name
    probe.core.delete_namespaced_persistent_volume_claim(name, probe.ns, _request_timeout=30)


def kubeconfig() -> Path:
    return Path(os.environ["KUBECONFIG"].split(os.pathsep)[0])


def options() -> dict[str, Any]:
    return {
        "config_source": "kubeconfig",
        "namespace": os.environ.get("JOBS_E2E_NAMESPACE", ""),
        "job_ttl_seconds": 600,
        "grace_seconds": 5,
    }


def e2e_spec(command: str) -> Any:
    spec = make_spec(job_id=secrets.token_hex(8), name="e2e check", command=command)
    spec.image = Image(
        name="base", container_image=os.environ.get("JOBS_E2E_IMAGE", "debian:stable-slim")
    )
    spec.datasets = []
    return spec


def test_a_job_runs_logs_and_fails_with_its_exit_code(claim: str, tmp_path: Path) -> None:
    with Running(kubeconfig(), tmp_path, group_pvc_template=claim, **options()) as backend:
        job = start(backend, e2e_spec('echo "hello from $JOB_ID"; readlink ~/research; exit 3'))
        outcome = poll_until(backend, job, ended, timeout=PULL_AND_RUN_SECONDS)
        assert (outcome.reason, outcome.exit_code) == (EXITED, 3)
        log = backend.log_path(job).read_text()
        assert f"hello from {job.id}\n" in log and "/project/research\n" in log
        backend.remove(job)


def test_cancel_deletes_the_job_in_the_foreground(claim: str, tmp_path: Path) -> None:
    with Running(kubeconfig(), tmp_path, group_pvc_template=claim, **options()) as backend:
        job = start(backend, e2e_spec("trap 'echo bye; exit 0' TERM; sleep 600 & wait"))
        poll_until(backend, job, progress(RUNNING), timeout=PULL_AND_RUN_SECONDS)
        job.cancel_requested_by = "e2e"
        started = time.monotonic()
        backend.cancel(job)
        outcome = poll_until(backend, job, ended, timeout=60)
        assert time.monotonic() - started < 60
        assert outcome.finished_at >= job.created_at
        assert "bye" in backend.log_path(job).read_text()
        backend.cancel(job)  # already gone: success

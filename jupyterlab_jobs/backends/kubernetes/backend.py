"""KubernetesBackend: each job a ``batch/v1`` Job, its status from a watched cache.

- ``start`` creates the Job (built by ``manifests.job_manifest``), then for a notebook job
  the ConfigMap with its files (mounted at ``~/.job``, owned by the Job); ``cancel`` deletes it
  with foreground propagation, so the pod gets SIGTERM and its grace period first;
  deleting a Job that is already gone is success.
- ``poll`` never calls the API: reflectors (one list+watch per kind in the namespace,
  started by ``watch``, cache.py) keep Jobs, pods and warning events in memory, and
  ``outcomes.JobStatuses`` maps them to Pending / Preparing / Running or an outcome.
- Logs: a pump thread per started job (pumps.py) follows the pod's log into
  ``log_path(job)``; a job's outcome is reported once its log is copied to the end, so
  logs outlive the pod.
- After a restart, ``poll`` finds each active job's Job by its job-id label in the
  freshly listed cache: nothing is lost, nothing is started twice (create is idempotent).

The options are in settings.py, the API client in api.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from ...catalog import Catalog
from ...models import PENDING, Job
from ..base import Backend, BackendError, JobSpec, Outcome, Progress, Started
from . import manifests
from .api import ClusterClient, api_message
from .cache import ClusterCache, job_id_of
from .logpump import LogPump
from .metrics import PodMetrics
from .outcomes import DELETED_OUTSIDE, NEVER_STARTED, JobStatuses, recorded_state
from .pumps import LogPumps
from .reflector import Reflector

__all__ = ["DELETED_OUTSIDE", "NEVER_STARTED", "KubernetesBackend"]


class KubernetesBackend(ClusterClient, Backend):
    """Runs each job as a Kubernetes ``batch/v1`` Job in one namespace.

    Select it with ``c.JobsApp.backend_class =
    "jupyterlab_jobs.backends.kubernetes.KubernetesBackend"``; the options below are
    ``c.KubernetesBackend.*``. The catalog's images need a ``container_image``, datasets
    a ``pvc`` or ``host_path``; each group needs a PersistentVolumeClaim (see
    ``group_pvc_template``). The service account needs the Role in
    ``examples/kubernetes/rbac.yaml``.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cache = ClusterCache()
        self._pumps = LogPumps(self, self.job_dir, self.log_path)
        self._statuses = JobStatuses(self, self._cache, self._pumps)
        self._metrics: PodMetrics | None = None

    # -- manifests ---------------------------------------------------------------------
    def manifest_settings(self) -> manifests.ManifestSettings:
        ttl = self.job_ttl_seconds
        if ttl is None:
            ttl = int(getattr(self.parent, "log_retention_seconds", 7 * 86400))
        return manifests.ManifestSettings(
            namespace=self.ns,
            name_prefix=self.name_prefix,
            image_pull_policy=self.image_pull_policy,
            service_account=self.service_account,
            run_as_uid=self.run_as_uid,
            run_as_gid=self.run_as_gid,
            fs_gid=self.fs_gid,
            group_pvc_template=self.group_pvc_template,
            artifacts_pvc=self.artifacts_pvc if self.artifacts_root else "",
            grace_seconds=self.grace_seconds,
            ttl_seconds_after_finished=ttl,
            extra_labels=dict(self.extra_labels),
            extra_env=dict(self.extra_env),
        )

    def manifest(self, spec: JobSpec) -> dict[str, Any]:
        return manifests.job_manifest(spec, self.manifest_settings())

    def job_name(self, job: Job) -> str:
        state = recorded_state(job)
        return str(state.get("name") or manifests.job_name(job.id, job.name, self.name_prefix))

    # -- policy ------------------------------------------------------------------------
    def validate(self, spec: JobSpec) -> str | None:
        total = 0
        for path in spec.files.values():
            with contextlib.suppress(OSError):
                total += path.stat().st_size
        if total > manifests.MAX_FILES_BYTES:
            return (
                f"The notebook is too large for the Kubernetes backend: its files take "
                f"{total // 1024} KiB, at most {manifests.MAX_FILES_BYTES // 1024} KiB fit "
                "in the ConfigMap that carries them (clear large outputs and retry)"
            )
        try:
            manifests.job_manifest(spec, manifests.ManifestSettings())
        except ValueError as error:
            return str(error)
        return None

    def check_catalog(self, catalog: Catalog) -> None:
        # Rejected rather than made unique with a hash: administrators create the claims
        # by the documented template, and a hash would silently move a group to a new,
        # empty claim. Renaming a group (or the template) is the admin's clear choice.
        problems = manifests.group_name_clashes(
            self.group_pvc_template, [group.name for group in catalog.groups]
        )
        if problems:
            raise ValueError(
                "The catalog cannot run on Kubernetes: "
                + "; ".join(problems)
                + ". Rename all but one of each set of groups."
            )

    def capacity_problem(self, spec: JobSpec, active: list[Job]) -> str | None:
        return None  # the cluster queues: a pod waiting for a node is reported as Pending

    # -- lifecycle ---------------------------------------------------------------------
    def start(self, spec: JobSpec, active: list[Job]) -> Started:
        job = spec.job
        try:
            body = self.manifest(spec)
        except ValueError as error:
            raise BackendError(str(error)) from None
        name = body["metadata"]["name"]
        try:
            contents = {file: path.read_bytes() for file, path in spec.files.items()}
        except OSError as error:
            raise BackendError(f"The job's files could not be read: {error}") from None
        self.job_dir(job).mkdir(parents=True, exist_ok=True)
        try:
            created = self.create_job(body)
        except ApiException as error:
            existing = self.read_job(name) if error.status == 409 else None
            if existing is None or job_id_of(existing) != manifests.label_value(job.id):
                raise BackendError(f"Kubernetes refused the job: {api_message(error)}") from None
            self.log.info("Job %s: Kubernetes Job %s already existed (restart)", job.id, name)
            created = existing
        except HTTPError as error:
            raise BackendError(f"Could not reach the Kubernetes API: {error}") from None
        if contents:
            self._create_files(spec, contents, created)
        state = {"namespace": self.ns, "name": name, "created_at": time.time()}
        return Started(
            backend_state=json.dumps(state),
            status=PENDING,
            message="Waiting for the cluster to schedule the job",
        )

    def _create_files(self, spec: JobSpec, contents: dict[str, bytes], k8s_job: Any) -> None:
        """Create the ConfigMap with the job's files, owned by its (created) Job.

        The Job comes first: the ownerReference needs its uid, and Kubernetes then deletes
        the ConfigMap with the Job (cancel, TTL, retention), so nothing is left behind even
        if the server stops in between. Meanwhile the pod waits for its volume, as any pod
        whose ConfigMap is not there yet (the kubelet retries the mount).
        """
        metadata = k8s_job.get("metadata") or {}
        owner = {"name": str(metadata.get("name")), "uid": str(metadata.get("uid"))}
        body = manifests.files_config_map(spec, self.manifest_settings(), contents, owner)
        try:
            self.create_config_map(body)
        except ApiException as error:
            if error.status == 409:  # created before a restart: same name, same Job
                return
            self._abandon(owner["name"])
            raise BackendError(
                f"Kubernetes refused the job's files: {api_message(error)}"
            ) from None
        except HTTPError as error:
            self._abandon(owner["name"])
            raise BackendError(f"Could not reach the Kubernetes API: {error}") from None

    def _abandon(self, name: str) -> None:
        """Delete a Job that cannot run (its files could not be created)."""
        with contextlib.suppress(ApiException, HTTPError):
            self.delete_job(name, "Background")

    def cancel(self, job: Job) -> None:
        # Foreground: the Job stays (being deleted) until its pod is gone, so the pod
        # gets SIGTERM and its grace period; `poll` reports Cancelled once it ends.
        self.delete_job(self.job_name(job), "Foreground")

    def remove(self, job: Job) -> None:
        shutil.rmtree(self.job_dir(job), ignore_errors=True)
        artifacts = self.artifacts_dir(job)
        if artifacts is not None:
            shutil.rmtree(artifacts, ignore_errors=True)
        try:
            self.delete_job(self.job_name(job), "Background")
        except (ApiException, HTTPError) as error:
            # The copy of the logs is what retention removes; the Job has its own TTL.
            self.log.warning("Could not delete the Kubernetes Job of job %s: %s", job.id, error)

    def usage_file(self, job: Job) -> Path | None:
        """None where the cluster has no metrics API (then nothing is recorded)."""
        if self._metrics is None or self._metrics.available is False:
            return None
        return self.job_dir(job) / "usage.json"

    def artifacts_dir(self, job: Job) -> Path | None:
        if not (self.artifacts_pvc and self.artifacts_root):
            return None
        return Path(self.artifacts_root) / job.id

    # -- status from the cache -----------------------------------------------------------
    @property
    def ready(self) -> bool:
        """The Jobs and pods have been listed at least once (after a start or restart)."""
        return self._cache.ready

    def poll(self, job: Job) -> Outcome | Progress | None:
        return self._statuses.poll(job)

    # -- the watch -----------------------------------------------------------------------
    async def watch(self, on_change: Callable[[str], None]) -> None:
        """Run the reflectors (and so the log pumps) and the pod metrics until cancelled;
        then stop them all."""
        await asyncio.to_thread(self._cache.open, self, on_change)
        self._metrics = PodMetrics(
            self.list_pod_metrics,
            lambda job_id: self.jobs_dir / job_id / "usage.json",
            self.usage_interval_seconds,
            self.log,
        )
        self._metrics.start()
        try:
            await asyncio.Event().wait()
        finally:
            await asyncio.to_thread(self._stop_threads)

    def _stop_threads(self) -> None:
        workers: list[Reflector | LogPump | PodMetrics] = [
            *self._cache.take_all(),
            *self._pumps.take_all(),
        ]
        if self._metrics is not None:
            workers.append(self._metrics)
            self._metrics = None
        for worker in workers:
            worker.stop()
        for worker in workers:
            worker.join(self.request_timeout_seconds)
            if worker.alive:
                self.log.warning("A Kubernetes watch or log thread did not stop in time")
        self.close_client()

"""KubernetesBackend: each job a ``batch/v1`` Job, its status from a watched cache.

- ``start`` creates the Job (built by ``manifests.job_manifest``), then for a notebook job
  the ConfigMap with its files (mounted at ``~/.job``, owned by the Job); ``cancel`` deletes it
  with foreground propagation, so the pod gets SIGTERM and its grace period first;
  deleting a Job that is already gone is success.
- ``poll`` never calls the API: reflectors (one list+watch per kind in the namespace,
  started by ``watch``) keep Jobs, pods and warning events in memory, and
  ``status.observe`` maps them to Pending / Preparing / Running or an outcome.
- Logs: a pump thread per started job follows the pod's log into ``log_path(job)``; a
  job's outcome is reported once its log is copied to the end, so logs outlive the pod.
- After a restart, ``poll`` finds each active job's Job by its job-id label in the
  freshly listed cache: nothing is lost, nothing is started twice (create is idempotent).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubernetes import client
from kubernetes import config as _config
from kubernetes.client.exceptions import ApiException
from traitlets import Bool, Dict, Enum, Float, Int, TraitError, Unicode, validate
from urllib3.exceptions import HTTPError

from ...catalog import Catalog
from ...models import PENDING, Job
from ..base import CANCELLED, VANISHED, Backend, BackendError, JobSpec, Outcome, Progress, Started
from . import manifests, status
from .logpump import LogPosition, LogPump
from .metrics import PodMetrics
from .reflector import Reflector

IN_CLUSTER_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
NEVER_STARTED = "The job never started: the server stopped while preparing it. Rerun it."
# The config loaders are untyped; the typed API classes are used through Any below, as
# raw responses (``_preload_content=False``) do not match their declared return types.
config: Any = _config
DELETED_OUTSIDE = "The job's Kubernetes Job was deleted outside jupyterlab-jobs"


def _api_message(error: ApiException) -> str:
    """The API server's own words for a refused request."""
    with contextlib.suppress(ValueError, TypeError, AttributeError):
        message = json.loads(error.body or "{}").get("message")
        if message:
            return str(message)
    return f"{error.status} {error.reason}"


def _job_id(obj: dict[str, Any]) -> str | None:
    labels = obj.get("metadata", {}).get("labels") or {}
    value = labels.get(manifests.JOB_ID_LABEL)
    return str(value) if value else None


def _created(obj: dict[str, Any]) -> str:
    return str(obj.get("metadata", {}).get("creationTimestamp") or "")


class KubernetesBackend(Backend):
    """Runs each job as a Kubernetes ``batch/v1`` Job in one namespace.

    Select it with ``c.JobsApp.backend_class =
    "jupyterlab_jobs.backends.kubernetes.KubernetesBackend"``; the options below are
    ``c.KubernetesBackend.*``. The catalog's images need a ``container_image``, datasets
    a ``pvc`` or ``host_path``; each group needs a PersistentVolumeClaim (see
    ``group_pvc_template``). The service account needs the Role in
    ``examples/kubernetes/rbac.yaml``.
    """

    namespace = Unicode(
        help="Namespace the jobs run in. Defaults to the server's own namespace in a "
        "cluster, else the kubeconfig context's namespace, else 'default'.",
    ).tag(config=True)

    config_source = Enum(
        ["auto", "in-cluster", "kubeconfig"],
        default_value="auto",
        help="How to reach the API server: 'in-cluster' (the pod's service account), "
        "'kubeconfig' (see `kubeconfig` and `kube_context`), or 'auto': in-cluster when "
        "KUBERNETES_SERVICE_HOST is set, else kubeconfig.",
    ).tag(config=True)

    kubeconfig = Unicode(
        "",
        help="Path of the kubeconfig file. Empty: $KUBECONFIG, else ~/.kube/config.",
    ).tag(config=True)

    kube_context = Unicode(
        "", help="The kubeconfig context to use. Empty: the file's current context."
    ).tag(config=True)

    request_timeout_seconds = Float(
        30.0,
        min=0.1,
        help="Timeout of one API request (connect and read). Watches and log streams use "
        "it to connect, then wait longer for data.",
    ).tag(config=True)

    watch_timeout_seconds = Int(
        300,
        min=1,
        help="The API server ends each watch after this long; it is then resumed from "
        "the last resourceVersion seen (no full list).",
    ).tag(config=True)

    max_backoff_seconds = Float(
        30.0,
        min=0.01,
        help="After API errors, watches and log streams retry with exponential backoff "
        "up to this many seconds between tries (they never give up).",
    ).tag(config=True)

    preparing_timeout_seconds = Float(
        600.0,
        min=1,
        help="A job whose pod was scheduled but has not started running after this long "
        "(image pull, volume mount, container creation stuck) is Failed with the reason. "
        "Time waiting for a node (Pending) is not counted: the cluster's queue may be long.",
    ).tag(config=True)

    start_grace_seconds = Float(
        60.0,
        min=0,
        help="A job claimed or created this recently whose Job is not (yet) in the watched "
        "cache is waited for; after that, it is Failed as vanished.",
    ).tag(config=True)

    log_drain_timeout_seconds = Float(
        30.0,
        min=0,
        help="When a job ends, its outcome waits at most this long for the log copy to "
        "reach the end of the pod's log.",
    ).tag(config=True)

    log_read_timeout_seconds = Float(
        120.0,
        min=1,
        help="A log stream that delivered nothing for this long is reopened (a silent job "
        "costs one request per period; a dead connection is noticed).",
    ).tag(config=True)

    service_account = Unicode(
        "",
        help="Service account of the jobs' pods. Empty: the namespace's default. The "
        "token is not mounted either way (automountServiceAccountToken: false).",
    ).tag(config=True)

    run_as_uid = Int(1000, min=1, help="User id the job's container runs as (never root).").tag(
        config=True
    )

    run_as_gid = Int(100, min=0, help="Primary group id of the job's container.").tag(config=True)

    fs_gid = Int(
        100,
        allow_none=True,
        help="fsGroup of the pod: volumes are made writable for this group. None: unset.",
    ).tag(config=True)

    group_pvc_template = Unicode(
        "project-{group}",
        help="Name of each group's PersistentVolumeClaim, mounted at /project/<group> and "
        "linked as ~/<group>; {group} is the group name made a DNS label.",
    ).tag(config=True)

    artifacts_pvc = Unicode(
        "",
        help="PersistentVolumeClaim that keeps the jobs' artifacts: mounted at "
        "$HOME/artifacts of each job's pod with subPath <job id>. The server must see the "
        "same volume at artifacts_root. Empty: artifacts are not kept.",
    ).tag(config=True)

    artifacts_root = Unicode(
        "",
        help="Where this server sees the volume of artifacts_pvc: a job's artifacts are in "
        "<artifacts_root>/<job id>, removed with its logs.",
    ).tag(config=True)

    usage_interval_seconds = Float(
        15.0,
        min=0.1,
        help="Seconds between two readings of the jobs' pods' CPU and memory from the "
        "metrics API (metrics.k8s.io), when the cluster has it (metrics-server).",
    ).tag(config=True)

    image_pull_policy = Enum(
        ["Always", "IfNotPresent", "Never"],
        default_value="IfNotPresent",
        help="imagePullPolicy of the job's container.",
    ).tag(config=True)

    name_prefix = Unicode(
        "job",
        help="First part of each Job's name: <prefix>-<job name as a DNS label>-<job id>.",
    ).tag(config=True)

    grace_seconds = Int(
        30,
        min=0,
        help="terminationGracePeriodSeconds: after SIGTERM (cancel, deadline) the job has "
        "this long to exit before it is killed.",
    ).tag(config=True)

    job_ttl_seconds = Int(
        None,
        allow_none=True,
        min=0,
        help="ttlSecondsAfterFinished of each Job (the cluster deletes it and its pod this "
        "long after it ended). None: the app's log_retention_seconds, so `kubectl logs` "
        "works as long as the copy kept by jupyterlab-jobs.",
    ).tag(config=True)

    extra_labels = Dict(
        value_trait=Unicode(),
        help="Labels added to every Job and pod (for cost reports, network policies).",
    ).tag(config=True)

    extra_env = Dict(
        value_trait=Unicode(), help="Environment variables added to every job's container."
    ).tag(config=True)

    watch_events = Bool(
        True,
        help="Also watch the namespace's Warning events, to show why a job waits or is "
        "stuck (quota exceeded, volume mount failed). Needs list/watch on events.",
    ).tag(config=True)

    connection_pool_size = Int(
        32,
        min=4,
        help="HTTP connections kept to the API server (three watches plus one log stream "
        "per running job).",
    ).tag(config=True)

    @validate("group_pvc_template")
    def _check_pvc_template(self, proposal: Any) -> str:
        template = str(proposal["value"])
        try:
            name = manifests.group_pvc_name(template, "group")
        except (KeyError, IndexError, ValueError) as error:
            raise TraitError(f"group_pvc_template {template!r}: only {{group}} is known") from error
        if len(name) > 253 or not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", name):
            raise TraitError(f"group_pvc_template {template!r} does not make a valid name")
        return template

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._client_lock = threading.Lock()
        self._api_client: client.ApiClient | None = None
        self._batch: Any = None
        self._core: Any = None
        self._resolved_namespace = ""
        self._reflectors: dict[str, Reflector] = {}
        self._pumps: dict[str, LogPump] = {}
        self._metrics: PodMetrics | None = None
        self._pumps_lock = threading.Lock()
        self._ended_seen: dict[str, float] = {}
        self._deleted: set[str] = set()
        self._on_change: Callable[[str], None] = lambda job_id: None

    # -- the API client ----------------------------------------------------------------
    def api_client(self) -> client.ApiClient:
        with self._client_lock:
            if self._api_client is None:
                self._api_client = self._make_client()
            return self._api_client

    def _make_client(self) -> client.ApiClient:
        configuration = client.Configuration()
        source = self.config_source
        if source == "auto":
            source = "in-cluster" if os.environ.get("KUBERNETES_SERVICE_HOST") else "kubeconfig"
        namespace = self.namespace
        if source == "in-cluster":
            config.load_incluster_config(client_configuration=configuration)
            if not namespace and IN_CLUSTER_NAMESPACE.exists():
                namespace = IN_CLUSTER_NAMESPACE.read_text(encoding="utf-8").strip()
        else:
            path = self.kubeconfig or None
            context = self.kube_context or None
            config.load_kube_config(
                config_file=path,
                context=context,
                client_configuration=configuration,
                persist_config=False,
            )
            if not namespace:
                with contextlib.suppress(Exception):
                    contexts, active = config.list_kube_config_contexts(config_file=path)
                    chosen = next((c for c in contexts if c["name"] == context), active)
                    namespace = chosen.get("context", {}).get("namespace", "")
        configuration.connection_pool_maxsize = self.connection_pool_size
        self._resolved_namespace = namespace or "default"
        return client.ApiClient(configuration)

    @property
    def ns(self) -> str:
        self.api_client()
        return self._resolved_namespace

    @property
    def batch(self) -> Any:
        api_client = self.api_client()
        with self._client_lock:
            if self._batch is None or self._batch.api_client is not api_client:
                self._batch = client.BatchV1Api(api_client)  # the first costs ~1 s
            return self._batch

    @property
    def core(self) -> Any:
        api_client = self.api_client()
        with self._client_lock:
            if self._core is None or self._core.api_client is not api_client:
                self._core = client.CoreV1Api(api_client)
            return self._core

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
        state = self._state(job)
        return str(state.get("name") or manifests.job_name(job.id, job.name, self.name_prefix))

    @staticmethod
    def _state(job: Job) -> dict[str, Any]:
        try:
            state = json.loads(job.backend_state or "{}")
        except ValueError:
            return {}
        return state if isinstance(state, dict) else {}

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
            response = self.batch.create_namespaced_job(
                self.ns,
                body,
                _request_timeout=self.request_timeout_seconds,
                _preload_content=False,
            )
            try:
                created = json.loads(response.data)
            finally:
                response.release_conn()
        except ApiException as error:
            existing = self._read_job(name) if error.status == 409 else None
            if existing is None or _job_id(existing) != manifests.label_value(job.id):
                raise BackendError(f"Kubernetes refused the job: {_api_message(error)}") from None
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
            self.core.create_namespaced_config_map(
                self.ns, body, _request_timeout=self.request_timeout_seconds, _preload_content=False
            ).release_conn()
        except ApiException as error:
            if error.status == 409:  # created before a restart: same name, same Job
                return
            self._abandon(owner["name"])
            raise BackendError(
                f"Kubernetes refused the job's files: {_api_message(error)}"
            ) from None
        except HTTPError as error:
            self._abandon(owner["name"])
            raise BackendError(f"Could not reach the Kubernetes API: {error}") from None

    def _abandon(self, name: str) -> None:
        """Delete a Job that cannot run (its files could not be created)."""
        with contextlib.suppress(ApiException, HTTPError):
            self._delete(name, "Background")

    def _read_job(self, name: str) -> dict[str, Any] | None:
        """The Job ``name`` as stored, or None if it cannot be read."""
        try:
            response = self.batch.read_namespaced_job(
                name, self.ns, _request_timeout=self.request_timeout_seconds, _preload_content=False
            )
        except (ApiException, HTTPError):
            return None
        try:
            job: dict[str, Any] = json.loads(response.data)
            return job
        finally:
            response.release_conn()

    def _delete(self, name: str, propagation: str) -> None:
        """Delete a Job and its pods; one already gone is success."""
        try:
            self.batch.delete_namespaced_job(
                name,
                self.ns,
                propagation_policy=propagation,
                _request_timeout=self.request_timeout_seconds,
                _preload_content=False,
            ).release_conn()
        except ApiException as error:
            if error.status != 404:
                raise

    def cancel(self, job: Job) -> None:
        # Foreground: the Job stays (being deleted) until its pod is gone, so the pod
        # gets SIGTERM and its grace period; `poll` reports Cancelled once it ends.
        self._delete(self.job_name(job), "Foreground")

    def remove(self, job: Job) -> None:
        shutil.rmtree(self.job_dir(job), ignore_errors=True)
        artifacts = self.artifacts_dir(job)
        if artifacts is not None:
            shutil.rmtree(artifacts, ignore_errors=True)
        try:
            self._delete(self.job_name(job), "Background")
        except (ApiException, HTTPError) as error:
            # The copy of the logs is what retention removes; the Job has its own TTL.
            self.log.warning("Could not delete the Kubernetes Job of job %s: %s", job.id, error)

    def _list_pod_metrics(self) -> Any:
        return client.CustomObjectsApi(self.api_client()).list_namespaced_custom_object(
            "metrics.k8s.io",
            "v1beta1",
            self.ns,
            "pods",
            label_selector=f"{manifests.MANAGED_BY_LABEL}={manifests.MANAGED_BY}",
            _request_timeout=self.request_timeout_seconds,
        )

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
        return all(
            kind in self._reflectors and self._reflectors[kind].loaded.is_set()
            for kind in ("jobs", "pods")
        )

    def _newest(self, kind: str, job_id: str) -> dict[str, Any] | None:
        found = self._reflectors[kind].by_key(manifests.label_value(job_id))
        return max(found, key=_created) if found else None

    def _events_for(self, obj: dict[str, Any] | None) -> list[dict[str, Any]]:
        reflector = self._reflectors.get("events")
        if obj is None or reflector is None:
            return []
        return reflector.by_key(str(obj.get("metadata", {}).get("name", "")))

    def poll(self, job: Job) -> Outcome | Progress | None:
        if not self.ready:
            return None  # status unknown until the first list: never guess "vanished"
        now = time.time()
        state = self._state(job)
        k8s_job = self._newest("jobs", job.id)
        pod = self._newest("pods", job.id)
        result: Outcome | Progress | None
        if k8s_job is None:
            if job.cancel_requested_by:
                result = Outcome(CANCELLED, None, job.started_at, now)
            else:
                since = float(state.get("created_at") or state.get("claimed_at") or job.created_at)
                if now - since < self.start_grace_seconds:
                    return None
                message = DELETED_OUTSIDE if "name" in state else NEVER_STARTED
                result = Outcome(VANISHED, None, job.started_at, now, message)
        else:
            result = status.observe(
                k8s_job,
                pod,
                job_events=self._events_for(k8s_job),
                pod_events=self._events_for(pod),
                now=now,
                preparing_timeout_seconds=self.preparing_timeout_seconds,
            )
        if pod is not None and status.started_at(pod) is not None:
            self._ensure_pump(job, pod)
        if result is None:
            return None
        if isinstance(result, Progress):
            if result.started_at is not None:
                result.started_at = max(result.started_at, job.created_at)
            return result
        return self._finish(job, k8s_job, pod, result, now)

    def _finish(
        self,
        job: Job,
        k8s_job: dict[str, Any] | None,
        pod: dict[str, Any] | None,
        outcome: Outcome,
        now: float,
    ) -> Outcome | None:
        """The outcome, once the log copy is complete (or waited for long enough)."""
        if k8s_job is not None and not self._ended_in_cluster(k8s_job, pod):
            # We decided (image pull failed, preparing timeout): stop the Job ourselves.
            name = k8s_job["metadata"]["name"]
            if name not in self._deleted:
                self._deleted.add(name)
                try:
                    self._delete(name, "Background")
                except (ApiException, HTTPError) as error:
                    self.log.warning("Could not delete Kubernetes Job %s: %s", name, error)
        first_seen = self._ended_seen.setdefault(job.id, now)
        pump = self._pumps.get(job.id)
        copying = pump is not None and not pump.done.is_set()
        if copying and now - first_seen < self.log_drain_timeout_seconds:
            return None
        self._ended_seen.pop(job.id, None)
        with self._pumps_lock:
            if pump is not None and pump.done.is_set():
                self._pumps.pop(job.id, None)  # one still copying is stopped at shutdown
        if outcome.started_at is not None:
            outcome.started_at = max(outcome.started_at, job.created_at)
        floor = outcome.started_at if outcome.started_at is not None else job.created_at
        outcome.finished_at = max(outcome.finished_at, floor)
        return outcome

    @staticmethod
    def _ended_in_cluster(k8s_job: dict[str, Any], pod: dict[str, Any] | None) -> bool:
        if pod is not None and status.pod_outcome(pod, 0.0) is not None:
            return True
        return status.job_outcome(k8s_job, 0.0) is not None or bool(
            k8s_job.get("metadata", {}).get("deletionTimestamp")
        )

    # -- logs ----------------------------------------------------------------------------
    def _ensure_pump(self, job: Job, pod: dict[str, Any]) -> None:
        """Start copying the pod's log unless a copy runs or is complete."""
        if "pods" not in self._reflectors:
            return
        pod_name = str(pod["metadata"]["name"])
        with self._pumps_lock:
            pump = self._pumps.get(job.id)
            if pump is not None and (not pump.done.is_set() or pump.pod_name == pod_name):
                return  # copying, or copied this pod's log to its end
            directory = self.job_dir(job)
            directory.mkdir(parents=True, exist_ok=True)
            position = directory / "log-position.json"
            if LogPosition(position).done:
                return
            pods = self._reflectors["pods"]

            def container_finished() -> bool:
                current = pods.get(pod_name)
                if current is None:
                    return True
                state = status.container_status(current).get("state") or {}
                return bool(state.get("terminated")) or status.pod_outcome(current, 0.0) is not None

            pump = LogPump(
                job_id=job.id,
                pod_name=pod_name,
                namespace=self.ns,
                container=manifests.CONTAINER_NAME,
                read_log=self.core.read_namespaced_pod_log,
                container_finished=container_finished,
                log_path=self.log_path(job),
                position_path=position,
                request_timeout=self.request_timeout_seconds,
                read_timeout=self.log_read_timeout_seconds,
                max_backoff=self.max_backoff_seconds,
                log=self.log,
            )
            self._pumps[job.id] = pump
            pump.start()

    # -- the watch -----------------------------------------------------------------------
    def _make_reflectors(self) -> dict[str, Reflector]:
        selector = f"{manifests.MANAGED_BY_LABEL}={manifests.MANAGED_BY}"
        common: dict[str, Any] = {
            "namespace": self.ns,
            "request_timeout": self.request_timeout_seconds,
            "watch_timeout_seconds": self.watch_timeout_seconds,
            "max_backoff": self.max_backoff_seconds,
            "log": self.log,
        }
        reflectors = {
            "jobs": Reflector(
                kind="jobs",
                list_method=self.batch.list_namespaced_job,
                label_selector=selector,
                index=_job_id,
                on_change=self._object_changed,
                **common,
            ),
            "pods": Reflector(
                kind="pods",
                list_method=self.core.list_namespaced_pod,
                label_selector=selector,
                index=_job_id,
                on_change=self._object_changed,
                **common,
            ),
        }
        if self.watch_events:
            reflectors["events"] = Reflector(
                kind="events",
                list_method=self.core.list_namespaced_event,
                field_selector="type=Warning",
                index=lambda event: event.get("involvedObject", {}).get("name"),
                on_change=self._event_changed,
                **common,
            )
        return reflectors

    def _object_changed(self, obj: dict[str, Any]) -> None:
        job_id = _job_id(obj)
        if job_id:
            self._on_change(job_id)

    def _event_changed(self, event: dict[str, Any]) -> None:
        involved = event.get("involvedObject") or {}
        kind = {"Job": "jobs", "Pod": "pods"}.get(str(involved.get("kind")))
        reflector = self._reflectors.get(kind) if kind else None
        obj = reflector.get(str(involved.get("name"))) if reflector else None
        if obj is not None:
            self._object_changed(obj)

    async def watch(self, on_change: Callable[[str], None]) -> None:
        """Run the reflectors (and so the log pumps) and the pod metrics until cancelled;
        then stop them all."""
        self._on_change = on_change
        self._reflectors = await asyncio.to_thread(self._make_reflectors)
        for reflector in self._reflectors.values():
            reflector.start()
        self._metrics = PodMetrics(
            self._list_pod_metrics,
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
        reflectors = list(self._reflectors.values())
        with self._pumps_lock:
            pumps = list(self._pumps.values())
            self._pumps.clear()
        workers: list[Reflector | LogPump | PodMetrics] = [*reflectors, *pumps]
        if self._metrics is not None:
            workers.append(self._metrics)
            self._metrics = None
        for worker in workers:
            worker.stop()
        for worker in workers:
            worker.join(self.request_timeout_seconds)
            if worker.alive:
                self.log.warning("A Kubernetes watch or log thread did not stop in time")
        self._reflectors = {}
        self._on_change = lambda job_id: None
        with self._client_lock:
            if self._api_client is not None:
                closing: Any = self._api_client  # close() is untyped
                closing.close()
                self._api_client = None

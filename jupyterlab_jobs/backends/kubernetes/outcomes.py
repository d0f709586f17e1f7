"""What ``poll`` reports: a job's progress from the watched cache, and its outcome once
its log is copied to the end.

Nothing here calls the API, except to delete a Job the backend itself gave up on (image
pull failed, preparing timeout). A job whose Job is missing from a freshly listed cache
is waited for briefly (it may just have been created), then reported vanished.
"""

from __future__ import annotations

import json
import time
from typing import Any

from kubernetes.client.exceptions import ApiException
from urllib3.exceptions import HTTPError

from ...models import Job
from ..base import CANCELLED, VANISHED, Outcome, Progress
from . import status
from .api import ClusterClient
from .cache import ClusterCache
from .pumps import LogPumps
from .reflector import Obj

NEVER_STARTED = "The job never started: the server stopped while preparing it. Rerun it."
DELETED_OUTSIDE = "The job's Kubernetes Job was deleted outside jupyterlab-jobs"


def recorded_state(job: Job) -> dict[str, Any]:
    """What ``start`` (or the claim) recorded in the job's backend_state."""
    try:
        state = json.loads(job.backend_state or "{}")
    except ValueError:
        return {}
    return state if isinstance(state, dict) else {}


def ended_in_cluster(k8s_job: Obj, pod: Obj | None) -> bool:
    """The cluster itself ended the job (or is deleting its Job)."""
    if pod is not None and status.pod_outcome(pod, 0.0) is not None:
        return True
    return status.job_outcome(k8s_job, 0.0) is not None or bool(
        k8s_job.get("metadata", {}).get("deletionTimestamp")
    )


def not_before_creation(result: Outcome | Progress, job: Job) -> None:
    """Clamp the cluster's times to the job's creation (clocks differ between nodes):
    nothing starts before the job was created, nor ends before it started."""
    if result.started_at is not None:
        result.started_at = max(result.started_at, job.created_at)
    if isinstance(result, Outcome):
        floor = result.started_at if result.started_at is not None else job.created_at
        result.finished_at = max(result.finished_at, floor)


class JobStatuses:
    """``poll`` of the backend, reading ``cache`` and waiting for ``pumps``."""

    def __init__(self, cluster: ClusterClient, cache: ClusterCache, pumps: LogPumps) -> None:
        self._cluster = cluster
        self._cache = cache
        self._pumps = pumps
        self._ended_seen: dict[str, float] = {}
        self._deleted: set[str] = set()

    def poll(self, job: Job) -> Outcome | Progress | None:
        if not self._cache.ready:
            return None  # status unknown until the first list: never guess "vanished"
        now = time.time()
        k8s_job = self._cache.newest("jobs", job.id)
        pod = self._cache.newest("pods", job.id)
        result: Outcome | Progress | None
        if k8s_job is None:
            result = self._missing(job, now)
        else:
            result = status.observe(
                k8s_job,
                pod,
                job_events=self._cache.events_for(k8s_job),
                pod_events=self._cache.events_for(pod),
                now=now,
                preparing_timeout_seconds=self._cluster.preparing_timeout_seconds,
            )
        pods = self._cache.reflectors.get("pods")
        if pod is not None and pods is not None and status.started_at(pod) is not None:
            self._pumps.follow(job, str(pod["metadata"]["name"]), pods)
        if result is None:
            return None
        if isinstance(result, Progress):
            not_before_creation(result, job)
            return result
        return self._finish(job, k8s_job, pod, result, now)

    def _missing(self, job: Job, now: float) -> Outcome | None:
        """A job whose Job is not in the cache: cancelled, too new to be seen, or gone."""
        if job.cancel_requested_by:
            return Outcome(CANCELLED, None, job.started_at, now)
        state = recorded_state(job)
        since = float(state.get("created_at") or state.get("claimed_at") or job.created_at)
        if now - since < self._cluster.start_grace_seconds:
            return None
        message = DELETED_OUTSIDE if "name" in state else NEVER_STARTED
        return Outcome(VANISHED, None, job.started_at, now, message)

    def _finish(
        self,
        job: Job,
        k8s_job: Obj | None,
        pod: Obj | None,
        outcome: Outcome,
        now: float,
    ) -> Outcome | None:
        """The outcome, once the log copy is complete (or waited for long enough)."""
        if k8s_job is not None and not ended_in_cluster(k8s_job, pod):
            # We decided (image pull failed, preparing timeout): stop the Job ourselves.
            name = k8s_job["metadata"]["name"]
            if name not in self._deleted:
                self._deleted.add(name)
                try:
                    self._cluster.delete_job(name, "Background")
                except (ApiException, HTTPError) as error:
                    self._cluster.log.warning("Could not delete Kubernetes Job %s: %s", name, error)
        first_seen = self._ended_seen.setdefault(job.id, now)
        if (
            self._pumps.copying(job.id)
            and now - first_seen < self._cluster.log_drain_timeout_seconds
        ):
            return None
        self._ended_seen.pop(job.id, None)
        self._pumps.forget_done(job.id)
        not_before_creation(outcome, job)
        return outcome

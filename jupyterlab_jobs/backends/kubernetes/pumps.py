"""The log copies of the jobs: one ``LogPump`` per job whose pod has started.

A pump is started when ``poll`` first sees the job's pod running (again after a restart,
unless the copy is complete), kept until its job's outcome is reported, and stopped with
the backend's watch.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from ...models import Job
from . import manifests, status
from .api import ClusterClient
from .logpump import LogPosition, LogPump
from .reflector import Reflector


class LogPumps:
    """The running (or finished, not yet reported) pumps, by job id."""

    def __init__(
        self,
        cluster: ClusterClient,
        job_dir: Callable[[Job], Path],
        log_path: Callable[[Job], Path],
    ) -> None:
        self._cluster = cluster
        self._job_dir = job_dir
        self._log_path = log_path
        self._pumps: dict[str, LogPump] = {}
        self._lock = threading.Lock()

    def get(self, job_id: str) -> LogPump | None:
        return self._pumps.get(job_id)

    def copying(self, job_id: str) -> bool:
        """The job's log is being copied and has not reached its end yet."""
        pump = self._pumps.get(job_id)
        return pump is not None and not pump.done.is_set()

    def forget_done(self, job_id: str) -> None:
        """Drop the job's pump once its copy is complete (its outcome is reported); one
        still copying is stopped with the others."""
        with self._lock:
            pump = self._pumps.get(job_id)
            if pump is not None and pump.done.is_set():
                self._pumps.pop(job_id, None)

    def take_all(self) -> list[LogPump]:
        """Hand over every pump (to be stopped) and forget them."""
        with self._lock:
            pumps = list(self._pumps.values())
            self._pumps.clear()
        return pumps

    def follow(self, job: Job, pod_name: str, pods: Reflector) -> None:
        """Start copying the pod's log unless a copy runs or is complete; ``pods`` tells
        the pump when the container has ended."""
        with self._lock:
            pump = self._pumps.get(job.id)
            if pump is not None and (not pump.done.is_set() or pump.pod_name == pod_name):
                return  # copying, or copied this pod's log to its end
            directory = self._job_dir(job)
            directory.mkdir(parents=True, exist_ok=True)
            position = directory / "log-position.json"
            if LogPosition(position).done:
                return

            def container_finished() -> bool:
                current = pods.get(pod_name)
                if current is None:
                    return True
                state = status.container_status(current).get("state") or {}
                return bool(state.get("terminated")) or status.pod_outcome(current, 0.0) is not None

            cluster = self._cluster
            pump = LogPump(
                job_id=job.id,
                pod_name=pod_name,
                namespace=cluster.ns,
                container=manifests.CONTAINER_NAME,
                read_log=cluster.core.read_namespaced_pod_log,
                container_finished=container_finished,
                log_path=self._log_path(job),
                position_path=position,
                request_timeout=cluster.request_timeout_seconds,
                read_timeout=cluster.log_read_timeout_seconds,
                max_backoff=cluster.max_backoff_seconds,
                log=cluster.log,
            )
            self._pumps[job.id] = pump
            pump.start()

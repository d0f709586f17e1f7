"""The watched cache: the jobs' Jobs and pods and the namespace's Warning events.

One reflector per kind (see reflector.py), started by the backend's ``watch``; ``poll``
reads only this cache. Each change of a job's Job or pod, or an event about one, is
reported by the job's id.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import manifests
from .api import MANAGED_SELECTOR, ClusterClient
from .reflector import Obj, Reflector

STATUS_KINDS = ("jobs", "pods")


def job_id_of(obj: Obj) -> str | None:
    """The jupyterlab-jobs job id a Job or pod is labelled with."""
    labels = obj.get("metadata", {}).get("labels") or {}
    value = labels.get(manifests.JOB_ID_LABEL)
    return str(value) if value else None


def _created(obj: Obj) -> str:
    return str(obj.get("metadata", {}).get("creationTimestamp") or "")


def _involved_name(event: Obj) -> str | None:
    name = event.get("involvedObject", {}).get("name")
    return str(name) if name else None


class ClusterCache:
    """The reflectors of one running ``watch``, and what ``poll`` reads from them."""

    def __init__(self) -> None:
        self.reflectors: dict[str, Reflector] = {}
        self._on_change: Callable[[str], None] = lambda job_id: None

    def open(self, cluster: ClusterClient, on_change: Callable[[str], None]) -> None:
        """Make the reflectors and start them (blocking: the first API client takes
        a while); ``on_change(job_id)`` is called from their threads."""
        self._on_change = on_change
        common: dict[str, Any] = {
            "namespace": cluster.ns,
            "request_timeout": cluster.request_timeout_seconds,
            "watch_timeout_seconds": cluster.watch_timeout_seconds,
            "max_backoff": cluster.max_backoff_seconds,
            "log": cluster.log,
        }
        list_methods = {
            "jobs": cluster.batch.list_namespaced_job,
            "pods": cluster.core.list_namespaced_pod,
        }
        reflectors = {
            kind: Reflector(
                kind=kind,
                list_method=list_method,
                label_selector=MANAGED_SELECTOR,
                index=job_id_of,
                on_change=self._object_changed,
                **common,
            )
            for kind, list_method in list_methods.items()
        }
        if cluster.watch_events:
            reflectors["events"] = Reflector(
                kind="events",
                list_method=cluster.core.list_namespaced_event,
                field_selector="type=Warning",
                index=_involved_name,
                on_change=self._event_changed,
                **common,
            )
        self.reflectors = reflectors
        for reflector in reflectors.values():
            reflector.start()

    def take_all(self) -> list[Reflector]:
        """Hand over the reflectors (to be stopped) and forget them: not ready again
        until the next ``open``."""
        reflectors, self.reflectors = list(self.reflectors.values()), {}
        self._on_change = lambda job_id: None
        return reflectors

    @property
    def ready(self) -> bool:
        """The Jobs and pods have been listed at least once (after a start or restart)."""
        return all(
            kind in self.reflectors and self.reflectors[kind].loaded.is_set()
            for kind in STATUS_KINDS
        )

    def newest(self, kind: str, job_id: str) -> Obj | None:
        """The job's newest Job or pod (``kind`` "jobs" or "pods")."""
        found = self.reflectors[kind].by_key(manifests.label_value(job_id))
        return max(found, key=_created) if found else None

    def events_for(self, obj: Obj | None) -> list[Obj]:
        """The Warning events about ``obj`` (none when events are not watched)."""
        reflector = self.reflectors.get("events")
        if obj is None or reflector is None:
            return []
        return reflector.by_key(str(obj.get("metadata", {}).get("name", "")))

    def _object_changed(self, obj: Obj) -> None:
        job_id = job_id_of(obj)
        if job_id:
            self._on_change(job_id)

    def _event_changed(self, event: Obj) -> None:
        involved = event.get("involvedObject") or {}
        kind = {"Job": "jobs", "Pod": "pods"}.get(str(involved.get("kind")))
        reflector = self.reflectors.get(kind) if kind else None
        obj = reflector.get(str(involved.get("name"))) if reflector else None
        if obj is not None:
            self._object_changed(obj)

"""Resource use of the jobs' pods, from the cluster's metrics API (metrics.k8s.io).

A thread owned by the backend lists the metrics of the jobs' pods every few seconds (the
first time one interval after the server starts) and keeps each job's readings as the
local backend does (backends/usage_log.py), in ``usage.json`` of the job's directory on
the server. A cluster without metrics-server
answers 404: then nothing is recorded (``available`` is False) and the API is asked again
now and then, in case it is installed later.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from kubernetes.client.exceptions import ApiException
from kubernetes.utils import parse_quantity
from urllib3.exceptions import HTTPError

from ..usage_log import UsageLog
from .manifests import JOB_ID_LABEL

MAX_PODS = 1000  # pods read per listing (more jobs than that do not run at once)
RETRY_ABSENT_SECONDS = 300.0


def _amount(value: Any) -> Decimal:
    parse: Any = parse_quantity  # untyped
    try:
        return Decimal(parse(value))
    except (ValueError, TypeError, InvalidOperation):
        return Decimal(0)


def pod_usage(item: dict[str, Any]) -> tuple[str, float, int] | None:
    """(job id, CPUs in use, resident bytes) of one PodMetrics item, or None."""
    labels = (item.get("metadata") or {}).get("labels") or {}
    job_id = labels.get(JOB_ID_LABEL)
    containers = item.get("containers")
    if not (isinstance(job_id, str) and job_id.isascii() and job_id.isalnum()):
        return None  # it names a file
    if not isinstance(containers, list):
        return None
    usages = [c.get("usage") or {} for c in containers if isinstance(c, dict)]
    cpu = sum((_amount(u.get("cpu", 0)) for u in usages), Decimal(0))
    memory = sum((_amount(u.get("memory", 0)) for u in usages), Decimal(0))
    return job_id, float(cpu), int(memory)


class PodMetrics:
    """Polls ``list_metrics`` (PodMetrics of the jobs' pods) every ``interval`` seconds."""

    def __init__(
        self,
        list_metrics: Callable[[], Any],
        usage_path: Callable[[str], Path],
        interval: float,
        log: logging.Logger,
    ) -> None:
        self._list_metrics = list_metrics
        self._usage_path = usage_path
        self.interval = interval
        self.log = log
        # None until the metrics API answered once; False where it is not installed.
        self.available: bool | None = None
        self._logs: dict[str, UsageLog] = {}
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="jobs-pod-metrics", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        # Not at once: the server's first requests (the status lists) go first.
        self._stopped.wait(self.interval)
        while not self._stopped.is_set():
            wait = self.interval
            try:
                answer = self._list_metrics()
            except ApiException as error:
                if error.status in (403, 404):  # not installed, or not allowed to read it
                    if self.available is not False:
                        self.log.info("No pod metrics (metrics.k8s.io): %s", error.reason)
                    self.available = False
                    wait = RETRY_ABSENT_SECONDS
                else:
                    self.log.debug("Pod metrics: %s", error)
            except (HTTPError, OSError, ValueError) as error:
                self.log.debug("Pod metrics: %s", error)
            else:
                self.available = True
                self.record(answer, time.time())
            self._stopped.wait(wait)

    def record(self, answer: Any, now: float) -> None:
        """Add one listing's readings; forget jobs whose pods are gone (their file stays)."""
        items = answer.get("items") if isinstance(answer, dict) else None
        seen: set[str] = set()
        for item in (items if isinstance(items, list) else [])[:MAX_PODS]:
            usage = pod_usage(item) if isinstance(item, dict) else None
            if usage is None:
                continue
            job_id, cpu, memory = usage
            seen.add(job_id)
            log = self._logs.setdefault(job_id, UsageLog())
            log.add_rate(now, memory, cpu)
            path = self._usage_path(job_id)
            with contextlib.suppress(OSError):
                path.parent.mkdir(parents=True, exist_ok=True)
                temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
                temporary.write_text(json.dumps(log.to_json()), encoding="utf-8")
                os.replace(temporary, path)
        for job_id in set(self._logs) - seen:
            del self._logs[job_id]

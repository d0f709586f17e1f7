"""Pure status mapping: a Job, its pod and their warning events -> the job's status.

Works on the plain dicts the reflectors cache (the API's JSON), so it is tested with
hand-written objects as well as through the fake API server.
"""

from __future__ import annotations

import datetime
import signal
from collections.abc import Mapping, Sequence
from typing import Any

from ...models import PENDING, PREPARING, RUNNING, human_duration
from ..base import DEADLINE, EXITED, OUT_OF_MEMORY, VANISHED, Outcome, Progress
from .manifests import CONTAINER_NAME

Obj = Mapping[str, Any]

# A container waiting for one of these will not start without a change by a person:
# fail at once rather than at the preparing timeout.
HOPELESS_WAITING = {
    "ImagePullBackOff": "Image pull failed",
    "InvalidImageName": "Image pull failed",
    "ErrImageNeverPull": "Image pull failed",
}
PREPARING_WORDS = {
    "ContainerCreating": "Creating the container",
    "PodInitializing": "Initializing the pod",
}
MAX_MESSAGE = 300
POD_CATCH_UP_SECONDS = 30


def parse_time(value: Any) -> float | None:
    """An API timestamp (RFC 3339, maybe with fractions) as a Unix time, or None."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    if "." in text:  # Python < 3.11 takes at most 6 fraction digits
        head, _, rest = text.partition(".")
        digits = "".join(c for c in rest if c.isdigit())
        text = f"{head}.{(digits + '000000')[:6]}{rest[len(digits) :]}"
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def _reason(reason: Any, message: Any) -> str:
    parts = [str(part) for part in (reason, message) if part]
    return _short(": ".join(parts))


def container_status(pod: Obj) -> Obj:
    statuses = pod.get("status", {}).get("containerStatuses") or []
    for status in statuses:
        if status.get("name") == CONTAINER_NAME:
            return dict(status)
    return dict(statuses[0]) if statuses else {}


def condition(obj: Obj, kind: str) -> Obj | None:
    for entry in obj.get("status", {}).get("conditions") or []:
        if entry.get("type") == kind:
            return dict(entry)
    return None


def started_at(pod: Obj | None) -> float | None:
    """When the job's container started running."""
    if not pod:
        return None
    state = container_status(pod).get("state") or {}
    for key in ("running", "terminated"):
        if state.get(key):
            return parse_time(state[key].get("startedAt"))
    return None


def _termination_words(terminated: Obj, exit_code: int | None) -> str:
    """The container's own last words (termination message or last log line), or a signal."""
    lines = [line for line in str(terminated.get("message") or "").splitlines() if line.strip()]
    if lines:
        return _short(lines[-1])
    if exit_code is not None and exit_code > 128:
        try:
            return f"Killed by signal {signal.Signals(exit_code - 128).name}"
        except ValueError:
            return ""
    return ""


def pod_outcome(pod: Obj, now: float) -> Outcome | None:
    """How a finished pod ended, or None while it has not."""
    status = pod.get("status", {})
    phase = status.get("phase")
    if phase not in ("Succeeded", "Failed"):
        return None
    terminated = (container_status(pod).get("state") or {}).get("terminated") or {}
    start = parse_time(terminated.get("startedAt")) or parse_time(status.get("startTime"))
    end = parse_time(terminated.get("finishedAt")) or now
    exit_code = terminated.get("exitCode")
    if phase == "Succeeded":
        return Outcome(EXITED, 0 if exit_code is None else int(exit_code), start, end)
    if status.get("reason") == "DeadlineExceeded":
        return Outcome(DEADLINE, exit_code, start, end)
    if terminated.get("reason") == "OOMKilled":
        return Outcome(OUT_OF_MEMORY, exit_code, start, end, "Out of memory (OOMKilled)")
    if exit_code is not None:
        code = int(exit_code)
        return Outcome(EXITED, code, start, end, _termination_words(terminated, code))
    # The pod failed without its container ending: evicted, node lost, ...
    why = _reason(status.get("reason"), status.get("message")) or "no reason given"
    return Outcome(VANISHED, None, start, end, f"The job's pod failed: {why}")


def job_outcome(job: Obj, now: float) -> Outcome | None:
    """How a Job ended according to its conditions (when its pod tells no more)."""
    for kind in ("Complete", "Failed"):
        entry = condition(job, kind)
        if not entry or entry.get("status") != "True":
            continue
        status = job.get("status", {})
        start = parse_time(status.get("startTime"))
        end = parse_time(status.get("completionTime")) or parse_time(
            entry.get("lastTransitionTime")
        )
        end = end or now
        if kind == "Complete":
            return Outcome(EXITED, 0, start, end)
        if entry.get("reason") == "DeadlineExceeded":
            return Outcome(DEADLINE, None, start, end)
        why = _reason(entry.get("reason"), entry.get("message")) or "no reason given"
        return Outcome(VANISHED, None, start, end, f"The Kubernetes Job failed: {why}")
    return None


def latest_warning(events: Sequence[Obj]) -> str:
    """``"Reason: message"`` of the newest Warning event, or empty."""
    warnings = [e for e in events if e.get("type") == "Warning"]
    if not warnings:
        return ""

    def when(event: Obj) -> float:
        return (
            parse_time(event.get("lastTimestamp"))
            or parse_time(event.get("eventTime"))
            or parse_time(event.get("metadata", {}).get("creationTimestamp"))
            or 0.0
        )

    newest = max(warnings, key=when)
    return _reason(newest.get("reason"), newest.get("message"))


def observe(
    job: Obj,
    pod: Obj | None,
    *,
    job_events: Sequence[Obj] = (),
    pod_events: Sequence[Obj] = (),
    now: float,
    preparing_timeout_seconds: float,
) -> Outcome | Progress | None:
    """The status of a job whose Kubernetes Job exists, or None while it is unclear."""
    if pod is not None:
        outcome = pod_outcome(pod, now)
        if outcome is not None:
            return outcome
    outcome = job_outcome(job, now)
    if outcome is not None:
        # Jobs and pods are watched apart: a failed Job's end may arrive before its pod's,
        # whose exit code, reason and message are the better answer - wait a little.
        if outcome.reason == VANISHED and now - outcome.finished_at < POD_CATCH_UP_SECONDS:
            return None
        return outcome
    if pod is None:
        problem = latest_warning(job_events)
        if problem:
            return Progress(PENDING, f"Waiting for the cluster: {problem}")
        return Progress(PENDING, "Waiting for the cluster to create the job's pod")
    state = container_status(pod).get("state") or {}
    if state.get("running"):
        return Progress(RUNNING, "", started_at(pod))
    scheduled = condition(pod, "PodScheduled")
    if not scheduled or scheduled.get("status") != "True":
        why = (scheduled or {}).get("message") or "waiting for a node"
        return Progress(PENDING, f"Waiting for resources: {_short(why)}")
    waiting = state.get("waiting") or {}
    reason, detail = waiting.get("reason") or "", waiting.get("message") or ""
    if reason in HOPELESS_WAITING:
        return Outcome(
            VANISHED, None, None, now, f"{HOPELESS_WAITING[reason]}: {_reason(reason, detail)}"
        )
    if reason in ("", "ContainerCreating", "PodInitializing"):
        # Creating the container is where volume and sandbox problems show, as events.
        words = latest_warning(pod_events) or PREPARING_WORDS.get(reason, "Starting the pod")
    else:
        words = _reason(reason, detail)
    since = parse_time(scheduled.get("lastTransitionTime")) or parse_time(
        pod.get("metadata", {}).get("creationTimestamp")
    )
    if since is not None and now - since > preparing_timeout_seconds:
        return Outcome(
            VANISHED,
            None,
            None,
            now,
            f"The job was still preparing after {human_duration(preparing_timeout_seconds)}: "
            f"{words}",
        )
    return Progress(PREPARING, words)

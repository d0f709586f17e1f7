"""A small fake Kubernetes cluster for tests: an API server over real HTTP on 127.0.0.1.

It serves what the KubernetesBackend uses - Jobs (create, get, list, watch, delete with a
propagation policy), pods (list, watch, log with follow/timestamps/sinceSeconds), events
(list, watch) and ConfigMaps (create, get; deleted with the Job that owns them) - with
resourceVersions, label and field selectors, chunked watch streams, ERROR events with 410
for compacted versions, and the API's JSON errors.

Behind it, a Job controller creates one pod per Job and a "kubelet" either runs the
container's command as a local process (``auto=True``: its output becomes the pod's log,
its exit code the container's, ``activeDeadlineSeconds`` and graceful deletion are
enforced with signals; ConfigMap volumes under the home are written into the pod's
working directory once the ConfigMap exists, read-write PVCs become a directory per claim
(``pvc_dir``), and the terminationMessagePath file becomes the termination message), or
leaves the pod to the test, which sets states by hand.

Faults for tests: ``drop_streams`` cuts every open watch and log stream mid-flight,
``pause_watches`` holds events back, ``compact`` expires old resourceVersions.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import os
import secrets
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

Obj = dict[str, Any]
KINDS = {
    "jobs": ("batch/v1", "Job"),
    "pods": ("v1", "Pod"),
    "events": ("v1", "Event"),
    "configmaps": ("v1", "ConfigMap"),
}
HOME = "/home/jovyan"  # the image's home: the pod's working directory maps to a temp dir
TERMINATION_LOG = "/dev/termination-log"


def rfc3339(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(moment))


def rfc3339_nano(ns: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ns // 10**9)) + f".{ns % 10**9:09d}Z"


def _matches_labels(obj: Obj, selector: str) -> bool:
    labels = obj.get("metadata", {}).get("labels") or {}
    for term in filter(None, selector.split(",")):
        key, _, value = term.replace("==", "=").partition("=")
        if labels.get(key.strip()) != value.strip():
            return False
    return True


def _matches_fields(obj: Obj, selector: str) -> bool:
    for term in filter(None, selector.split(",")):
        path, _, value = term.replace("==", "=").partition("=")
        current: Any = obj
        for part in path.strip().split("."):
            current = current.get(part) if isinstance(current, dict) else None
        if str(current) != value.strip():
            return False
    return True


class Dropped(Exception):
    """The test cut this stream: end it without the closing chunk."""


class FakeCluster:
    def __init__(
        self,
        *,
        auto: bool = True,
        namespace: str = "default",
        schedule_delay: float = 0.0,
        start_delay: float = 0.0,
        create_pods: bool = True,
        image_paths: dict[str, str] | None = None,
        metrics: bool = False,
    ) -> None:
        self.auto = auto
        # Serve metrics.k8s.io (as metrics-server does), from the pods' processes.
        self.metrics = metrics
        self._cpu_readings: dict[str, tuple[float, float]] = {}
        # container image -> a directory put first on the kubelet's PATH for that image's
        # commands (e.g. the tests' own Python for "python:3.12"); other images get none.
        self.image_paths = dict(image_paths or {})
        self.namespace = namespace
        self.schedule_delay = schedule_delay
        self.start_delay = start_delay
        self.create_pods = create_pods
        self.cond = threading.Condition(threading.RLock())
        self.version = 100
        self.compacted = 0
        self.store: dict[str, dict[str, Obj]] = {kind: {} for kind in KINDS}
        self.history: list[tuple[int, str, str, Obj]] = []
        self.logs: dict[str, list[tuple[int, bytes]]] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.deletions: list[tuple[str, str | None]] = []
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.homes: dict[str, Path] = {}
        self.drops = 0
        self.paused = False
        self.closing = False
        self._tmp = tempfile.TemporaryDirectory(prefix="fake-k8s-")
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    # -- plumbing ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def write_kubeconfig(self, path: Path) -> Path:
        path.write_text(
            json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Config",
                    "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
                    "users": [{"name": "tester", "user": {"token": "fake-token"}}],
                    "contexts": [
                        {
                            "name": "fake",
                            "context": {
                                "cluster": "fake",
                                "user": "tester",
                                "namespace": self.namespace,
                            },
                        }
                    ],
                    "current-context": "fake",
                }
            )
        )
        return path

    def close(self) -> None:
        with self.cond:
            self.closing = True
            self.cond.notify_all()
            processes = list(self.processes.values())
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.server.shutdown()
        self.server.server_close()
        self._tmp.cleanup()

    def requests_to(self, method: str, fragment: str = "") -> list[tuple[str, str, dict[str, str]]]:
        with self.cond:
            return [r for r in self.requests if r[0] == method and fragment in r[1]]

    # -- the store -----------------------------------------------------------------------
    def _record(self, kind: str, event: str, obj: Obj) -> None:
        """Call with the lock held: a new version of ``obj`` (or its deletion)."""
        self.version += 1
        obj["metadata"]["resourceVersion"] = str(self.version)
        if event == "DELETED":
            self.store[kind].pop(obj["metadata"]["name"], None)
        else:
            self.store[kind][obj["metadata"]["name"]] = obj
        self.history.append((self.version, kind, event, copy.deepcopy(obj)))
        self.cond.notify_all()

    def add(self, kind: str, obj: Obj) -> Obj:
        with self.cond:
            meta = obj.setdefault("metadata", {})
            meta.setdefault("namespace", self.namespace)
            meta.setdefault("uid", secrets.token_hex(8))
            meta.setdefault("creationTimestamp", rfc3339(time.time()))
            api_version, kind_name = KINDS[kind]
            obj.setdefault("apiVersion", api_version)
            obj.setdefault("kind", kind_name)
            self._record(kind, "ADDED", obj)
            return copy.deepcopy(obj)

    def get(self, kind: str, name: str) -> Obj | None:
        with self.cond:
            obj = self.store[kind].get(name)
            return copy.deepcopy(obj) if obj is not None else None

    def update(self, kind: str, name: str, change: Callable[[Obj], None]) -> Obj:
        with self.cond:
            obj = copy.deepcopy(self.store[kind][name])
            change(obj)
            self._record(kind, "MODIFIED", obj)
            return copy.deepcopy(obj)

    def remove(self, kind: str, name: str) -> None:
        with self.cond:
            obj = self.store[kind].get(name)
            if obj is not None:
                self._record(kind, "DELETED", copy.deepcopy(obj))
                self._collect_garbage(obj["metadata"]["uid"])

    def _collect_garbage(self, owner_uid: str) -> None:
        """The garbage collector: what ``owner_uid`` owned goes with it (pods excepted:
        the Job controller's deletions handle those, with their grace period)."""
        owned = [
            obj["metadata"]["name"]
            for obj in self.store["configmaps"].values()
            if any(
                ref.get("uid") == owner_uid for ref in obj["metadata"].get("ownerReferences", [])
            )
        ]
        for name in owned:
            self.remove("configmaps", name)

    def pvc_dir(self, claim: str) -> Path:
        """Where the fake keeps the files of PersistentVolumeClaim ``claim``."""
        path = Path(self._tmp.name) / "pvcs" / claim
        path.mkdir(parents=True, exist_ok=True)
        return path

    def pod_metrics(self, query: dict[str, str]) -> Obj:
        """PodMetrics of the running pods: their processes' resident memory, and the CPUs
        they used since the previous request (metrics-server's rate over its window)."""
        with self.cond:
            running = {
                name: (process.pid, copy.deepcopy(self.store["pods"].get(name)))
                for name, process in self.processes.items()
                if process.poll() is None
            }
        items = []
        now = time.monotonic()
        for name, (session, pod) in running.items():
            if pod is None or not self._selected("pods", pod, query):
                continue
            memory, cpu_seconds = _session_usage(session)
            last = self._cpu_readings.get(name)
            self._cpu_readings[name] = (now, cpu_seconds)
            cpu = (cpu_seconds - last[1]) / (now - last[0]) if last and now > last[0] else 0.0
            items.append(
                {
                    "metadata": {
                        "name": name,
                        "namespace": self.namespace,
                        "labels": pod["metadata"].get("labels", {}),
                    },
                    "window": "1s",
                    "containers": [
                        {
                            "name": "job",
                            "usage": {
                                "cpu": f"{round(cpu * 1e9)}n",
                                "memory": f"{memory // 1024}Ki",
                            },
                        }
                    ],
                }
            )
        return {"kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "items": items}

    def pods_of(self, job_name: str) -> list[Obj]:
        with self.cond:
            return [
                copy.deepcopy(p)
                for p in self.store["pods"].values()
                if p["metadata"]["labels"].get("job-name") == job_name
            ]

    def pod_of(self, job_name: str, timeout: float = 10) -> Obj:
        end = time.monotonic() + timeout
        while True:
            pods = self.pods_of(job_name)
            if pods:
                return pods[0]
            assert time.monotonic() < end, f"no pod for Job {job_name}"
            time.sleep(0.01)

    def add_event(self, kind: str, name: str, reason: str, message: str) -> Obj:
        return self.add(
            "events",
            {
                "metadata": {"name": f"{name}.{secrets.token_hex(6)}"},
                "involvedObject": {"kind": kind, "name": name, "namespace": self.namespace},
                "reason": reason,
                "message": message,
                "type": "Warning",
                "lastTimestamp": rfc3339(time.time()),
                "count": 1,
            },
        )

    # -- faults --------------------------------------------------------------------------
    def drop_streams(self) -> None:
        """Cut every open watch and log stream without a proper end."""
        with self.cond:
            self.drops += 1
            self.cond.notify_all()

    def pause_watches(self, paused: bool = True) -> None:
        with self.cond:
            self.paused = paused
            self.cond.notify_all()

    def compact(self) -> None:
        """Forget history: a watch from any version older than now gets 410 Gone."""
        with self.cond:
            self.compacted = self.version
            self.history = [entry for entry in self.history if entry[0] > self.version]

    # -- pod states (tests drive these by hand when auto=False) -----------------------------
    def set_pod(
        self,
        name: str,
        *,
        phase: str | None = None,
        scheduled: bool | str | None = None,
        state: Obj | None = None,
        reason: str | None = None,
        message: str | None = None,
    ) -> Obj:
        """Change a pod's status. ``scheduled``: True, or the scheduler's message."""

        def change(pod: Obj) -> None:
            status = pod.setdefault("status", {})
            now = rfc3339(time.time())
            if phase is not None:
                status["phase"] = phase
            if scheduled is not None:
                conditions = [
                    c for c in status.get("conditions", []) if c["type"] != "PodScheduled"
                ]
                if scheduled is True:
                    conditions.append(
                        {"type": "PodScheduled", "status": "True", "lastTransitionTime": now}
                    )
                    status.setdefault("startTime", now)
                else:
                    conditions.append(
                        {
                            "type": "PodScheduled",
                            "status": "False",
                            "reason": "Unschedulable",
                            "message": str(scheduled),
                            "lastTransitionTime": now,
                        }
                    )
                status["conditions"] = conditions
            if state is not None:
                container = pod["spec"]["containers"][0]
                status["containerStatuses"] = [
                    {
                        "name": container["name"],
                        "image": container["image"],
                        "imageID": "",
                        "ready": "running" in state,
                        "restartCount": 0,
                        "state": state,
                    }
                ]
            if reason is not None:
                status["reason"] = reason
            if message is not None:
                status["message"] = message

        return self.update("pods", name, change)

    def run_pod(self, name: str) -> Obj:
        return self.set_pod(
            name,
            phase="Running",
            scheduled=True,
            state={"running": {"startedAt": rfc3339(time.time())}},
        )

    def finish_pod(
        self,
        name: str,
        exit_code: int,
        *,
        reason: str | None = None,
        message: str = "",
        pod_reason: str | None = None,
        pod_message: str | None = None,
    ) -> Obj:
        pod = self.get("pods", name)
        assert pod is not None
        running = (container_state(pod).get("running") or {}).get("startedAt")
        terminated = {
            "exitCode": exit_code,
            "reason": reason or ("Completed" if exit_code == 0 else "Error"),
            "startedAt": running or rfc3339(time.time()),
            "finishedAt": rfc3339(time.time()),
        }
        if message:
            terminated["message"] = message
        self.set_pod(
            name,
            phase="Succeeded" if exit_code == 0 else "Failed",
            state={"terminated": terminated},
            reason=pod_reason,
            message=pod_message,
        )
        self._pod_ended(name)
        return self.get("pods", name) or {}

    def add_log(self, pod: str, text: str, at_ns: int | None = None) -> None:
        with self.cond:
            self.logs.setdefault(pod, []).append((at_ns or time.time_ns(), text.encode()))
            self.cond.notify_all()

    def log_text(self, pod: str) -> str:
        with self.cond:
            return b"".join(line for _, line in self.logs.get(pod, [])).decode()

    def create_config_map(self, body: Obj) -> Obj:
        with self.cond:
            name = body["metadata"]["name"]
            if name in self.store["configmaps"]:
                raise ApiError(409, "AlreadyExists", f'configmaps "{name}" already exists')
            body["metadata"]["namespace"] = self.namespace
            return self.add("configmaps", body)

    # -- the Job controller ----------------------------------------------------------------
    def create_job(self, body: Obj) -> Obj:
        with self.cond:
            name = body["metadata"]["name"]
            if name in self.store["jobs"]:
                raise ApiError(409, "AlreadyExists", f'jobs.batch "{name}" already exists')
            body["metadata"]["namespace"] = self.namespace
            body["metadata"]["generation"] = 1
            body["status"] = {}
            job = self.add("jobs", body)
        if self.create_pods:
            self._create_pod(job)
        return job

    def _create_pod(self, job: Obj) -> None:
        template = copy.deepcopy(job["spec"]["template"])
        job_name = job["metadata"]["name"]
        labels = {
            **template["metadata"].get("labels", {}),
            "batch.kubernetes.io/job-name": job_name,
            "job-name": job_name,
            "controller-uid": job["metadata"]["uid"],
        }
        pod = {
            "metadata": {
                "name": f"{job_name[:57]}-{secrets.token_hex(3)[:5]}",
                "labels": labels,
                "annotations": template["metadata"].get("annotations", {}),
                "ownerReferences": [
                    {
                        "apiVersion": "batch/v1",
                        "kind": "Job",
                        "name": job_name,
                        "uid": job["metadata"]["uid"],
                        "controller": True,
                    }
                ],
            },
            "spec": template["spec"],
            "status": {"phase": "Pending", "qosClass": "Guaranteed"},
        }
        pod = self.add("pods", pod)
        with self.cond:
            self.update(
                "jobs",
                job_name,
                lambda j: j["status"].update({"active": 1, "startTime": rfc3339(time.time())}),
            )
        if self.auto:
            threading.Thread(
                target=self._kubelet, args=(pod["metadata"]["name"],), daemon=True
            ).start()

    def _pod_ended(self, pod_name: str) -> None:
        """Job controller: the Job's single pod ended, so the Job did (backoffLimit 0)."""
        pod = self.get("pods", pod_name)
        if pod is None:
            return
        job_name = pod["metadata"]["labels"]["job-name"]
        succeeded = pod["status"]["phase"] == "Succeeded"
        now = rfc3339(time.time())

        def change(job: Obj) -> None:
            if job["metadata"].get("deletionTimestamp"):
                return
            status = job["status"]
            status.pop("active", None)
            status["succeeded" if succeeded else "failed"] = 1
            if succeeded:
                status["completionTime"] = now
                condition = {"type": "Complete", "status": "True", "lastTransitionTime": now}
            else:
                condition = {
                    "type": "Failed",
                    "status": "True",
                    "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                    "lastTransitionTime": now,
                }
            status["conditions"] = [*status.get("conditions", []), condition]

        with self.cond:
            if job_name in self.store["jobs"]:
                self.update("jobs", job_name, change)

    def delete_job(self, name: str, policy: str | None) -> Obj:
        with self.cond:
            job = self.get("jobs", name)
            if job is None:
                raise ApiError(404, "NotFound", f'jobs.batch "{name}" not found')
            self.deletions.append((name, policy))
            pods = [p["metadata"]["name"] for p in self.pods_of(name)]
            if policy == "Foreground" and pods:
                job = self.update(
                    "jobs",
                    name,
                    lambda j: j["metadata"].update(
                        {
                            "deletionTimestamp": rfc3339(time.time()),
                            "finalizers": ["foregroundDeletion"],
                        }
                    ),
                )
            else:
                self.remove("jobs", name)
        if policy in ("Foreground", "Background"):
            for pod in pods:
                self._delete_pod(pod, then_job=name if policy == "Foreground" else None)
        return job

    def _delete_pod(self, name: str, then_job: str | None) -> None:
        """Graceful pod deletion: SIGTERM, the grace period, SIGKILL; then the pod goes."""
        pod = self.update(
            "pods",
            name,
            lambda p: p["metadata"].update({"deletionTimestamp": rfc3339(time.time())}),
        )
        grace = pod["spec"].get("terminationGracePeriodSeconds", 30)

        def finish() -> None:
            self._stop_process(name, grace)
            self.remove("pods", name)
            with self.cond:
                if then_job and not self.pods_of(then_job):
                    self.remove("jobs", then_job)

        threading.Thread(target=finish, daemon=True).start()

    def _stop_process(self, name: str, grace: float) -> None:
        with self.cond:
            process = self.processes.get(name)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        end = time.monotonic() + 5
        while time.monotonic() < end:  # the kubelet thread records the exit
            pod = self.get("pods", name)
            if pod is None or container_state(pod).get("terminated"):
                return
            time.sleep(0.01)

    # -- the kubelet (auto mode) -------------------------------------------------------------
    def _kubelet(self, name: str) -> None:
        time.sleep(self.schedule_delay)
        pod = self.get("pods", name)
        if pod is None or pod["metadata"].get("deletionTimestamp"):
            return
        self.set_pod(name, scheduled=True, state={"waiting": {"reason": "ContainerCreating"}})
        time.sleep(self.start_delay)
        pod = self.get("pods", name)
        if pod is None or pod["metadata"].get("deletionTimestamp"):
            return
        container = pod["spec"]["containers"][0]
        home = Path(self._tmp.name) / name
        home.mkdir()
        self.homes[name] = home
        if not self._mount_volumes(pod, home):
            return
        paths = self._volume_paths(pod)
        termination_log = Path(self._tmp.name) / f"{name}.termination-log"
        termination_log.touch()
        paths[container.get("terminationMessagePath") or TERMINATION_LOG] = str(termination_log)
        if container["image"] in self.image_paths:
            # `bash -l` resets PATH from /etc/profile, then reads the home's profile: the
            # image's PATH goes there (as an image's own profile would set it).
            bin_dir = self.image_paths[container["image"]]
            (home / ".bash_profile").write_text(f'export PATH="{bin_dir}:$PATH"\n')
        env = {"PATH": os.environ.get("PATH", os.defpath)}
        env.update({e["name"]: e["value"] for e in container.get("env", [])})
        env = {key: paths.get(value, value) for key, value in env.items()}
        env["HOME"] = str(home)  # the emptyDir at /home/jovyan
        command = list(container["command"]) + list(container.get("args", []))
        for path, local in paths.items():
            command = [part.replace(path, local) for part in command]
        with self.cond:
            process = subprocess.Popen(
                command,
                cwd=home,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            self.processes[name] = process
        started = time.time()
        self.run_pod(name)
        deadline = pod["spec"].get("activeDeadlineSeconds")
        reader = threading.Thread(target=self._read_output, args=(name, process), daemon=True)
        reader.start()
        timed_out = False
        while process.poll() is None:
            if deadline is not None and time.time() - started > deadline and not timed_out:
                timed_out = True
                grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
                threading.Thread(target=self._stop_process, args=(name, grace), daemon=True).start()
            time.sleep(0.02)
        reader.join()
        code = process.returncode
        exit_code = 128 - code if code < 0 else code
        lines = self.log_text(name).splitlines()
        message = termination_log.read_text(encoding="utf-8", errors="replace")[:4096]
        if not message and exit_code:  # terminationMessagePolicy: FallbackToLogsOnError
            message = "\n".join(lines[-80:])[-2048:]
        if self.get("pods", name) is None:
            return
        if timed_out:
            self.finish_pod(
                name,
                exit_code,
                message=message,
                pod_reason="DeadlineExceeded",
                pod_message="Pod was active on the node longer than the specified deadline",
            )
        else:
            self.finish_pod(name, exit_code, message=message)

    def _mount_volumes(self, pod: Obj, home: Path) -> bool:
        """Write each ConfigMap volume mounted under the home into ``home``, waiting for
        the ConfigMap as a kubelet does; False if the pod went away meanwhile."""
        volumes = {v["name"]: v for v in pod["spec"].get("volumes", [])}
        container = pod["spec"]["containers"][0]
        for mount in container.get("volumeMounts", []):
            source = volumes[mount["name"]].get("configMap")
            claim = volumes[mount["name"]].get("persistentVolumeClaim")
            if claim is not None and mount["mountPath"].startswith(HOME + "/"):
                # A claim's subPath under the home: a link to it (the kubelet creates it).
                local = self.pvc_dir(claim["claimName"]) / mount.get("subPath", "")
                local.mkdir(parents=True, exist_ok=True)
                (home / mount["mountPath"].removeprefix(HOME + "/")).symlink_to(local)
                continue
            if source is None or not mount["mountPath"].startswith(HOME + "/"):
                continue
            while (config_map := self.get("configmaps", source["name"])) is None:
                current = self.get("pods", pod["metadata"]["name"])
                if self.closing or current is None or current["metadata"].get("deletionTimestamp"):
                    return False
                time.sleep(0.01)
            data = {key: value.encode() for key, value in config_map.get("data", {}).items()}
            data.update(
                {k: base64.b64decode(v) for k, v in config_map.get("binaryData", {}).items()}
            )
            items = source.get("items") or [{"key": key, "path": key} for key in data]
            target = home / mount["mountPath"].removeprefix(HOME + "/")
            for item in items:
                (target / item["path"]).parent.mkdir(parents=True, exist_ok=True)
                (target / item["path"]).write_bytes(data[item["key"]])
        return True

    def _volume_paths(self, pod: Obj) -> dict[str, str]:
        """Mount path -> local directory of each read-write PVC mount."""
        volumes = {v["name"]: v for v in pod["spec"].get("volumes", [])}
        paths: dict[str, str] = {}
        for mount in pod["spec"]["containers"][0].get("volumeMounts", []):
            claim = volumes[mount["name"]].get("persistentVolumeClaim")
            if mount["mountPath"].startswith(HOME + "/"):
                continue  # linked into the home by _mount_volumes
            if claim is not None and not mount.get("readOnly") and not claim.get("readOnly"):
                paths[mount["mountPath"]] = str(self.pvc_dir(claim["claimName"]))
        return paths

    def _read_output(self, name: str, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        with process.stdout:
            for line in iter(process.stdout.readline, b""):
                with self.cond:
                    self.logs.setdefault(name, []).append((time.time_ns(), line))
                    self.cond.notify_all()

    # -- HTTP --------------------------------------------------------------------------------
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        cluster = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_DELETE(self) -> None:
                self._serve("DELETE")

            def _serve(self, method: str) -> None:
                url = urlparse(self.path)
                query = {k: v[-1] for k, v in parse_qs(url.query).items()}
                with cluster.cond:
                    cluster.requests.append((method, url.path, query))
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}") if length else {}
                try:
                    cluster._route(self, method, url.path.strip("/").split("/"), query, body)
                except ApiError as error:
                    self.send_json(error.code, error.status())
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True
                except Dropped:
                    self.close_connection = True
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(socket.SHUT_RDWR)

            def send_json(self, code: int, obj: Obj) -> None:
                data = json.dumps(obj).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def start_stream(self, content_type: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()

            def chunk(self, data: bytes) -> None:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()

            def end_stream(self) -> None:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()

        return Handler

    def _route(
        self, handler: Any, method: str, parts: list[str], query: dict[str, str], body: Obj
    ) -> None:
        # /api/v1/namespaces/{ns}/{kind}[/{name}[/log]]
        # /apis/batch/v1/namespaces/{ns}/jobs[/{name}]
        if parts[:3] == ["apis", "metrics.k8s.io", "v1beta1"] and self.metrics:
            handler.send_json(200, self.pod_metrics(query))
            return
        if parts[:2] == ["api", "v1"]:
            rest = parts[2:]
        elif parts[:3] == ["apis", "batch", "v1"]:
            rest = parts[3:]
        else:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if len(rest) < 3 or rest[0] != "namespaces" or rest[2] not in KINDS:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if rest[1] != self.namespace:
            raise ApiError(403, "Forbidden", f"namespace {rest[1]} is not allowed")
        kind, name, sub = rest[2], (rest[3] if len(rest) > 3 else None), rest[4:]
        if name is None and method == "GET":
            if query.get("watch") in ("true", "1"):
                self._watch(handler, kind, query)
            else:
                handler.send_json(200, self._list(kind, query))
        elif name is None and method == "POST" and kind == "jobs":
            handler.send_json(201, self.create_job(body))
        elif name is None and method == "POST" and kind == "configmaps":
            handler.send_json(201, self.create_config_map(body))
        elif name and sub == ["log"] and method == "GET":
            self._log(handler, name, query)
        elif name and not sub and method == "GET":
            obj = self.get(kind, name)
            if obj is None:
                raise ApiError(404, "NotFound", f'{kind} "{name}" not found')
            handler.send_json(200, obj)
        elif name and not sub and method == "DELETE" and kind == "jobs":
            policy = query.get("propagationPolicy") or body.get("propagationPolicy")
            self.delete_job(name, policy)
            handler.send_json(200, {"kind": "Status", "apiVersion": "v1", "status": "Success"})
        else:
            raise ApiError(405, "MethodNotAllowed", f"{method} is not supported here")

    def _selected(self, kind: str, obj: Obj, query: dict[str, str]) -> bool:
        return _matches_labels(obj, query.get("labelSelector", "")) and _matches_fields(
            obj, query.get("fieldSelector", "")
        )

    def _list(self, kind: str, query: dict[str, str]) -> Obj:
        with self.cond:
            items = [
                copy.deepcopy(o)
                for o in self.store[kind].values()
                if self._selected(kind, o, query)
            ]
            return {
                "apiVersion": KINDS[kind][0],
                "kind": f"{KINDS[kind][1]}List",
                "metadata": {"resourceVersion": str(self.version)},
                "items": items,
            }

    def _watch(self, handler: Any, kind: str, query: dict[str, str]) -> None:
        timeout = float(query.get("timeoutSeconds") or 1800)
        end = time.monotonic() + timeout
        handler.start_stream("application/json")
        with self.cond:
            drops = self.drops
            since = query.get("resourceVersion")
            if since and int(since) < self.compacted:
                gone = {
                    "type": "ERROR",
                    "object": {
                        "kind": "Status",
                        "apiVersion": "v1",
                        "status": "Failure",
                        "message": f"too old resource version: {since} ({self.compacted})",
                        "reason": "Expired",
                        "code": 410,
                    },
                }
                handler.chunk(json.dumps(gone).encode() + b"\n")
                handler.end_stream()
                return
            cursor = int(since) if since else self.version
            pending: list[tuple[str, Obj]] = []
            if not since:
                pending = [("ADDED", copy.deepcopy(o)) for o in self.store[kind].values()]
        while True:
            for event, obj in pending:
                if self._selected(kind, obj, query):
                    handler.chunk(json.dumps({"type": event, "object": obj}).encode() + b"\n")
            with self.cond:
                while True:
                    if self.drops != drops:
                        raise Dropped
                    if self.closing or time.monotonic() >= end:
                        handler.end_stream()
                        return
                    fresh = [] if self.paused else [h for h in self.history if h[0] > cursor]
                    if fresh:
                        break
                    self.cond.wait(0.05)
                cursor = fresh[-1][0]
                pending = [(event, obj) for _, k, event, obj in fresh if k == kind]

    def _log(self, handler: Any, name: str, query: dict[str, str]) -> None:
        pod = self.get("pods", name)
        if pod is None:
            raise ApiError(404, "NotFound", f'pods "{name}" not found')
        state = container_state(pod)
        if not (state.get("running") or state.get("terminated")):
            waiting = (state.get("waiting") or {}).get("reason", "ContainerCreating")
            container = pod["spec"]["containers"][0]["name"]
            raise ApiError(
                400,
                "BadRequest",
                f'container "{container}" in pod "{name}" is waiting to start: {waiting}',
            )
        follow = query.get("follow") in ("true", "1")
        stamps = query.get("timestamps") in ("true", "1")
        since = query.get("sinceSeconds")
        start_ns = time.time_ns() - int(since) * 10**9 if since else 0
        handler.start_stream("text/plain")
        with self.cond:
            drops = self.drops
        index = 0
        while True:
            with self.cond:
                lines = self.logs.get(name, [])[index:]
                index += len(lines)
            for at_ns, line in lines:
                if at_ns >= start_ns:
                    handler.chunk((rfc3339_nano(at_ns).encode() + b" " if stamps else b"") + line)
            with self.cond:
                while True:
                    if self.drops != drops:
                        raise Dropped
                    pod = self.store["pods"].get(name)
                    more = len(self.logs.get(name, [])) > index
                    if more:
                        break
                    if (
                        not follow
                        or self.closing
                        or pod is None
                        or container_state(pod).get("terminated")
                    ):
                        handler.end_stream()
                        return
                    self.cond.wait(0.05)


def container_state(pod: Obj) -> Obj:
    statuses = pod.get("status", {}).get("containerStatuses") or [{}]
    return dict(statuses[0].get("state") or {})


def _session_usage(session: int) -> tuple[int, float]:
    """Resident bytes and CPU seconds (with waited-for children) of a session's processes."""
    page, ticks = os.sysconf("SC_PAGE_SIZE"), os.sysconf("SC_CLK_TCK")
    memory, cpu = 0, 0
    for entry in os.listdir("/proc"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            with open(f"/proc/{entry}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
            if int(fields[3]) == session and fields[0] not in (b"Z", b"X"):
                memory += int(fields[21]) * page
                cpu += sum(int(tick) for tick in fields[11:15])
    return memory, cpu / ticks


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message

    def status(self) -> Obj:
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }


def wait_for(predicate: Callable[[], Any], timeout: float = 10, what: str = "") -> Any:
    """Poll ``predicate`` until it returns something truthy (and return that)."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < end, f"timed out waiting for {what or predicate}"
        time.sleep(0.01)


def iter_history(cluster: FakeCluster, kind: str) -> Iterator[tuple[str, Obj]]:
    with cluster.cond:
        entries = list(cluster.history)
    for _, k, event, obj in entries:
        if k == kind:
            yield event, obj

"""Copy a pod's log into the job's log file while the job runs, and to its very end.

The REST layer serves logs from ``Backend.log_path`` (offsets, tails, follow), so a pump
per running job follows the container's log through the API (``follow=true``) and
appends it to that file. The file outlives the pod until log retention removes it.

Each line is requested with its timestamp (``timestamps=true``); the pump remembers the
last timestamp written and how many lines carried it, in ``log-position.json`` beside
the log. After a dropped stream or a server restart it asks again from a little before
that moment (``sinceSeconds``) and skips what it already wrote, so no line is lost or
doubled.

Servers sharing a ``data_dir`` each see the job, but only one copies its log: a pump
holds an exclusive ``flock`` on ``log-pump.lock`` in the job's directory while it copies,
and the other servers' pumps wait for it. When the holder stops (or its process dies,
and the kernel releases its lock), one of them takes the lock and resumes from the
position the holder saved. The position also records the log's length after the last
line saved, so a holder killed between writing a line and saving the position leaves
no half-copied or doubled line: the taker cuts the log back to that length first.
"""

from __future__ import annotations

import calendar
import contextlib
import fcntl
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from kubernetes.client.exceptions import ApiException

from .status import parse_time

# Ask again from this many seconds before the last line written: covers clock skew
# between this server and the node; duplicates are skipped by timestamp.
RESUME_MARGIN_SECONDS = 30
# How often a pump waiting for another server's copy tries to take over.
TAKEOVER_INTERVAL_SECONDS = 0.2
LOCK_FILE = "log-pump.lock"


def timestamp_ns(text: bytes) -> int | None:
    """``2024-05-01T12:00:00.123456789Z`` -> Unix time in nanoseconds (exact), or None."""
    try:
        value = text.decode("ascii")
    except UnicodeDecodeError:
        return None
    if value.endswith("Z") and len(value) >= 20 and value[10] == "T":
        try:
            seconds = calendar.timegm(time.strptime(value[:19], "%Y-%m-%dT%H:%M:%S"))
        except ValueError:
            return None
        fraction = value[19:-1]
        if fraction and not (fraction[0] == "." and fraction[1:].isdigit()):
            return None
        return seconds * 10**9 + int((fraction[1:] + "0" * 9)[:9] or 0)
    parsed = parse_time(value)
    return None if parsed is None else round(parsed * 10**9)


class LogPosition:
    """How far the copy got: the last timestamp written, and how many lines carried it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.last_ns = 0
        self.count = 0
        self.done = False
        self.size: int | None = None  # bytes of the log when saved (None: not recorded)
        with contextlib.suppress(FileNotFoundError, ValueError, TypeError, KeyError):
            state = json.loads(path.read_text(encoding="utf-8"))
            self.last_ns, self.count = int(state["last_ns"]), int(state["count"])
            self.done = bool(state.get("done"))
            size = state.get("size")
            self.size = int(size) if size is not None else None

    def save(self) -> None:
        state = {"last_ns": self.last_ns, "count": self.count, "done": self.done, "size": self.size}
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state), encoding="utf-8")
        temporary.replace(self.path)


class LogPump:
    """One thread copying one pod's log to a file; see the module docstring."""

    def __init__(
        self,
        *,
        job_id: str,
        pod_name: str,
        namespace: str,
        container: str,
        read_log: Callable[..., Any],
        container_finished: Callable[[], bool],
        log_path: Path,
        position_path: Path,
        request_timeout: float,
        read_timeout: float,
        max_backoff: float,
        log: logging.Logger,
    ) -> None:
        self.job_id = job_id
        self.pod_name = pod_name
        self.namespace = namespace
        self.container = container
        self.read_log = read_log
        self.container_finished = container_finished
        self.log_path = log_path
        self.position_path = position_path
        self.position = LogPosition(position_path)
        self.request_timeout = request_timeout
        self.read_timeout = read_timeout
        self.max_backoff = max_backoff
        self.log = log
        self.done = threading.Event()
        self.streams = 0
        self._stopping = threading.Event()
        self._response: Any = None
        self._thread = threading.Thread(target=self._run, name=f"jobs-log-{job_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        response = self._response
        if response is not None:
            with contextlib.suppress(Exception):
                response.shutdown()

    def join(self, timeout: float | None = None) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        delay = 0.1
        lock: IO[bytes] | None = None
        try:
            lock = self._take_over()
            if lock is not None:
                self.position = LogPosition(self.position_path)  # as the last holder left it
                self._resume_file()
            while lock is not None and not self.position.done and not self._stopping.is_set():
                finished = self.container_finished()
                try:
                    self._copy()
                except ApiException as error:
                    if error.status == 404:
                        break  # the pod is gone: what was copied is all there is
                    if error.status != 400:  # 400: the container has not started yet
                        self.log.warning("Log of job %s: %s", self.job_id, error.reason)
                except Exception as error:
                    if self._stopping.is_set():
                        break
                    self.log.info("Log stream of job %s dropped (%s); resuming", self.job_id, error)
                else:
                    if finished:
                        break  # read to the end after the container had ended
                    delay = 0.1
                self._stopping.wait(delay)
                delay = min(delay * 2, self.max_backoff)
            if lock is not None and not self._stopping.is_set():
                self.position.done = True
                self.position.save()
        except Exception:
            self.log.exception("Log pump of job %s failed", self.job_id)
        finally:
            if lock is not None:
                lock.close()  # another server's pump may take over from the saved position
            self.done.set()

    def _take_over(self) -> IO[bytes] | None:
        """The job's pump lock, once no other pump (of any server) holds it; None if
        stopped while waiting."""
        descriptor = os.open(
            self.position_path.parent / LOCK_FILE,
            os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC,
            0o600,
        )
        lock = os.fdopen(descriptor, "r+b")
        waiting = False
        while True:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                if not waiting:
                    waiting = True
                    self.log.info(
                        "Log of job %s: copied by another server; standing by", self.job_id
                    )
                if self._stopping.wait(TAKEOVER_INTERVAL_SECONDS):
                    lock.close()
                    return None
            else:
                if waiting:
                    self.log.info("Log of job %s: taking over the copy", self.job_id)
                return lock

    def _resume_file(self) -> None:
        """Cut what a holder wrote after its last saved position (it died in between)."""
        if self.position.size is None:
            return
        with contextlib.suppress(FileNotFoundError), self.log_path.open("r+b") as output:
            if output.seek(0, os.SEEK_END) > self.position.size:
                output.truncate(self.position.size)

    def _copy(self) -> None:
        """One follow stream, appended to the file from where the copy left off."""
        since: int | None = None
        if self.position.last_ns:
            since = math.ceil(time.time() - self.position.last_ns / 1e9) + RESUME_MARGIN_SECONDS
        response = self.read_log(
            self.pod_name,
            self.namespace,
            container=self.container,
            follow=True,
            timestamps=True,
            since_seconds=max(1, since) if since is not None else None,
            _request_timeout=(self.request_timeout, self.read_timeout),
            _preload_content=False,
        )
        self._response = response
        self.streams += 1
        skip_same = self.position.count if self.position.last_ns else 0
        last_ns = self.position.last_ns
        buffer = b""
        try:
            with self.log_path.open("ab") as output:
                for chunk in response.stream(amt=None, decode_content=False):
                    buffer += chunk
                    *lines, buffer = buffer.split(b"\n")
                    written = False
                    for line in lines:
                        written |= self._write(output, line, b"\n", last_ns, skip_same)
                        skip_same = self._skip_left(line, last_ns, skip_same)
                    if written:
                        output.flush()
                        self.position.size = output.tell()
                        self.position.save()
                # A clean end: an unterminated last line is complete as it is.
                if buffer and self._write(output, buffer, b"", last_ns, skip_same):
                    output.flush()
                    self.position.size = output.tell()
                    self.position.save()
        finally:
            self._response = None
            response.release_conn()

    @staticmethod
    def _split(line: bytes) -> tuple[int | None, bytes]:
        stamp, _, text = line.partition(b" ")
        ns = timestamp_ns(stamp)
        return (ns, text) if ns is not None else (None, line)

    def _skip_left(self, line: bytes, last_ns: int, skip_same: int) -> int:
        ns, _ = self._split(line)
        return skip_same - 1 if ns == last_ns and skip_same > 0 else skip_same

    def _write(self, output: Any, line: bytes, end: bytes, last_ns: int, skip_same: int) -> bool:
        """Append one line unless it was written before; True if written."""
        ns, text = self._split(line)
        if ns is not None and (ns < last_ns or (ns == last_ns and skip_same > 0)):
            return False
        output.write(text + end)
        if ns is not None:
            if ns == self.position.last_ns:
                self.position.count += 1
            else:
                self.position.last_ns, self.position.count = ns, 1
        return True

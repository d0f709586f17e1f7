"""The servers' end of the supervisors' datagrams: who sent them is checked by the kernel.

Every process of the user may send to a server's socket, the jobs included. A datagram
only says "look at job X" (a refresh, harmless) unless it carries a result: a result is
kept with the sender's pid as the kernel reports it (SO_PASSCRED), and the backend uses
it only if that pid is the job's recorded supervisor.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

MAX_DATAGRAM_BYTES = 64 * 1024
MAX_JOB_ID_LENGTH = 64
# Results waiting for their job's refresh: bounded, so that a flood of forged datagrams
# costs a bounded amount of memory.
MAX_PENDING_JOBS = 10_000
MAX_SENDERS_PER_JOB = 8
CREDENTIALS = struct.Struct("3i")  # struct ucred: pid, uid, gid


class Receiver:
    """Listens on ``<directory>/<pid>-<n>.sock``; keeps reported results by job and sender."""

    def __init__(self, directory: Path, on_change: Callable[[str], None]) -> None:
        self.directory = directory
        self.on_change = on_change
        self.results: dict[str, dict[int, Any]] = {}

    def take_result(self, job_id: str, sender: int) -> Any:
        """The result ``sender`` reported for the job, if it did (others are dropped)."""
        return self.results.pop(job_id, {}).get(sender)

    async def run(self) -> None:
        self._remove_stale_sockets()
        path = self.directory / f"{os.getpid()}-{id(self) % 10**6}.sock"
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as receiver:
            receiver.setblocking(False)
            receiver.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
            receiver.bind(str(path))
            loop.add_reader(receiver.fileno(), self._receive_all, receiver)
            try:
                await asyncio.Event().wait()
            finally:
                loop.remove_reader(receiver.fileno())
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()

    def _receive_all(self, receiver: socket.socket) -> None:
        space = socket.CMSG_SPACE(CREDENTIALS.size)
        while True:
            try:
                data, ancillary, _, _ = receiver.recvmsg(MAX_DATAGRAM_BYTES, space)
            except (BlockingIOError, InterruptedError):
                return
            sender = 0
            for level, kind, payload in ancillary:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    sender = CREDENTIALS.unpack(payload[: CREDENTIALS.size])[0]
            self._handle(data, sender)

    def _handle(self, data: bytes, sender: int) -> None:
        try:
            message = json.loads(data)
            job_id, result = message["job_id"], message.get("result")
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):
            return
        if not isinstance(job_id, str) or not 0 < len(job_id) <= MAX_JOB_ID_LENGTH:
            return
        if result is not None and sender > 0:
            senders = self.results.pop(job_id, {})  # re-inserted: the newest job goes last
            if len(senders) < MAX_SENDERS_PER_JOB:
                senders.setdefault(sender, result)
            self.results[job_id] = senders
            while len(self.results) > MAX_PENDING_JOBS:
                del self.results[next(iter(self.results))]
        self.on_change(job_id)

    def _remove_stale_sockets(self) -> None:
        """Sockets of servers that died without cleaning up refuse datagrams: remove them."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as probe:
            for path in self.directory.glob("*.sock"):
                try:
                    probe.connect(str(path))
                except ConnectionRefusedError:
                    path.unlink(missing_ok=True)
                except OSError:
                    continue

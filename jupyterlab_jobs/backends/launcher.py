"""Starting supervisors, on the supervisor's side: the direct launch (``main``) and the
resident launcher (``serve``); ``launching.py`` is the server's side.

Stdlib only: supervisor.py, run as a bare script (``python -I -S``), imports this module
and hands it ``supervise``, which becomes the job's supervisor in a forked process.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import struct
import sys
from collections.abc import Callable

# supervise(job_dir, reply) -> exit code: start the job, reply how, supervise it.
Supervise = Callable[[str, Callable[[bytes], None]], int]


def main(job_dir: str, supervise: Supervise) -> int:
    """Direct launch: fork the supervisor, relay its first line, exit (the server reaps us)."""
    reader, writer = os.pipe()
    if os.fork():
        os.close(writer)
        with os.fdopen(reader, "rb") as pipe:
            line = pipe.readline()
        sys.stdout.write(line.decode() or "error: the supervisor exited before the job started\n")
        sys.stdout.flush()
        return 0
    os.close(reader)

    def reply(line: bytes) -> None:
        os.write(writer, line)
        os.close(writer)

    return supervise(job_dir, reply)


def serve(path: str, idle_seconds: float, supervise: Supervise) -> int:
    """The launcher: a small resident process that forks a supervisor per request.

    Forking this already-started, single-threaded process takes a few milliseconds,
    against tens for starting a new Python. It answers only its own user (SO_PEERCRED),
    exits after ``idle_seconds`` without requests, and never holds a job: supervisors
    leave its session at once and outlive it.
    """
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with contextlib.suppress(FileNotFoundError):
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(path)
                sys.stdout.write("ready (already running)\n")
                return 0
            except ConnectionRefusedError:
                os.unlink(path)  # left by a launcher that died
            finally:
                probe.close()
        listener.bind(path)
        listener.listen(64)
    except OSError as error:
        sys.stdout.write(f"error: {error}\n")
        return 1
    if os.fork():
        sys.stdout.write("ready\n")
        sys.stdout.flush()
        return 0
    os.setsid()
    os.chdir("/")
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # the kernel reaps our children
    listener.settimeout(idle_seconds)
    uid = os.getuid()
    while True:
        try:
            connection, _ = listener.accept()
        except TimeoutError:
            break
        with connection:
            credentials = connection.getsockopt(
                socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")
            )
            _, peer_uid, _ = struct.unpack("3i", credentials)  # struct ucred: pid, uid, gid
            if peer_uid != uid:
                continue
            connection.settimeout(10)
            try:
                job_dir = connection.makefile("rb").readline().decode().strip()
            except (OSError, UnicodeDecodeError):
                continue
            if os.fork() == 0:
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                listener.close()
                code = 1

                def reply(line: bytes, connection: socket.socket = connection) -> None:
                    connection.sendall(line)
                    connection.close()

                try:
                    code = supervise(job_dir, reply)
                finally:
                    os._exit(code)
    with contextlib.suppress(OSError):
        if os.stat(path).st_ino == os.fstat(listener.fileno()).st_ino:
            os.unlink(path)
    return 0

"""Starting supervisors: by forking the resident launcher (a few ms) or a new Python."""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

from . import supervisor
from .base import BackendError

SUPERVISOR = Path(supervisor.__file__)
# The files the supervisor runs (the launcher of another version is another launcher).
SUPERVISOR_FILES = (
    SUPERVISOR,
    *(Path(str(module.__file__)) for module in supervisor.SCRIPT_MODULES),
)
UCRED = struct.Struct("3i")  # struct ucred: pid, uid, gid


def launcher_socket(directory: Path) -> Path:
    """One launcher per user, socket directory (so data directory) and supervisor version."""
    code = hashlib.sha256()
    for path in SUPERVISOR_FILES:
        code.update(path.read_bytes())
    return directory / f"launcher-{os.getuid()}-{code.hexdigest()[:8]}.ctl"


def run_supervisor_script(python: str, arguments: list[str], timeout: float) -> str:
    """Run supervisor.py in a new Python; its first line of output is the answer."""
    process = subprocess.run(
        [python, "-I", "-S", str(SUPERVISOR), *arguments],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        start_new_session=True,
        timeout=timeout,
        check=False,
    )
    answer = process.stdout.decode(errors="replace").strip()
    return answer or process.stderr.decode(errors="replace").strip()[-500:]


def ask_launcher(
    path: Path,
    directory: Path,
    timeout: float,
    start_launcher: Callable[[str], str],
    log: logging.Logger | logging.LoggerAdapter[logging.Logger],
) -> str | None:
    """Ask the resident launcher at ``path`` to fork a supervisor for the job in
    ``directory``; start the launcher (``start_launcher``) if none answers.

    None when no launcher can be reached: the caller then starts the supervisor script
    directly (slower, same result). Once the request is sent there is no second try: a
    supervisor that cannot deliver its answer stops its job, and the job fails.
    """
    for attempt in range(2):
        sent = False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
                connection.settimeout(timeout)
                connection.connect(str(path))
                peer = connection.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, UCRED.size)
                _, peer_uid, _ = UCRED.unpack(peer)
                if peer_uid != os.getuid():
                    raise BackendError(f"The job launcher at {path} runs as another user")
                connection.sendall(f"{directory}\n".encode())
                sent = True
                answer = connection.makefile("rb").readline().decode(errors="replace")
            return answer.strip() or "error: the supervisor exited before the job started"
        except (FileNotFoundError, ConnectionRefusedError):
            if attempt:
                break
            started = start_launcher(str(path))
            if not started.startswith("ready"):
                log.warning("Could not start the job launcher: %s", started)
                break
        except OSError as error:
            if sent:
                raise BackendError(
                    f"The job launcher did not answer ({error or 'timed out'}); "
                    "the job was not started"
                ) from None
            log.warning("The job launcher failed (%s); starting directly", error)
            break
    return None

"""A local job's processes: identify them, find all of them, signal only them.

Stdlib only: the supervisor (run as a bare script) imports this module too.

A pid alone names nothing: it is reused. A process is named by its pid, its start time
(field 22 of /proc/PID/stat, in clock ticks since boot) and the boot it belongs to. The
job's process set is its cgroup when one could be created (a job cannot leave it without
privileges), plus every process of its session, every process carrying its JOB_ID in its
environment and every descendant of those; each must run as our user and have started
no earlier than the job.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import time
from collections.abc import Iterable

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# /proc/PID/stat after the command name: 0 state, 1 ppid, 2 pgrp, 3 session, 11-14 CPU time
# (user, system, and of waited-for children), 19 start time, 21 resident pages.
STATE, PARENT, GROUP, SESSION, START, RESIDENT = 0, 1, 2, 3, 19, 21
CPU_TIMES = slice(11, 15)
MAX_ENVIRON_BYTES = 256 * 1024
CGROUP_PREFIX = "jupyterlab-job-"


def stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name, or None if there is no such pid."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].decode().split()
    except (OSError, IndexError):
        return None


def start_time(pid: int) -> str | None:
    fields = stat_fields(pid)
    return fields[START] if fields else None


@functools.cache
def boot_id() -> str:
    """This boot's random id: start times of another boot compare to nothing."""
    with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
        return handle.read().strip()


def is_process(pid: int, start: str, boot: str) -> bool:
    """True while the process recorded as (pid, start, boot) lives (zombies included)."""
    return pid > 1 and boot == boot_id() and start_time(pid) == start


def may_signal(pid: int) -> bool:
    """Never init, the kernel's threads, ourselves or our own process group."""
    return pid > 1 and pid != os.getpid() and pid != os.getpgrp()


def main_first(pids: Iterable[int], main: int) -> list[int]:
    """``pids`` with the job's main process first. A shell that traps SIGTERM must get it
    before its children die: else its ``wait`` returns and it exits without the trap."""
    return sorted(pids, key=lambda pid: pid != main)


def send(pid: int, signum: int) -> None:
    if may_signal(pid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


# -- cgroups -----------------------------------------------------------------------------
def _own_cgroup2() -> str | None:
    """The directory of this process's cgroup in the cgroup2 hierarchy, if mounted."""
    mount = None
    with contextlib.suppress(OSError), open("/proc/self/mountinfo", encoding="utf-8") as handle:
        for line in handle:
            fields = line.split()
            if " - cgroup2 " in line and len(fields) > 4:
                mount = fields[4]
                break
    if mount is None:
        return None
    with contextlib.suppress(OSError), open("/proc/self/cgroup", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("0::"):
                return os.path.normpath(mount + "/" + line[3:].strip())
    return None


def create_cgroup(job_id: str) -> str:
    """A new cgroup for the job next to ours; "" where we may not create one."""
    own = _own_cgroup2()
    if own is None or not os.access(os.path.join(own, "cgroup.procs"), os.W_OK):
        return ""
    path = os.path.join(own, CGROUP_PREFIX + job_id)
    try:
        os.mkdir(path)
    except OSError:
        return ""
    if not os.access(os.path.join(path, "cgroup.procs"), os.W_OK):
        remove_cgroup(path)
        return ""
    return path


def join_cgroup(path: str) -> None:
    """Move the calling process into the cgroup (in the job's process, before exec)."""
    if path:
        with contextlib.suppress(OSError), open(f"{path}/cgroup.procs", "w") as handle:
            handle.write(str(os.getpid()))


def cgroup_pids(path: str) -> set[int]:
    if not path:
        return set()
    try:
        with open(f"{path}/cgroup.procs", encoding="ascii") as handle:
            return {int(line) for line in handle if line.strip()}
    except OSError:
        return set()


def remove_cgroup(path: str, wait: float = 0.0) -> None:
    """Remove the (empty) cgroup, retrying for up to ``wait`` seconds while it drains."""
    end = time.monotonic() + wait
    while path:
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() >= end:
                return
            time.sleep(0.01)


def is_job_cgroup(path: str, job_id: str) -> bool:
    """A recorded cgroup path is used only if it is the job's own, by name."""
    return bool(path) and os.path.basename(path) == CGROUP_PREFIX + job_id


# -- the job's processes -----------------------------------------------------------------
def _all_processes() -> dict[int, list[str]]:
    table: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            fields = stat_fields(int(entry))
            if fields is not None:
                table[int(entry)] = fields
    return table


def _descendants(roots: set[int], table: dict[int, list[str]]) -> set[int]:
    """``roots`` and every process below them (a zombie still links its children)."""
    children: dict[int, list[int]] = {}
    for pid, fields in table.items():
        children.setdefault(int(fields[PARENT]), []).append(pid)
    found, todo = set(), list(roots)
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    return found


def supervised_processes(session: int, supervisor: int, cgroup: str) -> dict[int, int]:
    """pid -> resident bytes of every live process of the job, as its supervisor sees it.

    The job's session, its cgroup and (as a child subreaper, orphans are re-parented to
    the supervisor) the supervisor's descendants. Zombies are dead and are left out.
    """
    return {
        pid: int(fields[RESIDENT]) * PAGE_SIZE
        for pid, fields in _supervised_table(session, supervisor, cgroup).items()
    }


def supervised_usage(session: int, supervisor: int, cgroup: str) -> tuple[int, float]:
    """Resident bytes and CPU seconds (theirs and their waited-for children's) of the
    job's live processes, as its supervisor sees them."""
    table = _supervised_table(session, supervisor, cgroup)
    memory = sum(int(fields[RESIDENT]) for fields in table.values()) * PAGE_SIZE
    ticks = sum(int(tick) for fields in table.values() for tick in fields[CPU_TIMES])
    return memory, ticks / CLOCK_TICKS


def _supervised_table(session: int, supervisor: int, cgroup: str) -> dict[int, list[str]]:
    table = _all_processes()
    roots = {pid for pid, fields in table.items() if int(fields[SESSION]) == session}
    roots |= cgroup_pids(cgroup) | {supervisor}
    members = _descendants(roots, table) - {supervisor}
    return {
        pid: table[pid] for pid in members if pid in table and table[pid][STATE] not in ("Z", "X")
    }


def _has_job_id(pid: int, job_id: str) -> bool:
    marker = f"JOB_ID={job_id}".encode()
    try:
        with open(f"/proc/{pid}/environ", "rb") as handle:
            return marker in handle.read(MAX_ENVIRON_BYTES).split(b"\0")
    except OSError:
        return False


def orphaned_processes(job_id: str, job_pid: int, job_start: str, cgroup: str) -> set[int]:
    """Every live process of a job whose supervisor is gone, found by the server.

    Members of its cgroup; else candidates run as our user, started no earlier than the
    job and are in the job's session (while its leader is the job's or gone), or carry
    ``JOB_ID=<job_id>`` in their environment; plus their descendants, by the same rules.
    """
    table = _all_processes()
    uid = os.getuid()
    leader = start_time(job_pid)
    own_session = leader in (None, job_start)

    def eligible(pid: int) -> bool:
        fields = table.get(pid)
        if fields is None or fields[STATE] in ("Z", "X") or not may_signal(pid):
            return False
        with contextlib.suppress(OSError):
            return os.stat(f"/proc/{pid}").st_uid == uid and int(fields[START]) >= int(job_start)
        return False

    roots = cgroup_pids(cgroup)
    for pid, fields in table.items():
        in_session = own_session and int(fields[SESSION]) == job_pid
        if eligible(pid) and (in_session or _has_job_id(pid, job_id)):
            roots.add(pid)
    return {pid for pid in _descendants(roots, table) if eligible(pid)}


def kill_orphans(job_id: str, job_pid: int, job_start: str, cgroup: str) -> None:
    """SIGKILL the job's processes until none is left (a fork racing the kill included)."""
    for _ in range(100):
        members = orphaned_processes(job_id, job_pid, job_start, cgroup)
        if not members:
            break
        for pid in members:
            send(pid, signal.SIGKILL)
        time.sleep(0.01)
    remove_cgroup(cgroup, wait=1.0)

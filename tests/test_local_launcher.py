"""How the local backend starts supervisors: through its resident launcher, over a socket
in a directory only our user can use.

The data directory here is deep, so the sockets go to the short directory outside it
($XDG_RUNTIME_DIR, else /tmp) that another local user could try to take first.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from traitlets.config import Config

from jupyterlab_jobs.backends import launching, procs, supervisor
from jupyterlab_jobs.backends.local import LocalBackend

pytestmark = pytest.mark.unprivileged


@pytest.fixture
def socket_dir_problem() -> str:
    """Parametrized: how the socket directory is prepared before the server starts."""
    return ""


@pytest.fixture
def launcher_settings() -> dict[str, Any]:
    return {}


@pytest.fixture
def socket_dir(
    tmp_path: Path, socket_dir_problem: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Path]:
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    data_dir = tmp_path / ("deep-" * 20)
    path = LocalBackend(data_dir=str(data_dir)).notify_dir
    assert path.parent == Path(tempfile.gettempdir())
    if socket_dir_problem == "open to others":
        path.mkdir(mode=0o700)
        path.chmod(0o755)
    elif socket_dir_problem == "a symlink":
        path.symlink_to(tmp_path)
    elif socket_dir_problem == "another user's":
        if os.getuid() != 0:
            pytest.skip("only root can make a directory another user's")
        path.mkdir(mode=0o700)
        os.chown(path, 65534, 65534)
    yield path
    if path.is_symlink():
        path.unlink()
    else:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def jobs_settings(
    tmp_path: Path, socket_dir: Path, launcher_settings: dict[str, Any]
) -> dict[str, Any]:
    return {
        "JobsApp": {"data_dir": str(tmp_path / ("deep-" * 20))},
        "LocalBackend": launcher_settings,
    }


async def test_jobs_start_through_the_launcher(api: Any, jobs_app: Any, socket_dir: Path) -> None:
    jobs = [await api.submit(f"echo {index}") for index in range(3)]
    for job in jobs:
        assert (await api.wait(job["id"]))["status"] == "Succeeded"
    assert jobs_app.backend.direct_starts == 0, "the launcher refused us: the slow path ran"
    assert oct(socket_dir.lstat().st_mode & 0o777) == oct(0o700)
    assert any(socket_dir.glob("launcher-*.ctl"))


@pytest.mark.parametrize("launcher_settings", [{"launch_timeout_seconds": 1.0}])
async def test_a_launcher_that_does_not_answer_never_starts_the_job_twice(
    api: Any, jobs_app: Any, socket_dir: Path
) -> None:
    """A launcher that took the request but hangs: the job fails, with no second start."""
    socket_dir.mkdir(mode=0o700, exist_ok=True)
    hung = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    hung.bind(str(jobs_app.backend.launcher_socket))
    hung.listen(1)
    accepted: list[socket.socket] = []
    thread = threading.Thread(target=lambda: accepted.append(hung.accept()[0]), daemon=True)
    thread.start()
    try:
        job = await api.submit("echo ran >> research/ran")
        done = await api.wait(job["id"])
    finally:
        thread.join(5)
        for connection in accepted:
            connection.close()
        hung.close()
    assert done["status"] == "Failed"
    assert "launcher did not answer" in done["message"]
    assert "not started" in done["message"]
    assert jobs_app.backend.direct_starts == 0
    time.sleep(0.5)
    assert not (Path(jobs_app.backend.projects) / "research" / "ran").exists()


@pytest.mark.parametrize("socket_dir_problem", ["open to others", "a symlink", "another user's"])
async def test_a_socket_directory_others_could_use_is_refused(
    api: Any, socket_dir: Path, socket_dir_problem: str
) -> None:
    job = await api.submit("echo never")
    done = await api.wait(job["id"])
    assert done["status"] == "Failed"
    assert f"Refusing to use {socket_dir}" in done["message"]
    expected = {
        "open to others": "is open to other users (mode 755)",
        "a symlink": "is a symbolic link",
        "another user's": "belongs to another user (uid 65534)",
    }
    assert expected[socket_dir_problem] in done["message"]
    assert await api.logs(job["id"]) == ""


def test_sockets_go_to_the_private_runtime_directory_when_there_is_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = Path(tempfile.mkdtemp(prefix="xdg-"))
    try:
        monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
        backend = LocalBackend(data_dir=str(tmp_path / ("deep-" * 20)))
        assert backend.notify_dir.parent == runtime
        assert backend.notify_dir.name.startswith(f"jupyterlab-jobs-{os.getuid()}-")
        shallow = LocalBackend(data_dir=str(tmp_path / "shallow"))
        assert shallow.notify_dir == tmp_path / "shallow" / "notify"
    finally:
        shutil.rmtree(runtime)


def test_sockets_go_to_slash_tmp_when_the_temporary_directory_is_too_deep(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep_tmp = tmp_path / ("tmp-" * 20)
    deep_tmp.mkdir()
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(deep_tmp))  # as TMPDIR=<deep_tmp>
    backend = LocalBackend(data_dir=str(tmp_path / ("deep-" * 20)))
    assert backend.notify_dir.parent == Path("/tmp")
    assert len(str(backend.launcher_socket)) < 108  # a socket path that fits sockaddr_un


def job_spec(tmp_path: Path, ran: Path, **extra: Any) -> Path:
    """A job directory with a spec whose command creates ``ran``."""
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    spec = {
        "job_id": "lost-answer",
        "command": f"echo ran > {ran}",
        "shell": "/bin/sh",
        "env": {"PATH": os.defpath, "JOB_ID": "lost-answer"},
        "home": str(job_dir / "home"),
        "links": {},
        "files": {},
        "cpus": [],
        "memory_bytes": 0,
        "max_runtime_seconds": 60,
        "grace_seconds": 1,
        "notify_dir": str(tmp_path),
        **extra,
    }
    (job_dir / "spec.json").write_text(json.dumps(spec))
    return job_dir


def supervise_in_child(job_dir: Path, reply: Any) -> int:
    """supervise() in a forked child (it starts a session of its own); its exit code."""
    pid = os.fork()
    if pid == 0:
        code = 2
        try:
            code = supervisor.supervise(str(job_dir), reply)
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_a_supervisor_whose_answer_is_lost_never_runs_the_job(tmp_path: Path) -> None:
    """The server gave up waiting for the answer (it closed the connection): the job must
    not run, or it would run with no server knowing of it."""
    ran = tmp_path / "ran"
    job_dir = job_spec(tmp_path, ran)

    def lost(line: bytes) -> None:
        raise BrokenPipeError(32, "the server closed the connection")

    assert supervise_in_child(job_dir, lost) == 1
    time.sleep(0.3)
    assert not ran.exists()
    assert not (job_dir / "home").exists()


def test_a_job_whose_record_was_never_stored_never_runs(tmp_path: Path) -> None:
    """The server got the answer but died before its store had the record (a replica
    SIGKILLed mid-start): the job must not run, since the server that takes over will call
    it never started."""
    ran = tmp_path / "ran"
    job_dir = job_spec(tmp_path, ran, record_deadline=time.time() + 0.5)
    assert supervise_in_child(job_dir, lambda line: None) == 1
    time.sleep(0.3)
    assert not ran.exists()
    assert not (job_dir / "home").exists()


def test_a_job_runs_once_the_server_stored_its_record(tmp_path: Path) -> None:
    ran = tmp_path / "ran"
    job_dir = job_spec(tmp_path, ran, record_deadline=time.time() + 30)

    def delivered(line: bytes) -> None:
        assert line.startswith(b"ok ")
        (job_dir / supervisor.RECORDED).touch()  # what the server does once it stored it

    assert supervise_in_child(job_dir, delivered) == 0
    assert ran.read_text() == "ran\n"


def test_settings_of_the_local_backend_stay_c_local_backend(tmp_path: Path) -> None:
    """The settings live on LocalSettings and OwnerAccounts; configured as LocalBackend."""
    traits = LocalBackend.class_traits(config=True)
    assert {"max_concurrent_jobs", "usage_interval_seconds", "run_as_owner"} <= set(traits)
    for name, trait in traits.items():
        assert len(trait.help) > 20, f"{name} needs help="
    settings = {
        "max_concurrent_jobs": 7,
        "cpu_capacity": 1.5,
        "gpus": ["3"],
        "grace_seconds": 0.5,
        "usage_interval_seconds": 0.25,
        "owner_account_template": "jupyter-{user}",
    }
    backend = LocalBackend(config=Config({"LocalBackend": settings}), data_dir=str(tmp_path))
    assert {name: getattr(backend, name) for name in settings} == settings


def test_the_launcher_is_named_after_every_file_the_supervisor_script_runs() -> None:
    """A launcher forks supervisors from the code it loaded at its start: its socket's name
    must change with every file of that code, or a launcher of an older version serves."""
    script = Path(supervisor.__file__)
    loaded = subprocess.run(
        [
            sys.executable,
            "-I",
            "-S",
            "-c",
            "import runpy, sys; runpy.run_path(sys.argv[1], run_name='loaded'); "
            "print(*(getattr(m, '__file__', '') for m in list(sys.modules.values())), sep=chr(10))",
            str(script),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    siblings = {Path(name) for name in loaded if Path(name).parent == script.parent}
    assert siblings, "the script loaded none of its sibling modules"
    assert siblings | {script} == set(launching.SUPERVISOR_FILES)


def trap_ran(order: str) -> bool:
    """A shell that traps SIGTERM and waits for its child; both get SIGTERM, 20 ms apart
    (a supervisor descheduled between two signals), in ``order``. Did the trap run?"""
    with subprocess.Popen(
        ["bash", "-c", "trap 'echo trapped; exit 0' TERM; echo ready; sleep 60 & wait"],
        stdout=subprocess.PIPE,
        start_new_session=True,
    ) as shell:
        assert shell.stdout is not None and shell.stdout.readline() == b"ready\n"
        children = Path(f"/proc/{shell.pid}/task/{shell.pid}/children")
        while not children.read_text().split():
            time.sleep(0.001)
        pids = [shell.pid, *map(int, children.read_text().split())]
        if order == "children first":
            pids.reverse()
        else:
            pids = procs.main_first(reversed(pids), shell.pid)
        for pid in pids:
            os.kill(pid, signal.SIGTERM)
            time.sleep(0.02)
        return shell.stdout.read() == b"trapped\n"


def test_sigterm_reaches_the_jobs_main_process_before_its_children() -> None:
    """Why the supervisor signals the main process first: a child that dies first lets the
    shell's `wait` return, and the shell exits without running its SIGTERM trap."""
    assert not trap_ran("children first")
    assert all(trap_ran("main first") for _ in range(5))

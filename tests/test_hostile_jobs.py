"""Jobs that attack the local backend: each attack runs as a real job through the REST API
of a real server (in a session of its own, so a server that signals its own process
group would not take the test runner with it).

After each attack: the server is up and answers, none of its secrets is in any field or
log of the job, the job ended in the right status with a clear message, no process of
the job is left, and the capacity is free again (one slot: a new job runs).
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import server_config
from server_process import ServerProcess
from test_lifecycle import alive

pytestmark = pytest.mark.unprivileged

FINAL = {"Succeeded", "Failed", "Cancelled"}
SECRET = f"server-secret-{secrets.token_hex(8)}"


def marker() -> str:
    """A unique `sleep` duration: every process of the job that carries it is found in
    /proc by its command line."""
    return f"3000.{secrets.randbelow(10**6):06d}"


def processes_with(text: str) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            except OSError:
                continue
            if text.encode() in cmdline and alive(int(entry)):
                found.append(int(entry))
    return found


class Hostile:
    """A server with one job slot, and the checks every attack ends with."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.data_dir = Path(server.config["JobsApp"]["data_dir"])

    def submit(self, command: str, **fields: Any) -> dict[str, Any]:
        body = {"name": "attack", "group": "research", "instance_type": "cpu-half"}
        body.update(image="python", command=command, **fields)
        return self.server.call("POST", "jobs", body, expect=201)  # type: ignore[no-any-return]

    def wait(self, job_id: str, statuses: set[str] = FINAL, timeout: float = 20) -> Any:
        return self.server.wait(job_id, statuses, timeout=timeout)

    def supervisor_of(self, job_id: str) -> int:
        """The supervisor's pid from its own informational state file (not forged here)."""
        end = time.monotonic() + 10
        path = self.data_dir / "jobs" / job_id / "state.json"
        while not path.exists():
            assert time.monotonic() < end
            time.sleep(0.02)
        return int(json.loads(path.read_text())["supervisor_pid"])

    def assert_harmless(self, job: dict[str, Any], sleep_marker: str) -> None:
        assert self.server.process is not None and self.server.process.poll() is None
        job = self.server.call("GET", f"jobs/{job['id']}")
        logs = self.server.call("GET", f"jobs/{job['id']}/logs")
        seen = json.dumps(job) + str(logs)
        assert SECRET not in seen
        leaked = [f"{k}={v}" for k, v in os.environ.items() if len(v) > 3 and f"{k}={v}" in seen]
        assert leaked == [], f"the server's environment reached the job: {leaked}"
        end = time.monotonic() + 2
        while processes_with(sleep_marker):
            assert time.monotonic() < end, f"left behind: {processes_with(sleep_marker)}"
            time.sleep(0.05)
        after = self.submit("echo capacity is free", name="after")
        assert self.wait(after["id"])["status"] == "Succeeded"
        assert "Traceback" not in self.server.log_tail()


@pytest.fixture
def job_limits() -> dict[str, Any]:
    """JobsApp settings of the server (parametrized for the deadline)."""
    return {}


@pytest.fixture
def hostile(tmp_path: Path, job_limits: dict[str, Any]) -> Iterator[Hostile]:
    config = server_config(tmp_path, **job_limits)
    config["LocalBackend"].update(max_concurrent_jobs=1, unresponsive_supervisor_seconds=1.0)
    server = ServerProcess(
        tmp_path, config, name="hostile", extra_env={"JOBS_TEST_SECRET": SECRET}, own_session=True
    )
    server.start()
    yield Hostile(server)
    server.stop()


@pytest.fixture
def bystander_factory() -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Starts processes of our user that no job owns, each leading its own session."""
    started: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        started.append(subprocess.Popen(["sleep", "300"], start_new_session=True))
        return started[-1]

    yield start
    for process in started:
        process.kill()
        process.wait()


@pytest.fixture
def bystander(bystander_factory: Callable[[], subprocess.Popen[bytes]]) -> subprocess.Popen[bytes]:
    return bystander_factory()


@pytest.mark.parametrize("job_pid", ["0", "-1", '"x"', "bystander"])
def test_a_forged_state_file_signals_nothing(
    hostile: Hostile, bystander: subprocess.Popen[bytes], job_pid: str
) -> None:
    forged = str(bystander.pid) if job_pid == "bystander" else job_pid
    sleep = marker()
    state = f'{{"supervisor_pid": 1, "supervisor_start": "forged", "job_pid": {forged}}}'
    # Forged once the supervisor wrote its own, while it runs (the server reconciles every
    # 0.5 s), then the supervisor is killed: the server must clean up by what it recorded.
    job = hostile.submit(
        f"sleep 0.5; echo '{state}' > \"${{TERMINATION_MESSAGE_PATH%/*}}/state.json\"; "
        f"sleep 1.5; kill -9 $PPID; sleep {sleep}"
    )
    done = hostile.wait(job["id"])
    assert done["status"] == "Failed"
    assert "supervisor process vanished" in done["message"]
    assert alive(bystander.pid), "a process that is not the job's was signalled"
    hostile.assert_harmless(done, sleep)


@pytest.mark.parametrize(
    "plant",
    [
        pytest.param('ln -sf /proc/self/environ "$TERMINATION_MESSAGE_PATH"', id="environ"),
        pytest.param('ln -sf /dev/zero "$TERMINATION_MESSAGE_PATH"', id="dev-zero"),
        pytest.param('mkfifo "$TERMINATION_MESSAGE_PATH"', id="fifo"),
    ],
)
def test_a_planted_termination_message_is_not_read(hostile: Hostile, plant: str) -> None:
    job = hostile.submit(f"{plant}; exit 3")
    done = hostile.wait(job["id"])
    assert (done["status"], done["exit_code"]) == ("Failed", 3)
    assert done["message"].startswith("The job's termination message was ignored: ")
    assert done["message"].endswith("(exit code 3)")
    assert "symbolic link" in done["message"] or "not a regular file" in done["message"]
    hostile.assert_harmless(done, "never-there")


def test_a_long_termination_message_is_cut(hostile: Hostile) -> None:
    job = hostile.submit(
        'head -c 100000 /dev/zero | tr "\\0" x > "$TERMINATION_MESSAGE_PATH"; exit 1'
    )
    done = hostile.wait(job["id"])
    assert done["message"] == "x" * 1000 + " (exit code 1)"


@pytest.mark.parametrize(
    ("plant", "problem"),
    [
        pytest.param("ln -sf /proc/self/environ", "result.json is a symbolic link", id="environ"),
        pytest.param("mkfifo", "result.json is not a regular file", id="fifo"),
        pytest.param(
            """echo '{"reason": "exited", "exit_code": "0", "finished_at": 1}' >""",
            "its result file is malformed",
            id="malformed",
        ),
    ],
)
def test_a_result_file_planted_before_killing_the_supervisor_is_checked(
    hostile: Hostile, plant: str, problem: str
) -> None:
    sleep = marker()
    job = hostile.submit(
        f'{plant} "${{TERMINATION_MESSAGE_PATH%/*}}/result.json"; kill -9 $PPID; sleep {sleep}'
    )
    done = hostile.wait(job["id"])
    assert done["status"] == "Failed"
    assert done["message"].startswith("The job's supervisor process vanished")
    assert problem in done["message"]
    hostile.assert_harmless(done, sleep)


# The job stops its supervisor again and again, ignoring SIGTERM itself.
RESTOPPER = "trap '' TERM; (while :; do kill -STOP $PPID; sleep 0.05; done) & sleep {sleep}"


def test_cancel_works_while_the_job_stops_its_supervisor(hostile: Hostile) -> None:
    sleep = marker()
    job = hostile.submit(RESTOPPER.format(sleep=sleep))
    hostile.wait(job["id"], {"Running"})
    supervisor = hostile.supervisor_of(job["id"])
    end = time.monotonic() + 10
    while Path(f"/proc/{supervisor}/stat").read_text().rsplit(")", 1)[1].split()[0] != "T":
        assert time.monotonic() < end, "the job never stopped its supervisor"
        time.sleep(0.02)
    started = time.monotonic()
    hostile.server.call("POST", f"jobs/{job['id']}/cancel")
    done = hostile.wait(job["id"])
    assert (done["status"], done["message"]) == ("Cancelled", "Cancelled by alice")
    assert time.monotonic() - started < 8
    assert not alive(supervisor)
    hostile.assert_harmless(done, sleep)


def test_a_job_that_stops_its_supervisor_first_thing_is_known_and_cancelled(
    hostile: Hostile,
) -> None:
    """The job runs only once the server has its record: the start never hangs."""
    sleep = marker()
    started = time.monotonic()
    job = hostile.submit(f"kill -STOP $PPID; sleep {sleep}")
    assert time.monotonic() - started < 5
    assert job["status"] == "Running"
    hostile.server.call("POST", f"jobs/{job['id']}/cancel")
    done = hostile.wait(job["id"])
    assert (done["status"], done["message"]) == ("Cancelled", "Cancelled by alice")
    hostile.assert_harmless(done, sleep)


@pytest.mark.parametrize("job_limits", [{"max_runtime_seconds": 2}])
def test_the_deadline_holds_while_the_job_stops_its_supervisor(hostile: Hostile) -> None:
    sleep = marker()
    job = hostile.submit(RESTOPPER.format(sleep=sleep))
    done = hostile.wait(job["id"], timeout=20)
    assert (done["status"], done["message"]) == ("Failed", "Exceeded the maximum run time of 2s")
    hostile.assert_harmless(done, sleep)


FORGE_RESULT = """
import glob, json, os, socket, time
job_dir = os.path.dirname(os.environ["TERMINATION_MESSAGE_PATH"])
result = {"reason": "exited", "exit_code": 0, "signal": "", "detail": "",
          "started_at": time.time(), "finished_at": time.time()}
with open(os.path.join(job_dir, "result.json"), "w") as handle:
    json.dump(result, handle)
job_id = os.environ["JOB_ID"]
sender = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
notify_dir = os.path.normpath(os.path.join(job_dir, "..", "..", "notify"))
for path in glob.glob(os.path.join(notify_dir, "*.sock")):
    for message in (job_id, json.dumps({"job_id": job_id, "result": result})):
        sender.sendto(message.encode(), path)
print("forged")
"""


def test_a_forged_result_does_not_end_a_running_job(hostile: Hostile) -> None:
    sleep = marker()
    job = hostile.submit(f"python3 -c '{FORGE_RESULT}'; sleep {sleep}")
    hostile.wait(job["id"], {"Running"})
    end = time.monotonic() + 10
    while "forged" not in (logs := hostile.server.call("GET", f"jobs/{job['id']}/logs")):
        assert time.monotonic() < end, logs
        time.sleep(0.05)
    time.sleep(1.5)  # three reconciles
    assert hostile.server.call("GET", f"jobs/{job['id']}")["status"] == "Running"
    waiting = hostile.submit("true", name="waiting")
    assert waiting["status"] == "Pending", "the forged result must not free the job's slot"
    hostile.server.call("POST", f"jobs/{job['id']}/cancel")
    done = hostile.wait(job["id"])
    assert done["status"] == "Cancelled"
    assert hostile.wait(waiting["id"])["status"] == "Succeeded"
    hostile.assert_harmless(done, sleep)


def test_an_escaped_process_dies_with_a_killed_supervisor(hostile: Hostile) -> None:
    sleep = marker()
    job = hostile.submit(f"setsid sleep {sleep} & sleep 0.2; kill -9 $PPID; sleep {sleep}")
    done = hostile.wait(job["id"])
    assert done["status"] == "Failed"
    assert "supervisor process vanished" in done["message"]
    hostile.assert_harmless(done, sleep)


async def test_a_recorded_pid_now_of_another_process_is_not_signalled(
    api: Any, jobs_app: Any, bystander_factory: Any, request: pytest.FixtureRequest
) -> None:
    """After a machine restart (or a wrap-around) the recorded pids may be another's."""
    sleep = marker()
    job = await api.submit(f"echo started; sleep {sleep}")
    await api.wait(job["id"], {"Running"})
    end = time.monotonic() + 10
    while "started" not in await api.logs(job["id"]):  # it runs: its JOB_ID is in /proc
        assert time.monotonic() < end
        await asyncio.sleep(0.02)
    other = bystander_factory()  # started after the job, leads its own session
    store = jobs_app.service.store
    state = json.loads(store.get(job["id"]).backend_state)
    # As after a restart, the real supervisor does nothing any more: stopped before the
    # record changes, and again after (a reconcile in between wakes a stopped supervisor).
    os.kill(state["supervisor_pid"], signal.SIGSTOP)
    request.addfinalizer(lambda: os.kill(state["supervisor_pid"], signal.SIGKILL))
    reused = {"supervisor_pid": other.pid, "supervisor_start": "1", "job_pid": other.pid}
    store.update(job["id"], backend_state=json.dumps({**state, **reused, "job_start": "1"}))
    os.kill(state["supervisor_pid"], signal.SIGSTOP)
    # Older versions read the state file: make it say the same.
    job_dir = Path(jobs_app.data_dir) / "jobs" / job["id"]
    (job_dir / "state.json").write_text(json.dumps({**reused, "started_at": state["started_at"]}))
    done = await api.wait(job["id"])
    assert done["status"] == "Failed" and "supervisor process vanished" in done["message"]
    assert alive(other.pid), "the process that reused the pid was signalled"
    assert processes_with(sleep) == [], "the job's own processes are still found and killed"


async def test_a_symlinked_group_directory_is_refused(api: Any, jobs_app: Any) -> None:
    projects = Path(jobs_app.backend.projects)
    (projects / "research").mkdir(parents=True)
    (projects / "ops").symlink_to(projects / "research")  # as a research job could do
    job = await api.submit("echo planted > ops/planted", group="ops", image="base")
    done = await api.wait(job["id"])
    assert done["status"] == "Failed"
    assert "directory of group 'ops'" in done["message"]
    assert "is a symbolic link" in done["message"]
    assert not (projects / "research" / "planted").exists()
    assert (projects / "ops").is_symlink(), "left for an administrator to look at"


async def test_a_new_group_directory_is_closed_to_other_users(api: Any, jobs_app: Any) -> None:
    job = await api.submit("echo kept > research/kept")
    assert (await api.wait(job["id"]))["status"] == "Succeeded"
    info = (Path(jobs_app.backend.projects) / "research").lstat()
    assert oct(info.st_mode & 0o7777) == oct(0o2770)
    assert info.st_uid == os.getuid()

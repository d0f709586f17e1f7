"""`jupyter jobs`: the command line against a real server."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import server_config
from server_process import REPO, TOKEN, ServerProcess

from jupyterlab_jobs.store import Store, migrate

FIXTURES = Path(__file__).parent / "fixtures"
# Processes, files and sockets: also run as an account whose uid differs from its gid.
pytestmark = pytest.mark.unprivileged


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(tmp_path, server_config(tmp_path)).start()
    yield process
    process.stop()


def cli(server: ServerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyterlab_jobs.cli",
            "--url",
            server.url.rsplit("/jupyterlab-jobs/")[0],
            "--token",
            TOKEN,
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )


def submit(
    server: ServerProcess, group: str, *args: str, image: str = "base"
) -> subprocess.CompletedProcess[str]:
    """`jupyter jobs submit` to ``group`` on the cpu-half instance type."""
    return cli(
        server, "submit", "--group", group, "--instance-type", "cpu-half", "--image", image, *args
    )


def test_submit_follow_list_show_logs_rerun_cancel(server: ServerProcess) -> None:
    run = submit(
        server,
        "research",
        "--name",
        "from the cli",
        "--command",
        "echo one; echo two",
        "--follow",
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("Submitted job ")
    assert run.stdout.endswith("one\ntwo\n")
    job_id = run.stdout.split()[2]

    listed = cli(server, "list", "--mine")
    assert listed.returncode == 0
    assert "from the cli" in listed.stdout and "Succeeded" in listed.stdout

    shown = json.loads(cli(server, "show", job_id).stdout)
    assert shown["status"] == "Succeeded" and shown["exit_code"] == 0

    assert cli(server, "logs", job_id, "--tail", "1").stdout == "two\n"

    rerun = cli(server, "--json", "rerun", job_id)
    assert json.loads(rerun.stdout)["rerun_of"] == job_id

    failing = submit(server, "ops", "--command", "exit 4", "--follow")
    assert failing.returncode == 1


def test_errors_are_messages_and_exit_code_1(server: ServerProcess) -> None:
    denied = submit(server, "secret", "--command", "true")
    assert denied.returncode == 1
    assert "not a member of group 'secret'" in denied.stderr
    unknown = cli(server, "cancel", "nope")
    assert unknown.returncode == 1 and "No job with id 'nope'" in unknown.stderr
    bad = submit(server, "research", "--notebook", "x.ipynb", "-p", "novalue", image="python")
    assert bad.returncode == 1 and "not name=value" in bad.stderr
    unreachable = subprocess.run(
        [sys.executable, "-m", "jupyterlab_jobs.cli", "--url", "http://127.0.0.1:9", "list"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
    )
    assert unreachable.returncode == 1 and "Cannot reach" in unreachable.stderr


def test_schedules_create_list_show_pause_resume_run_delete(server: ServerProcess) -> None:
    created = cli(
        server,
        *("schedules", "create", "--name", "nightly", "--group", "research"),
        *("--cron", "0 4 * * 1-5", "--timezone", "Europe/Berlin"),
        *("--instance-type", "cpu-half", "--image", "base", "--command", "echo hi"),
    )
    assert created.returncode == 0, created.stderr
    assert "At 04:00, Monday through Friday" in created.stdout
    schedule_id = created.stdout.split()[2].rstrip(":")
    listed = cli(server, "schedules", "list", "--mine")
    assert schedule_id in listed.stdout and "Active" in listed.stdout
    assert "(Europe/Berlin)" in listed.stdout
    paused = cli(server, "schedules", "pause", schedule_id)
    assert "Paused" in paused.stdout
    assert "Active" in cli(server, "schedules", "resume", schedule_id).stdout
    ran = cli(server, "--json", "schedules", "run", schedule_id)
    job = json.loads(ran.stdout)
    assert job["schedule"] == {"id": schedule_id, "name": "nightly"}
    shown = cli(server, "schedules", "show", schedule_id)
    assert job["id"] in shown.stdout
    deleted = cli(server, "schedules", "delete", schedule_id)
    assert deleted.returncode == 0 and "its jobs stay" in deleted.stdout
    gone = cli(server, "schedules", "show", schedule_id)
    assert gone.returncode == 1 and "No schedule with id" in gone.stderr
    bad = cli(
        server,
        *("schedules", "create", "--name", "never", "--group", "research"),
        *("--cron", "0 0 31 2 *", "--instance-type", "cpu-half", "--image", "base"),
        *("--command", "true"),
    )
    assert bad.returncode == 1 and "never fires" in bad.stderr


def upgrade_db(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "jupyterlab_jobs.cli", "upgrade-db", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
        env={**os.environ, **(env or {})},
    )


def test_upgrade_db_migrates_the_configured_database_once(tmp_path: Path) -> None:
    """Like `jupyterhub upgrade-db`: c.JobsApp.data_dir (or db_url) from the config files."""
    data_dir = tmp_path / "jobs-data"
    data_dir.mkdir()
    shutil.copy(FIXTURES / "jobs-schema-v3.sqlite", data_dir / "jobs.sqlite")
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / "jupyter_server_config.json").write_text(
        json.dumps({"JobsApp": {"data_dir": str(data_dir)}})
    )
    env = {"JUPYTER_CONFIG_DIR": str(config_dir)}
    first = upgrade_db(env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout == (
        f"Upgraded the jobs database sqlite:///{data_dir}/jobs.sqlite from no revision to "
        f"{migrate.head()}\n"
    )
    again = upgrade_db(env=env)
    assert again.stdout.endswith(f"is up to date (revision {migrate.head()})\n")
    store = Store(data_dir / "jobs.sqlite")
    assert store.count() == 18
    store.close()


def test_upgrade_db_refuses_a_newer_database_and_hides_passwords(tmp_path: Path) -> None:
    database = tmp_path / "jobs.sqlite"
    Store(database).close()
    with sqlite3.connect(database) as db:
        db.execute("UPDATE alembic_version SET version_num = 'f00d'")
    db.close()
    newer = upgrade_db("--db-url", f"sqlite:///{database}")
    assert newer.returncode == 1
    assert "schema revision f00d, newer than this jupyterlab-jobs" in newer.stderr
    unreachable = upgrade_db("--db-url", "postgresql+psycopg://jobs:hunter2-pw@127.0.0.1:1/x")
    assert unreachable.returncode == 1
    assert unreachable.stderr.startswith(
        "jupyter jobs: Cannot use the jobs database "
        "postgresql+psycopg://jobs:***@127.0.0.1:1/x: connection failed"
    ), unreachable.stderr
    assert "hunter2-pw" not in unreachable.stderr + unreachable.stdout

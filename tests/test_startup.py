"""Start-up and shutdown: racing servers, a database that cannot be used, secrets in URLs,
SQLite on a network filesystem."""

from __future__ import annotations

import concurrent.futures
import sqlite3
import subprocess
import threading
from pathlib import Path

import pytest
from conftest import server_config
from pg_server import PostgresServer
from server_process import ServerProcess

from jupyterlab_jobs.app import JobsApp
from jupyterlab_jobs.store import DatabaseError, Store
from jupyterlab_jobs.store.engine import enable_wal, filesystem_type, network_filesystem_warning

PASSWORD = "s3cret-Pa55word"


def test_switching_to_wal_retries_while_another_connection_holds_the_file(
    tmp_path: Path,
) -> None:
    holder = sqlite3.connect(
        tmp_path / "jobs.sqlite", isolation_level=None, check_same_thread=False
    )
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN")
    holder.execute("SELECT * FROM t").fetchall()  # a read lock: WAL cannot be switched on
    threading.Timer(0.4, holder.execute, ["COMMIT"]).start()
    # No busy handler: as when the change returns "database is locked" at once.
    racer = sqlite3.connect(tmp_path / "jobs.sqlite", timeout=0, isolation_level=None)
    enable_wal(racer)
    assert racer.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_several_servers_start_at_once_on_a_fresh_data_dir(tmp_path: Path) -> None:
    config = server_config(tmp_path)
    servers = [ServerProcess(tmp_path, config, name=f"s{i}") for i in range(4)]
    try:
        with concurrent.futures.ThreadPoolExecutor(len(servers)) as pool:
            list(pool.map(lambda server: server.start(timeout=120), servers))
        for server in servers:
            assert server.call("GET", "options", expect=200)["user"] == "alice"
            assert "jupyterlab-jobs could not start" not in server.log_tail()
    finally:
        for server in servers:
            server.stop()


def run_server_to_exit(tmp_path: Path, db_url: str) -> tuple[int | None, str]:
    server = ServerProcess(tmp_path, server_config(tmp_path, db_url=db_url), name="failing")
    with pytest.raises(RuntimeError, match="did not start"):
        server.start(timeout=60)
    assert server.process is not None
    return server.process.poll(), server.log_path.read_text()


def test_a_database_that_cannot_be_reached_stops_the_server_with_the_reason(
    tmp_path: Path,
) -> None:
    unreachable = f"postgresql+psycopg://jobs:{PASSWORD}@127.0.0.1:1/jobs"
    code, log = run_server_to_exit(tmp_path, unreachable)
    assert code not in (None, 0), "the server kept running without its jobs extension"
    assert "jupyterlab-jobs could not start" in log
    assert "Cannot use the jobs database postgresql+psycopg://jobs:***@127.0.0.1:1/jobs" in log
    assert PASSWORD not in log


def test_a_malformed_db_url_is_refused_without_repeating_it(tmp_path: Path) -> None:
    code, log = run_server_to_exit(tmp_path, f"postgresql+psycopg://jobs:{PASSWORD}@host:port/x")
    assert code not in (None, 0)
    assert "c.JobsApp.db_url is not a database URL" in log
    assert PASSWORD not in log


def test_the_password_of_db_url_never_reaches_the_log(
    tmp_path: Path, postgres: PostgresServer
) -> None:
    url = postgres.create_database().replace("postgres@", f"postgres:{PASSWORD}@")
    server = ServerProcess(tmp_path, server_config(tmp_path, db_url=url), name="pg").start()
    try:
        server.call("GET", "jobs", expect=200)
        log = server.log_tail()
        assert "postgresql+psycopg://postgres:***@127.0.0.1" in log
        assert PASSWORD not in log
    finally:
        server.stop()
    store = Store(url)
    store.close()
    assert PASSWORD not in str(store)


def test_a_newer_database_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    database = tmp_path / "jobs-data" / "jobs.sqlite"
    Store(database).close()
    db = sqlite3.connect(database)
    db.execute("UPDATE alembic_version SET version_num = 'f00d'")
    db.commit()
    db.close()
    code, log = run_server_to_exit(tmp_path, "")
    assert code not in (None, 0)
    assert "schema revision f00d, newer than this jupyterlab-jobs knows" in log


async def test_stopping_an_app_that_never_initialized_works() -> None:
    await JobsApp().stop_extension()


MOUNTINFO = r"""
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
30 22 0:40 / /home rw,relatime shared:9 - nfs4 fs:/export/home rw,vers=4.2
31 30 0:41 / /home/alice/local\040disk rw,relatime shared:10 - ext4 /dev/sdb1 rw
32 22 0:42 / /mnt/remote rw,nosuid shared:11 - fuse.sshfs alice@host:/data rw
33 22 0:43 / /mnt/share rw shared:12 - cifs //server/share rw
34 22 0:44 / /scratch rw shared:13 - fuse.portal portal rw
"""


@pytest.mark.parametrize(
    ("path", "fstype", "network"),
    [
        ("/var/lib/jobs/jobs.sqlite", "ext4", False),
        ("/home/alice/.local/share/jupyter/jobs.sqlite", "nfs4", True),
        ("/home/alice/local disk/jobs.sqlite", "ext4", False),
        ("/home/alicex/jobs.sqlite", "nfs4", True),
        ("/mnt/remote/jobs.sqlite", "fuse.sshfs", True),
        ("/mnt/share/a/b/jobs.sqlite", "cifs", True),
        ("/scratch/jobs.sqlite", "fuse.portal", False),
    ],
)
def test_a_sqlite_file_on_a_network_filesystem_is_warned_about(
    path: str, fstype: str, network: bool
) -> None:
    assert filesystem_type(Path(path), MOUNTINFO) == fstype
    warning = network_filesystem_warning(Path(path), MOUNTINFO)
    if not network:
        assert warning is None
        return
    assert warning is not None
    assert f"on a network filesystem ({fstype})" in warning
    assert "Use PostgreSQL" in warning and "postgresql+psycopg://" in warning


def test_this_machines_own_mounts_are_read(tmp_path: Path) -> None:
    fstype = filesystem_type(tmp_path.resolve(), Path("/proc/self/mountinfo").read_text())
    found = subprocess.run(
        ["findmnt", "-n", "-o", "FSTYPE", "--target", str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert fstype == found


def test_database_errors_are_database_error() -> None:
    with pytest.raises(DatabaseError, match="not supported"):
        Store("mysql://user@host/db")

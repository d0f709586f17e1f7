"""A standalone data_dir serves one OS user: a server refuses another OS user's data_dir."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from conftest import server_config
from server_process import ServerProcess

from jupyterlab_jobs.datadir_owner import DataDirOfAnotherUser, check_data_dir_owner

AS_ROOT = os.geteuid() == 0
OTHER_UID = 4242  # no account needs to exist for it


@pytest.fixture
def foreign_data_dir(tmp_path: Path) -> Path:
    """A data_dir that belongs to another OS user than the tests' own."""
    if AS_ROOT:
        directory = tmp_path / "theirs"
        directory.mkdir(mode=0o700)
        os.chown(directory, OTHER_UID, OTHER_UID)
        return directory
    return Path("/")  # root's: the unprivileged suite runs as another account


@pytest.mark.unprivileged
def test_a_data_dir_of_another_os_user_is_refused(foreign_data_dir: Path) -> None:
    with pytest.raises(DataDirOfAnotherUser) as refused:
        check_data_dir_owner(foreign_data_dir)
    message = str(refused.value)
    assert f"uid {foreign_data_dir.stat().st_uid}" in message
    assert f"uid {os.geteuid()}" in message
    assert "JupyterHub service mode" in message


# Not in the unprivileged suite: giving a file to another user needs root.
@pytest.mark.skipif(not AS_ROOT, reason="giving a file to another user needs root")
def test_a_job_database_of_another_os_user_is_refused(tmp_path: Path) -> None:
    (tmp_path / "jobs.sqlite").touch()
    check_data_dir_owner(tmp_path)
    os.chown(tmp_path / "jobs.sqlite", OTHER_UID, OTHER_UID)
    with pytest.raises(DataDirOfAnotherUser, match=r"jobs\.sqlite belongs to uid 4242"):
        check_data_dir_owner(tmp_path)


@pytest.mark.unprivileged
def test_the_own_data_dir_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "jobs.sqlite").touch()
    check_data_dir_owner(tmp_path)
    check_data_dir_owner(tmp_path / "not-created-yet")


@pytest.mark.unprivileged
def test_a_server_on_another_os_users_data_dir_refuses_to_start(
    tmp_path: Path, foreign_data_dir: Path
) -> None:
    config = server_config(tmp_path)
    config["JobsApp"]["data_dir"] = str(foreign_data_dir)
    # A failed extension must stop the server here (jupyter_server would go on without it).
    server = ServerProcess(
        tmp_path, config, extra_args=["--ServerApp.reraise_server_extension_failures=True"]
    )
    started = time.monotonic()
    try:
        with pytest.raises(RuntimeError, match="the server did not start"):
            server.start(timeout=60)
    finally:
        server.stop()
    assert time.monotonic() - started < 30, "the server kept running"
    assert server.process is not None and server.process.returncode == 1
    log = server.log_tail()
    assert "DataDirOfAnotherUser" in log
    assert "serves one OS user" in log
    assert not (foreign_data_dir / "jobs.sqlite").exists()

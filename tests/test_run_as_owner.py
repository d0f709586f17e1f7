"""The local backend under a root service: each job runs as its owner's Unix account.

The test creates Unix accounts and groups (so it needs root) and removes them after.
"""

from __future__ import annotations

import grp
import os
import pwd
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="creates Unix accounts: needs root")

PREFIX = "jjt"  # short names: account names are limited to 32 characters
GROUPS = {"research": f"{PREFIX}-research", "ops": f"{PREFIX}-ops", "secret": f"{PREFIX}-secret"}


def run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True)


@pytest.fixture(scope="module")
def accounts() -> Iterator[None]:
    for unix_group in GROUPS.values():
        run("groupadd", "-f", unix_group)
    run("useradd", "-M", "-N", "-s", "/bin/sh", "-g", GROUPS["research"], f"{PREFIX}-alice")
    try:
        yield
    finally:
        subprocess.run(["userdel", f"{PREFIX}-alice"], capture_output=True)
        for unix_group in GROUPS.values():
            subprocess.run(["groupdel", unix_group], capture_output=True)


@pytest.fixture(scope="module")
def shared_root() -> Iterator[Path]:
    """Group directories and homes where the job's account can reach them (the test's
    own temporary directory is closed to other accounts)."""
    root = Path(tempfile.mkdtemp(prefix="jobs-owner-"))
    root.chmod(0o711)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def jobs_settings(accounts: None, shared_root: Path) -> dict[str, Any]:
    return {
        "LocalBackend": {
            "run_as_owner": True,
            "owner_account_template": PREFIX + "-{user}",
            "group_unix_groups": GROUPS,
            "project_root": str(shared_root / "projects"),
            "homes_root": str(shared_root / "homes"),
        }
    }


async def test_a_job_runs_as_its_owner_and_reaches_only_its_group(
    api: Any, jobs_app: Any, shared_root: Path
) -> None:
    projects = shared_root / "projects"
    # Another group's directory (alice is in ops too, but her research jobs run with the
    # research Unix group only), with a file in it.
    other = await api.submit(
        "echo theirs > ~/ops/private.txt", group="ops", instance_type="cpu-half"
    )
    await api.wait(other["id"])
    assert (projects / "ops" / "private.txt").is_file(), await api.logs(other["id"])
    data_dir = Path(jobs_app.data_dir)
    job_dir = jobs_app.backend.job_dir
    command = "\n".join(
        [
            "id -un; id -gn; id -G",
            "echo mine > ~/research/mine.txt && echo wrote-own-group",
            f"cat {projects}/ops/private.txt || echo no-other-group",
            f"ls {data_dir} || echo no-data-dir",
            f"cat {data_dir}/jobs.sqlite > /dev/null || echo no-database",
            f"echo forged >> {jobs_app.backend.jobs_dir}/$JOB_ID/output.log || echo no-log-file",
        ]
    )
    job = await api.submit(command)
    done = await api.wait(job["id"])
    assert done["status"] == "Succeeded", done
    lines = (await api.logs(job["id"])).splitlines()
    alice = pwd.getpwnam(f"{PREFIX}-alice")
    research = grp.getgrnam(GROUPS["research"])
    assert lines[:3] == [f"{PREFIX}-alice", GROUPS["research"], str(research.gr_gid)]
    for expected in (
        "wrote-own-group",
        "no-other-group",
        "no-data-dir",
        "no-database",
        "no-log-file",
    ):
        assert expected in lines, lines
    assert "theirs" not in lines and "forged" not in lines
    # the group's directory: root and the group's Unix group, 2770; the job's file is hers
    info = os.stat(projects / "research")
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (0, research.gr_gid, 0o2770)
    written = os.stat(projects / "research" / "mine.txt")
    assert (written.st_uid, written.st_gid) == (alice.pw_uid, research.gr_gid)
    # the supervisor's files stay root's (the log exists: the job could not write it)
    for name in ("spec.json", "result.json", "output.log"):
        assert os.stat(job_dir(_job(jobs_app, job["id"])) / name).st_uid == 0
    assert b"forged" not in (job_dir(_job(jobs_app, job["id"])) / "output.log").read_bytes()
    assert not (shared_root / "homes" / job["id"]).exists()  # the job's home is gone


async def test_an_owners_artifacts_and_usage_are_kept(api: Any) -> None:
    job = await api.submit(
        "mkdir -p artifacts/nested && echo result > artifacts/nested/out.txt"
        " && ln -s /etc/shadow artifacts/shadow && sleep 5"  # 2 s readings
    )
    done = await api.wait(job["id"])
    assert done["status"] == "Succeeded", done
    listing = await api.call("GET", f"jobs/{job['id']}/artifacts")
    assert [entry["path"] for entry in listing["artifacts"]] == ["nested/out.txt"]
    assert [entry["path"] for entry in listing["omitted"]] == ["shadow"]
    out = await api.raw("GET", f"jobs/{job['id']}/artifacts/nested/out.txt")
    assert out.code == 200 and out.body == b"result\n"
    shadow = await api.raw("GET", f"jobs/{job['id']}/artifacts/shadow")
    assert shadow.code == 404
    usage = await api.call("GET", f"jobs/{job['id']}/usage")
    assert usage["samples"] and usage["peak_memory_bytes"] > 0, usage


async def test_a_failing_job_of_an_owner_reports_its_termination_message(api: Any) -> None:
    job = await api.submit('echo "the input was empty" > "$TERMINATION_MESSAGE_PATH"; exit 3')
    done = await api.wait(job["id"])
    assert done["status"] == "Failed"
    assert "the input was empty" in done["message"], done


async def test_an_owner_without_an_account_is_refused_in_words(api: Any, jobs_app: Any) -> None:
    jobs_app.backend.owner_account_template = "nobody-here-{user}"
    job = await api.submit("true")
    done = await api.wait(job["id"])
    assert done["status"] == "Failed"
    assert "no Unix account 'nobody-here-alice'" in done["message"], done


def _job(jobs_app: Any, job_id: str) -> Any:
    return jobs_app.store.get(job_id)

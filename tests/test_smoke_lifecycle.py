from __future__ import annotations

from typing import Any


async def test_echo_job_succeeds_with_its_log(api: Any) -> None:
    job = await api.submit("echo hello; echo oops >&2")
    assert job["status"] in {"Pending", "Preparing", "Running", "Succeeded"}
    done = await api.wait(job["id"])
    assert done["status"] == "Succeeded", done
    assert done["exit_code"] == 0
    assert await api.logs(job["id"]) == "hello\noops\n"

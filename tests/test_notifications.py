"""Job ends reach the server at once through the supervisors' datagrams, not by polling."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

# Processes, files and sockets: also run as an account whose uid differs from its gid.
pytestmark = pytest.mark.unprivileged


@pytest.fixture(params=["short", "deep"])
def jobs_settings(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    # A deep data_dir would make a socket path longer than Unix allows.
    data_dir = tmp_path / ("d" * 120 if request.param == "deep" else "data")
    return {"JobsApp": {"reconcile_interval_seconds": 60, "data_dir": str(data_dir)}}


async def test_job_ends_are_noticed_at_once_without_polling(api: Any) -> None:
    job = await api.submit("echo quick")
    started = time.monotonic()
    done = await api.wait(job["id"], timeout=3)
    assert done["status"] == "Succeeded"
    assert time.monotonic() - started < 1.0
    assert await api.logs(job["id"]) == "quick\n"

"""Resource use of local jobs: sampled by the supervisor, served by GET jobs/{id}/usage."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from jupyterlab_jobs.backends.usage_log import UsageLog
from jupyterlab_jobs.models import SUCCEEDED

MIB = 1024**2
BURN_SECONDS = 4
# Holds 300 MiB (written, so resident), then burns one CPU for BURN_SECONDS.
ALLOCATE_AND_BURN = (
    "python3 -c 'import time\n"
    f'block = b"x" * ({300 * MIB})\n'
    "start = time.time()\n"
    f"while time.time() - start < {BURN_SECONDS}: pass\n"
    "print(time.process_time())'"
)


@pytest.fixture
def jobs_settings() -> dict[str, Any]:
    return {"LocalBackend": {"usage_interval_seconds": 0.5}}


def burning_samples(usage: dict[str, Any]) -> list[dict[str, Any]]:
    """Check the usage of a finished ALLOCATE_AND_BURN job on cpu-1 (a 1 GiB limit, a
    300 MiB peak) and return its samples while the block was held."""
    assert usage["available"] is True and usage["message"] == ""
    assert usage["memory_limit_bytes"] == 1024 * MIB
    peak = usage["peak_memory_bytes"]
    assert abs(peak - 300 * MIB) <= 30 * MIB, f"peak {peak / MIB:.1f} MiB"
    burning = [s for s in usage["samples"] if s["memory_bytes"] >= 250 * MIB]
    assert len(burning) >= 3, usage["samples"]
    return burning


@pytest.mark.unprivileged
async def test_usage_shows_peak_memory_and_cpu(api: Any) -> None:
    job = await api.submit(ALLOCATE_AND_BURN, instance_type="cpu-1", image="python")
    running = await api.wait(job["id"], {"Running", "Succeeded", "Failed"})
    assert running["status"] == "Running"
    done = await api.wait(job["id"])
    assert done["status"] == SUCCEEDED, done
    usage = await api.call("GET", f"jobs/{job['id']}/usage")
    burning = burning_samples(usage)
    mean = sum(s["cpu"] for s in burning) / len(burning)
    print(
        f"peak {usage['peak_memory_bytes'] / MIB:.1f} MiB, CPU {mean:.2f} over "
        f"{len(burning)} samples, {usage['cpu_seconds']:.2f} CPU s"
    )
    # What the job measured itself: the sampled total must agree with it.
    own = float(await api.logs(job["id"]))
    print(f"the job's own CPU time: {own:.2f} s")
    assert abs(usage["cpu_seconds"] - own) <= 0.1 * own + 0.2
    # One core busy; the machine is shared (other tests), so at least half of one.
    assert 0.5 <= mean <= 1.1, burning
    assert 0.5 * BURN_SECONDS <= usage["cpu_seconds"] <= BURN_SECONDS + 3
    assert all("gpu" not in sample for sample in usage["samples"])  # no GPU here
    times = [s["t"] for s in usage["samples"]]
    assert times == sorted(times)


@pytest.mark.parametrize(
    "content",
    [
        None,  # a symlink to a file the server can read
        b"[1, 2]",
        b'{"samples": [[1, 2, 3]]}',
        b'{"samples": [[1, -2, 3, null]]}',
        b'{"samples": [[1, 2, 3, "x"]]}',
        b'{"samples": "no"}',
        b"not json",
        b'{"samples": [' + b",".join([b"[1, 1, 1, null]"] * 1001) + b"]}",
    ],
)
async def test_a_rewritten_usage_file_gives_a_message_not_an_error(
    api: Any, jobs_app: Any, content: bytes | None, tmp_path: Path
) -> None:
    job = await api.submit("true")
    await api.wait(job["id"])
    path = jobs_app.backend.usage_file(jobs_app.store.get(job["id"]))
    path.unlink()
    if content is None:
        secret = tmp_path / "secret.json"
        secret.write_text('{"samples": [], "cpu_seconds": 99}')
        os.symlink(secret, path)
    else:
        path.write_bytes(content)
    usage = await api.call("GET", f"jobs/{job['id']}/usage")
    assert usage["samples"] == [] and usage["cpu_seconds"] == 0
    assert "usage record" in usage["message"]


def test_the_usage_log_stays_bounded_and_keeps_the_peak() -> None:
    log = UsageLog(max_samples=8)
    for second in range(101):
        log.add(float(second), 1000 + (50_000 if second == 37 else second), second * 0.5, None)
    samples = log.to_json()["samples"]
    assert 4 <= len(samples) <= 8
    assert log.stride == 16  # halved twice... and again: 100 readings in at most 8 samples
    assert max(s[2] for s in samples) == 51_000  # the peak survives merging
    assert all(s[1] == 0.5 for s in samples)  # half a CPU throughout, averaged
    assert [s[0] for s in samples] == sorted(s[0] for s in samples)
    assert log.peak_memory_bytes == 51_000 and log.cpu_seconds == 50.0


@pytest.mark.unprivileged
async def test_a_job_blocking_its_usage_file_does_not_stop_its_supervisor(api: Any) -> None:
    # The supervisor (the shell's parent) writes usage.json through a temporary file
    # named after its pid: the job makes that name a non-empty folder.
    job = await api.submit(
        'd="$(dirname "$TERMINATION_MESSAGE_PATH")"; mkdir -p "$d/usage.json.$PPID.tmp/x";'
        " sleep 1.5; echo finished"
    )
    done = await api.wait(job["id"])
    assert done["status"] == SUCCEEDED, done
    assert await api.logs(job["id"]) == "finished\n"
    usage = await api.call("GET", f"jobs/{job['id']}/usage")
    assert usage["samples"] == [] and usage["message"] == ""


def test_gpu_use_comes_from_nvidia_smi(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from jupyterlab_jobs.backends.usage_log import gpu_utilization

    tool = tmp_path / "nvidia-smi"
    tool.write_text(
        '#!/bin/sh\n[ "$1 $2 $3 $4" = "--query-gpu=utilization.gpu'
        ' --format=csv,noheader,nounits -i 0,1" ] && printf "30\\n45\\n"\n'
    )
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    assert gpu_utilization(["0", "1"]) == 37.5
    assert gpu_utilization([]) is None  # a CPU job: not asked
    tool.write_text("#!/bin/sh\necho 'No devices were found'\n")
    assert gpu_utilization(["0"]) is None

"""GPUs on the local backend: which devices the machine has, and which are free.

The local backend does the Kubernetes device plugin's job itself: each job of an instance
type with ``gpu: n`` is given ``n`` devices no other active job holds, through
``CUDA_VISIBLE_DEVICES`` / ``NVIDIA_VISIBLE_DEVICES`` in its environment. The devices a
job holds are recorded in its ``backend_state`` (as ``"gpus"``) when the service claims
it, inside the claim's transaction; so every server on the store (a restarted one, or a
second one) derives the busy devices from the active jobs' records alone.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess

from ..models import Job

# `nvidia-smi -L`: "GPU 0: NVIDIA A100-SXM4-40GB (UUID: GPU-2d6d...)"; MIG devices are
# listed indented below their GPU and are not given out separately.
_LISTED_GPU = re.compile(r"^GPU (\d+): (.*?)(?: \(UUID: ([^)]*)\))?\s*$")
DETECT_TIMEOUT_SECONDS = 10


def parse_nvidia_smi_list(output: str) -> list[tuple[str, str]]:
    """``nvidia-smi -L`` output -> [(index, name)] of the whole GPUs it lists."""
    found = []
    for line in output.splitlines():
        match = _LISTED_GPU.match(line)
        if match:
            found.append((match.group(1), match.group(2)))
    return found


def detect(log: logging.Logger) -> list[str]:
    """The NVIDIA GPUs of this machine, as device indices ("0", "1", ...).

    Asks ``nvidia-smi -L``, which every NVIDIA driver installs (it reads NVML, the
    driver's own library). None when it is missing or fails (no driver, no device).
    """
    program = shutil.which("nvidia-smi")
    if program is None:
        log.info("GPUs for jobs: none (no nvidia-smi on PATH: no NVIDIA driver)")
        return []
    try:
        listed = subprocess.run(
            [program, "-L"],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=DETECT_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        log.warning("GPUs for jobs: none (nvidia-smi -L failed: %s)", error)
        return []
    output = listed.stdout.decode(errors="replace")
    if listed.returncode != 0:
        reason = (output + listed.stderr.decode(errors="replace")).strip()[:300]
        log.warning("GPUs for jobs: none (nvidia-smi -L: %s)", reason or listed.returncode)
        return []
    devices = parse_nvidia_smi_list(output)
    log.info(
        "GPUs for jobs: %s",
        ", ".join(f"{index} ({name})" for index, name in devices) or "none (nvidia-smi lists none)",
    )
    return [index for index, _ in devices]


def count_text(count: int) -> str:
    """``1`` -> ``1 GPU``, ``2`` -> ``2 GPUs``."""
    return f"{count} GPU" if count == 1 else f"{count} GPUs"


def in_use(devices: list[str], active: list[Job]) -> set[str]:
    """Which of ``devices`` the active jobs hold."""
    held = {device for job in active for device in job.gpus}
    return held.intersection(devices)


def waiting_reason(count: int, devices: list[str], active: list[Job]) -> str | None:
    """Why a job needing ``count`` devices must wait (its Pending message), or None."""
    busy = in_use(devices, active)
    if len(devices) - len(busy) >= count:
        return None
    return f"Waiting for {count_text(count)}: {len(busy)}/{len(devices)} in use"


def pick(count: int, devices: list[str], active: list[Job]) -> list[str]:
    """``count`` free devices, first in the configured order (call when none wait)."""
    busy = in_use(devices, active)
    free = [device for device in devices if device not in busy]
    if len(free) < count:
        raise ValueError(f"{count} GPUs asked for, {len(free)} free")
    return free[:count]

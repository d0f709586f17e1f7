"""What a local job used, sampled by its supervisor: CPU, resident memory, GPU.

Stdlib only: the supervisor (run as a bare script) imports this module. The log is kept
compact and bounded: at most ``MAX_SAMPLES`` samples; when full, neighbours are merged in
pairs (CPU and GPU averaged, memory the larger) and each later sample covers twice as
many readings, so a job of any length fits in a few tens of kilobytes.
"""

from __future__ import annotations

import shutil
from typing import Any

MAX_SAMPLES = 720
GPU_QUERY_TIMEOUT_SECONDS = 2.0

# A sample: [time (epoch seconds), CPUs used, resident bytes, GPU use in % or None].
Sample = list[Any]


def _merge(samples: list[Sample]) -> Sample:
    gpus = [sample[3] for sample in samples if sample[3] is not None]
    return [
        samples[-1][0],
        round(sum(sample[1] for sample in samples) / len(samples), 3),
        max(sample[2] for sample in samples),
        round(sum(gpus) / len(gpus), 1) if gpus else None,
    ]


class UsageLog:
    def __init__(self, max_samples: int = MAX_SAMPLES) -> None:
        self.max_samples = max_samples
        self.samples: list[Sample] = []
        self.stride = 1  # readings per sample
        self._pending: list[Sample] = []
        self.peak_memory_bytes = 0
        self.cpu_seconds = 0.0
        self._last: tuple[float, float] | None = None  # (time, cpu seconds) of the last reading

    def add(self, now: float, memory_bytes: int, cpu_seconds: float, gpu: float | None) -> None:
        """One reading: the job's resident bytes now and the CPU seconds it used so far."""
        # Processes that ended took their CPU time with them: the total never goes back.
        self.cpu_seconds = max(self.cpu_seconds, cpu_seconds)
        last, self._last = self._last, (now, self.cpu_seconds)
        self.peak_memory_bytes = max(self.peak_memory_bytes, memory_bytes)
        if last is None or now <= last[0]:
            return
        cpu = max(0.0, (self.cpu_seconds - last[1]) / (now - last[0]))
        self._append([round(now, 2), round(cpu, 3), memory_bytes, gpu])

    def add_rate(self, now: float, memory_bytes: int, cpu: float) -> None:
        """One reading of a metrics API that reports CPUs in use (a rate), not a total."""
        if self._last is not None and now > self._last[0]:
            self.cpu_seconds += cpu * (now - self._last[0])
        self._last = (now, self.cpu_seconds)
        self.peak_memory_bytes = max(self.peak_memory_bytes, memory_bytes)
        self._append([round(now, 2), round(cpu, 3), memory_bytes, None])

    def _append(self, reading: Sample) -> None:
        self._pending.append(reading)
        if len(self._pending) < self.stride:
            return
        self.samples.append(_merge(self._pending))
        self._pending = []
        if len(self.samples) >= self.max_samples:
            pairs = range(0, len(self.samples), 2)
            self.samples = [_merge(self.samples[i : i + 2]) for i in pairs]
            self.stride *= 2

    def to_json(self) -> dict[str, Any]:
        return {
            "samples": self.samples + ([_merge(self._pending)] if self._pending else []),
            "peak_memory_bytes": self.peak_memory_bytes,
            "cpu_seconds": round(self.cpu_seconds, 3),
        }


def gpu_utilization(devices: list[str]) -> float | None:
    """Mean utilization (%) of the job's GPUs, from nvidia-smi; None without GPUs or tool."""
    tool = shutil.which("nvidia-smi")
    if not devices or tool is None:
        return None
    import subprocess  # only here: the supervisor of a CPU job stays small

    try:
        answer = subprocess.run(
            [
                tool,
                "--query-gpu=utilization.gpu",
                "--format=csv,noheader,nounits",
                "-i",
                ",".join(devices),
            ],
            capture_output=True,
            text=True,
            timeout=GPU_QUERY_TIMEOUT_SECONDS,
            check=True,
        ).stdout.split()
        values = [float(value) for value in answer]
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return round(sum(values) / len(values), 1) if values else None

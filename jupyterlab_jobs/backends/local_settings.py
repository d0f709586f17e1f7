"""The local backend's settings, ``c.LocalBackend.*`` (LocalBackend inherits them)."""

from __future__ import annotations

import sys

from traitlets import Bool, Dict, Float, Int, List, Unicode, default

from . import cpus
from . import gpus as gpu_devices
from .owners import OwnerAccounts


class LocalSettings(OwnerAccounts):
    """What an administrator configures of the local backend (with OwnerAccounts' own)."""

    max_concurrent_jobs = Int(
        4,
        min=1,
        help="How many jobs may be Preparing or Running at once; more wait as Pending.",
    ).tag(config=True)

    cpu_capacity = Float(
        help=(
            "CPUs jobs may use together (sum of their instance types' cpu). Defaults to "
            "the CPUs this process may run on. A job that does not fit waits as Pending."
        )
    ).tag(config=True)

    @default("cpu_capacity")
    def _default_cpu_capacity(self) -> float:
        return float(len(cpus.allowed()))

    project_root = Unicode(
        help="Directory holding each group's persistent directory (<project_root>/<group>). "
        "Defaults to <data_dir>/projects."
    ).tag(config=True)

    datasets_root = Unicode(
        help="Directory holding datasets (<datasets_root>/<name>) whose catalog entry has "
        "no `path`. Defaults to <data_dir>/datasets."
    ).tag(config=True)

    grace_seconds = Float(
        10.0,
        min=0,
        help="After SIGTERM (cancel, deadline), seconds a job has to exit before SIGKILL.",
    ).tag(config=True)

    shell = Unicode("/bin/bash", help="Shell that runs the job's command with -c.").tag(config=True)

    python = Unicode(
        sys.executable,
        help="Python that runs the supervisor (any CPython >= 3.9; only its stdlib is used).",
    ).tag(config=True)

    inherit_env = List(
        Unicode(),
        default_value=["PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR"],
        help="Server environment variables passed to jobs (others, such as tokens, are not).",
    ).tag(config=True)

    extra_env = Dict(value_trait=Unicode(), help="Environment variables added to every job.").tag(
        config=True
    )

    use_launcher = Bool(
        True,
        help="Start supervisors by forking a small resident launcher process (a few ms) "
        "instead of starting a new Python for each job (tens of ms).",
    ).tag(config=True)

    launcher_idle_seconds = Float(
        900.0,
        help="The launcher exits after this long without starting a job.",
    ).tag(config=True)

    launch_timeout_seconds = Float(
        60.0,
        help="A job claimed for start whose supervisor never reported within this time "
        "(the server died while starting it) is Failed.",
    ).tag(config=True)

    gpus = List(
        Unicode(),
        help="GPU devices jobs may use: indices ('0', '1') or UUIDs ('GPU-...'). Each is "
        "given to one job at a time, in CUDA_VISIBLE_DEVICES and NVIDIA_VISIBLE_DEVICES of "
        "the job's environment. Defaults to the NVIDIA GPUs `nvidia-smi -L` lists at "
        "start-up (none without an NVIDIA driver).",
    ).tag(config=True)

    @default("gpus")
    def _default_gpus(self) -> list[str]:
        return gpu_devices.detect(self.log)

    unresponsive_supervisor_seconds = Float(
        5.0,
        min=0,
        help="After a cancel, or the deadline plus grace_seconds, the server waits this long "
        "for the job's supervisor (stopped or hung?) before it kills the job itself.",
    ).tag(config=True)

    usage_interval_seconds = Float(
        2.0,
        min=0.1,
        help="Seconds between two readings of a running job's CPU, memory and GPU use.",
    ).tag(config=True)

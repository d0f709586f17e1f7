"""The personal default catalog offered when an administrator configured none.

Right after ``pip install jupyterlab-jobs`` there is no catalog, and a panel with no
groups, instance types or images can submit nothing. Instead the user gets one group of
their own (whose directory the local backend keeps under its data dir), one instance type
sized to this machine and one image: the environment JupyterLab runs in.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from .catalog import NAME_PATTERN, Catalog, Group, Image, InstanceType

INSTANCE_TYPE = "this-machine"
IMAGE = "server-environment"
# cgroup v2's memory limit of this process's container, when it has one.
CGROUP_MEMORY_MAX = Path("/sys/fs/cgroup/memory.max")


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity), not every CPU of the machine."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def usable_memory_bytes() -> int:
    """The machine's physical memory, or the container's limit when that is smaller."""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    try:
        limit = CGROUP_MEMORY_MAX.read_text().strip()
    except OSError:
        return total
    return min(total, int(limit)) if limit.isdigit() else total


def group_name_for(user: str) -> str:
    """``user`` as a valid catalog name: other characters become ``-``."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "-", user)[:63].lstrip("_.-")
    return name if re.match(NAME_PATTERN, name) else "personal"


def default_catalog(user: str) -> Catalog:
    """One group for ``user``, one instance type with this machine's CPUs and memory, and
    one image: this Python environment (``sys.prefix``)."""
    cpus = usable_cpus()
    memory_mib = max(1, usable_memory_bytes() // 2**20)
    memory_text = f"{memory_mib / 1024:.1f} GiB"
    return Catalog(
        default_setup=True,
        instance_types=[
            InstanceType(
                name=INSTANCE_TYPE,
                display_name=f"This machine ({cpus} CPU, {memory_text})",
                description="All the CPUs and memory this server may use",
                cpu=cpus,
                memory=f"{memory_mib}Mi",
            )
        ],
        images=[
            Image(
                name=IMAGE,
                display_name="JupyterLab's environment",
                description=f"The Python environment JupyterLab runs in: {sys.prefix}",
                prefix=sys.prefix,
            )
        ],
        groups=[
            Group(
                name=group_name_for(user),
                display_name=user,
                instance_types=[INSTANCE_TYPE],
                images=[IMAGE],
                users=[user],
            )
        ],
    )

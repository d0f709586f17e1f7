"""GET options: what a user may choose from, their groups and what each allows."""

from __future__ import annotations

from typing import Any

from .catalog import Catalog


def user_options(
    catalog: Catalog,
    user: str,
    groups: list[str],
    *,
    max_runtime_seconds: int,
    log_retention_seconds: int,
) -> dict[str, Any]:
    """The options answer for ``user``, a member of ``groups`` (only those are listed)."""
    return {
        "user": user,
        "groups": [
            {
                "name": g.name,
                "display_name": g.display_name,
                "instance_types": g.instance_types,
                "images": g.images,
                "datasets": g.datasets,
            }
            for g in map(catalog.group, groups)
            if g is not None
        ],
        "instance_types": [
            {
                "name": i.name,
                "display_name": i.display_name,
                "description": i.description,
                "cpu": i.cpu,
                "memory": i.memory,
                "gpu": i.gpu,
            }
            for i in catalog.instance_types
        ],
        "images": [
            {"name": i.name, "display_name": i.display_name, "description": i.description}
            for i in catalog.images
        ],
        "max_runtime_seconds": max_runtime_seconds,
        "log_retention_seconds": log_retention_seconds,
        "default_setup": catalog.default_setup,
    }

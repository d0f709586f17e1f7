"""jupyterlab-jobs: batch jobs for your groups, from JupyterLab."""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "jupyterlab-jobs"}]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    from .app import JobsApp

    return [{"module": "jupyterlab_jobs", "app": JobsApp}]

"""Demo configuration for `make run`: a few groups, instance types, images and a dataset.

Everything below is ordinary traitlets configuration; copy it into your own
jupyter_server_config.py and adapt the catalog to your team.
"""

import sys
from pathlib import Path

c = get_config()  # type: ignore[name-defined]  # noqa: F821

here = Path(__file__).resolve().parent
demo = here.parent / ".demo"

c.ServerApp.jpserver_extensions = {"jupyterlab_jobs": True}
c.ServerApp.root_dir = str(demo / "notebooks")
(demo / "notebooks").mkdir(parents=True, exist_ok=True)

c.JobsApp.data_dir = str(demo / "jobs")
c.JobsApp.max_runtime_seconds = 24 * 3600
c.JobsApp.log_retention_seconds = 7 * 24 * 3600

c.JobsApp.instance_types = [
    {"name": "cpu-small", "display_name": "CPU small", "cpu": 0.5, "memory": "512Mi",
     "description": "Half a CPU, 512 MiB: scripts and quick checks"},
    {"name": "cpu-1", "display_name": "CPU 1", "cpu": 1, "memory": "2Gi",
     "description": "1 CPU, 2 GiB"},
    {"name": "cpu-2", "display_name": "CPU 2", "cpu": 2, "memory": "4Gi",
     "description": "2 CPUs, 4 GiB: training runs"},
]
c.JobsApp.images = [
    {"name": "shell", "display_name": "System shell", "description": "bash and system tools"},
    {"name": "python", "display_name": "Python (server environment)", "prefix": sys.prefix,
     "description": "The Python environment JupyterLab runs in"},
]
c.JobsApp.datasets = [
    {"name": "iris", "display_name": "Iris", "path": str(here / "datasets" / "iris"),
     "description": "A synthetic 150-flower table shaped like Iris (CSV)"},
]
c.JobsApp.groups = [
    {"name": "research", "display_name": "Research",
     "instance_types": ["cpu-small", "cpu-1", "cpu-2"], "images": ["shell", "python"],
     "datasets": ["iris"], "users": ["*"]},
    {"name": "ml-team", "display_name": "ML team",
     "instance_types": ["cpu-small", "cpu-1"], "images": ["python"], "users": ["*"]},
    {"name": "ops", "display_name": "Operations (no members in the demo)",
     "instance_types": ["cpu-small"], "images": ["shell"]},
]

# Groups' persistent directories inside the notebook root, so that JupyterLab can open
# what jobs write there (e.g. the executed notebooks of notebook jobs).
c.LocalBackend.project_root = str(demo / "notebooks" / "projects")
c.LocalBackend.max_concurrent_jobs = 4
c.LocalBackend.grace_seconds = 10

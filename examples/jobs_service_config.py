"""The jobs service of the local JupyterHub demo (examples/jupyterhub_config.py).

The demo catalog of `make run` (examples/jupyter_server_config.py), with the service's
own data in the hub demo's state folder. Jobs run as the service's own account (the demo
does not set c.LocalBackend.run_as_owner).
"""

import os
from pathlib import Path

c = get_config()  # type: ignore[name-defined]  # noqa: F821
here = Path(__file__).resolve().parent
load_subconfig(str(here / "jupyter_server_config.py"))  # type: ignore[name-defined]  # noqa: F821

state = Path(os.environ.get("JOBS_HUB_STATE", here.parent / ".demo-hub"))
c.JobsApp.data_dir = str(state / "jobs")
# Groups' persistent directories (executed notebooks land in <group>/notebook-runs/).
c.LocalBackend.project_root = str(state / "projects")

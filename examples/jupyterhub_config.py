"""A local multi-user JupyterHub with the jobs service: `make run-hub`.

- any password logs in (DummyAuthenticator); users alice (group research), bob (ops)
  and carol (both);
- each user's JupyterLab runs as a local process (SimpleLocalProcessSpawner) with the
  extension in client mode: it forwards every jobs request to the service with the
  user's own token;
- the jobs service is hub-managed under the name `jobs` (examples/jobs_service_config.py),
  at /services/jobs/ on the hub and at JOBS_SERVICE_URL directly;
- the hub listens on 127.0.0.1:8000 (`--port`, `--JupyterHub.hub_port` override it);
  all state is in .demo-hub/ (or $JOBS_HUB_STATE).
"""

import os
import sys
from pathlib import Path

c = get_config()  # type: ignore[name-defined]  # noqa: F821

here = Path(__file__).resolve().parent
state = Path(os.environ.get("JOBS_HUB_STATE", here.parent / ".demo-hub")).resolve()
(state / "homes").mkdir(parents=True, exist_ok=True)
service_url = os.environ.get("JOBS_SERVICE_URL", "http://127.0.0.1:10101")

c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = 8000
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")

c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.Authenticator.admin_users = set()
c.JupyterHub.spawner_class = "simple"
c.SimpleLocalProcessSpawner.home_dir_template = str(state / "homes" / "{username}")
if os.getuid() == 0:
    c.Spawner.args = ["--allow-root"]
c.Spawner.default_url = "/lab"
# Client mode: the extension in each user's server talks to the service.
c.Spawner.environment = {"JUPYTERLAB_JOBS_SERVICE_URL": f"{service_url}/services/jobs/"}
# A browser session's token may reach the jobs service (and carries a group admin scope
# when the user has one); `jupyter jobs` in a terminal uses the server's token.
c.Spawner.oauth_client_allowed_scopes = ["access:services!service=jobs", "custom:jobs:admin"]
c.Spawner.server_token_scopes = ["users:activity!user", "access:services!service=jobs"]

# Hub groups are the jobs' groups (intersected with the service's catalog).
c.JupyterHub.load_groups = {
    "research": {"users": ["alice", "carol"]},
    "ops": {"users": ["bob", "carol"]},
}
c.JupyterHub.custom_scopes = {
    "custom:jobs:admin": {
        "description": "See and cancel every job of a group (filter with !group=<name>)",
    },
}
c.JupyterHub.load_roles = [
    # Every user may call the jobs service (what they see there is their groups' jobs).
    {"name": "user", "scopes": ["self", "access:services!service=jobs"]},
    # The service asks the hub for a schedule owner's groups at each tick.
    {"name": "jobs-service", "scopes": ["read:users:groups"], "services": ["jobs"]},
]
c.JupyterHub.services = [
    {
        "name": "jobs",
        "url": service_url,
        "command": [
            sys.executable,
            "-m",
            "jupyterlab_jobs.hub",
            f"--config={here / 'jobs_service_config.py'}",
        ],
        "environment": {"JOBS_HUB_STATE": str(state)},
    },
]

"""jupyter-scheduler, the peer, for the side-by-side run: its own venv and a real server.

The venv (``benchmarks/.work/peer-venv``, git-ignored) holds the pinned jupyter-scheduler,
ipykernel (its jobs need a ``python3`` kernel; same version as ours) and matplotlib (the
chart is drawn with this venv's Python, so the project's environment needs no plotting
library). It is made once and remade when the pins change.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from .harness import WORK, Client, JupyterServer

PEER_PACKAGE = "jupyter_scheduler"
PEER_VERSION = "2.12.1"
REQUIREMENTS = [f"{PEER_PACKAGE}=={PEER_VERSION}", "ipykernel==7.4.0", "matplotlib==3.11.2"]
VENV = WORK / "peer-venv"
PYTHON = VENV / "bin" / "python"


def ensure_venv() -> Path:
    """Create or update the peer's venv; return its Python."""
    stamp = VENV / "requirements.txt"
    wanted = "\n".join(REQUIREMENTS) + "\n"
    if PYTHON.exists() and stamp.exists() and stamp.read_text() == wanted:
        return PYTHON
    print(f"   installing {', '.join(REQUIREMENTS)} into {VENV.relative_to(WORK.parent.parent)}")
    WORK.mkdir(exist_ok=True)
    if not PYTHON.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [
            str(PYTHON),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *REQUIREMENTS,
        ],
        check=True,
    )
    stamp.write_text(wanted)
    return PYTHON


class PeerClient(Client):
    """The harness client, for jupyter-scheduler's REST API (its base is the server root)."""

    base = ""


class PeerServer(JupyterServer):
    """``python -m jupyter_server`` from the peer venv with jupyter_scheduler enabled."""

    product = f"jupyter-scheduler {PEER_VERSION}"
    what = "jupyter-scheduler"
    client_class = PeerClient
    ready_path = "/scheduler/config"
    # A new job's record says STOPPED (the column's default) until its process starts and
    # sets IN_PROGRESS; these runs stop no job, so only these two are final.
    final = ("COMPLETED", "FAILED")
    running = ("IN_PROGRESS", *final)  # running or later
    succeeded = "COMPLETED"

    def __init__(self, root: Path, marker: dict[str, str]) -> None:
        root.mkdir(parents=True, exist_ok=True)
        super().__init__(root)
        self.database = self.root / "scheduler.sqlite"
        self.marker = marker

    def start(self, timeout: float = 90.0) -> None:
        env = {**self.environment(), **self.marker}
        env.pop("PYTHONPATH", None)
        command = [
            str(PYTHON),
            "-m",
            "jupyter_server",
            f'--ServerApp.jpserver_extensions={{"{PEER_PACKAGE}": True}}',
            f"--SchedulerApp.db_url=sqlite:///{self.database}",
        ]
        self.launch(command, env, timeout)

    # -- the workloads' operations ---------------------------------------------------------
    def submit_notebook(self, client: Client, notebook: str) -> str:
        """POST a job as JupyterLab's "Create job" dialog does (output: the notebook)."""
        body = {
            "name": "bench",
            "input_uri": notebook,
            "runtime_environment_name": "python",
            "output_formats": ["ipynb"],
            "parameters": {},
        }
        return str(client.json("POST", "/scheduler/jobs", body)["job_id"])

    def status(self, client: Client, job_id: str) -> str:
        return str(client.json("GET", f"/scheduler/jobs/{job_id}")["status"])

    def statuses(self, client: Client, limit: int) -> dict[str, str]:
        page = client.json("GET", f"/scheduler/jobs?max_items={limit}")
        return {job["job_id"]: job["status"] for job in page["jobs"]}

    def list_path(self, limit: int) -> str:
        return f"/scheduler/jobs?max_items={limit}"

    def seed(self, count: int) -> None:
        """``count`` finished jobs written straight into the peer's SQLite database."""
        seed_peer_store(self.database, count)


def seed_peer_store(database: Path, count: int) -> None:
    now_ms = int(time.time() * 1000)
    step = 30 * 86400 * 1000 // max(count, 1)
    start = now_ms - 30 * 86400 * 1000
    statuses = ["COMPLETED", "FAILED", "STOPPED"]

    def rows() -> Any:
        for i in range(count):
            created = start + i * step
            job_id = str(uuid.uuid4())
            yield (
                job_id,
                "python",
                "print1.ipynb",
                json.dumps(["ipynb"]),
                f"job {i}",
                json.dumps({}),
                "{{input_filename}}-{{create_time}}",
                created,
                created,
                statuses[i % 3],
                created + 1000,
                created + 61000,
                f"/jobs/{job_id}",
                json.dumps([]),
            )

    with sqlite3.connect(database) as db:
        db.executemany(
            "INSERT INTO jobs (job_id, runtime_environment_name, input_filename, output_formats,"
            " name, parameters, output_filename_template, create_time, update_time, status,"
            " start_time, end_time, url, packaged_files) VALUES"
            " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows(),
        )

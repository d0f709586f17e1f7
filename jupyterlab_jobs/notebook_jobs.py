"""Notebook jobs: the snapshot of the notebook taken at submission, and the command that
runs it with papermill (``run_notebook.py``), so later edits of the notebook do not change
the run. JobService uses one ``NotebookSnapshots``; no web framework here."""

from __future__ import annotations

import json
import shlex
import shutil
from pathlib import Path

from .backends.safe_files import UnsafeFile, read_limited
from .errors import Conflict
from .models import Job
from .validation import MAX_NOTEBOOK_BYTES, JobRequest, checked_notebook, read_notebook

NOTEBOOK_RUNNER = Path(__file__).with_name("run_notebook.py")
PARAMETERS = "parameters.json"


class NotebookSnapshots:
    """The notebooks of notebook jobs as submitted: ``<snapshots_dir>/<job id>/``."""

    def __init__(self, snapshots_dir: Path, notebook_root: Path | None) -> None:
        self.snapshots_dir = snapshots_dir
        self.notebook_root = notebook_root  # the Jupyter root a request's notebook is under

    def path_of(self, job: Job) -> Path:
        return self.snapshots_dir / job.id / Path(job.notebook or "notebook.ipynb").name

    def content_for(self, request: JobRequest, rerun: Job | None) -> bytes:
        """The notebook a request runs: the rerun job's snapshot, the content the request
        brings, or the file it names under the Jupyter root."""
        assert request.notebook is not None
        if rerun:
            return self.read(rerun)
        if request.notebook_content is not None:
            return checked_notebook(request.notebook, request.notebook_content.encode())
        return read_notebook(self.notebook_root, request.notebook)

    def read(self, job: Job) -> bytes:
        """The notebook snapshot taken when ``job`` was submitted: a plain file, read
        without following links (the data dir is writable by the jobs' OS user)."""
        snapshot = self.path_of(job)
        try:
            return read_limited(snapshot.parent, snapshot.name, MAX_NOTEBOOK_BYTES)
        except (OSError, UnsafeFile) as error:
            problem = "it is gone" if isinstance(error, FileNotFoundError) else str(error)
            raise Conflict(
                f"The notebook snapshot of this job cannot be used ({problem}); "
                "submit the notebook again"
            ) from None

    def prepare(self, job: Job, request: JobRequest, group_dir: Path | None) -> None:
        """Set the command that runs the notebook's snapshot with papermill, writing the
        executed notebook to the group directory (``group_dir``, where the server sees it)."""
        assert request.notebook is not None
        job.notebook = request.notebook
        job.parameters = json.dumps(request.parameters or {})
        snapshot = self.path_of(job)
        output = f"{job.group}/notebook-runs/{snapshot.stem}-{job.id}.ipynb"
        job.command = shlex.join(
            [
                "python",
                f".job/{NOTEBOOK_RUNNER.name}",
                f".job/{snapshot.name}",
                output,
                f".job/{PARAMETERS}",
            ]
        )
        job.output_path = output
        if group_dir is not None:
            seen = (group_dir / "notebook-runs" / Path(output).name).resolve()
            root = self.notebook_root.resolve() if self.notebook_root else None
            is_inside = root is not None and seen.is_relative_to(root)
            job.output_path = str(seen.relative_to(root)) if root and is_inside else str(seen)

    def write(self, job: Job, content: bytes) -> None:
        snapshot = self.path_of(job)
        snapshot.parent.mkdir(parents=True, exist_ok=True)
        snapshot.write_bytes(content)
        snapshot.with_name(PARAMETERS).write_text(job.parameters or "{}", "utf-8")

    def files_of(self, job: Job) -> dict[str, Path]:
        """What a notebook job finds in its ``.job/`` directory (name -> file here)."""
        snapshot = self.path_of(job)
        return {
            snapshot.name: snapshot,
            PARAMETERS: snapshot.with_name(PARAMETERS),
            NOTEBOOK_RUNNER.name: NOTEBOOK_RUNNER,
        }

    def remove(self, job: Job) -> None:
        shutil.rmtree(self.snapshots_dir / job.id, ignore_errors=True)

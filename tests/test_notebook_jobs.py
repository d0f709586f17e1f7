"""Notebook jobs: snapshot at submission, papermill with parameters as data, output saved."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import pytest

from jupyterlab_jobs.notebook_jobs import NOTEBOOK_RUNNER

# Processes, files and sockets: also run as an account whose uid differs from its gid.
pytestmark = pytest.mark.unprivileged


@pytest.fixture
def jobs_settings(jp_root_dir: Path) -> dict[str, Any]:
    return {"LocalBackend": {"project_root": str(jp_root_dir / "projects")}}


def write_notebook(path: Path, *sources: str, parameters: str | None = None) -> None:
    cells = []
    if parameters is not None:
        cell = nbformat.v4.new_code_cell(parameters)
        cell.metadata["tags"] = ["parameters"]
        cells.append(cell)
    cells.extend(nbformat.v4.new_code_cell(source) for source in sources)
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)


async def submit_notebook(api: Any, notebook: str, expect: int = 201, **fields: Any) -> Any:
    body = {
        "name": "notebook run",
        "group": "research",
        "instance_type": "cpu-1",
        "image": "python",
        "notebook": notebook,
        **fields,
    }
    return await api.call("POST", "jobs", body, expect=expect)


async def test_notebook_runs_with_parameters_and_saves_its_output(
    api: Any, jp_root_dir: Path
) -> None:
    write_notebook(
        jp_root_dir / "work" / "analysis.ipynb",
        "print('answer', x * 2)\nprint('label', repr(label))",
        parameters="x = 1\nlabel = 'default'",
    )
    sneaky = "'); open('pwned', 'w').write('x') #"
    job = await submit_notebook(api, "work/analysis.ipynb", parameters={"x": 21, "label": sneaky})
    assert job["notebook"] == "work/analysis.ipynb"
    assert job["parameters"] == {"x": 21, "label": sneaky}
    assert job["output_path"] == f"projects/research/notebook-runs/analysis-{job['id']}.ipynb"
    done = await api.wait(job["id"], timeout=90)
    assert done["status"] == "Succeeded", (done, await api.logs(job["id"]))
    output = nbformat.read(jp_root_dir / done["output_path"], as_version=4)
    texts = "".join(o.get("text", "") for cell in output.cells for o in cell.get("outputs", []))
    assert "answer 42" in texts
    assert f"label {sneaky!r}" in texts
    assert not (jp_root_dir / "projects" / "research" / "pwned").exists()
    # papermill's own marks: the injected cell after the parameters cell, the run's metadata.
    assert output.cells[1].metadata["tags"] == ["injected-parameters"]
    assert output.metadata["papermill"]["parameters"] == {"x": 21, "label": sneaky}
    assert output.metadata["papermill"]["exception"] is None  # True when a cell fails
    assert output.metadata["papermill"]["duration"] > 0
    assert "answer 42" in await api.logs(job["id"])
    # The output is a file the Jupyter contents API (and so JupyterLab) can open.
    opened = await api.fetch("api", "contents", *done["output_path"].split("/"))
    assert json.loads(opened.body)["type"] == "notebook"


async def test_the_notebook_is_snapshotted_at_submission(api: Any, jp_root_dir: Path) -> None:
    source = jp_root_dir / "snap.ipynb"
    write_notebook(source, "print('original version')")
    blockers = [await api.submit("sleep 30", instance_type="cpu-1") for _ in range(2)]
    job = await submit_notebook(api, "snap.ipynb")
    assert job["status"] == "Pending"
    write_notebook(source, "print('edited later')")
    for blocker in blockers:
        await api.call("POST", f"jobs/{blocker['id']}/cancel")
    done = await api.wait(job["id"], timeout=90)
    assert done["status"] == "Succeeded"
    log = await api.logs(job["id"])
    assert "original version" in log and "edited later" not in log


async def test_a_failing_cell_fails_the_job_with_its_error(api: Any, jp_root_dir: Path) -> None:
    write_notebook(jp_root_dir / "broken.ipynb", "x = 1", "raise ValueError('bad input 42')")
    job = await submit_notebook(api, "broken.ipynb")
    done = await api.wait(job["id"], timeout=90)
    assert done["status"] == "Failed"
    assert "ValueError: bad input 42" in done["message"]
    assert done["exit_code"] == 1
    # The partly executed notebook is still saved, with the error in it.
    assert (jp_root_dir / done["output_path"]).is_file()


async def test_rerun_of_a_notebook_job_reuses_the_snapshot(api: Any, jp_root_dir: Path) -> None:
    source = jp_root_dir / "again.ipynb"
    write_notebook(source, "print('value', y)", parameters="y = 0")
    first = await submit_notebook(api, "again.ipynb", parameters={"y": 7})
    await api.wait(first["id"], timeout=90)
    source.unlink()
    second = await api.call("POST", f"jobs/{first['id']}/rerun", expect=201)
    assert second["rerun_of"] == first["id"]
    assert second["notebook"] == "again.ipynb" and second["parameters"] == {"y": 7}
    assert second["output_path"] != first["output_path"]
    done = await api.wait(second["id"], timeout=90)
    assert done["status"] == "Succeeded"
    assert "value 7" in await api.logs(second["id"])


@pytest.mark.parametrize(
    ("fields", "phrase"),
    [
        ({"notebook": "../outside.ipynb"}, "inside the Jupyter root"),
        ({"notebook": "/etc/passwd"}, ".ipynb file"),
        ({"notebook": "/etc/x.ipynb"}, "No notebook"),
        ({"notebook": "missing.ipynb"}, "No notebook"),
        ({"notebook": "text.txt"}, ".ipynb file"),
        ({"notebook": "bad.ipynb"}, "not a valid notebook"),
        ({"notebook": "ok.ipynb", "command": "echo"}, "either a command or a notebook"),
        ({"notebook": "ok.ipynb", "parameters": {"1x": 1}}, "not a valid Python variable"),
        ({"notebook": "ok.ipynb", "parameters": {"class": 1}}, "not a valid Python variable"),
        ({"notebook": "ok.ipynb", "parameters": [1]}, "must be a JSON object"),
        ({"notebook": "ok.ipynb", "parameters": {"x": "y" * 70000}}, "at most"),
        ({"notebook": None, "parameters": {"x": 1}, "command": "true"}, "only for notebook"),
        ({"notebook": ""}, "must not be empty"),
        # Paths the file system refuses: 400s, never 500s.
        ({"notebook": "loop.ipynb"}, "cannot be read"),
        ({"notebook": "a-loop/ok.ipynb"}, "cannot be read"),
        ({"notebook": "x" * 300 + ".ipynb"}, "File name too long"),
        ({"notebook": "y" * 256 + "/ok.ipynb"}, "File name too long"),
        ({"notebook": "ok.ipynb/ok.ipynb"}, "No notebook"),
        # Resolves to ok.ipynb, but its own name is `..`: it named the snapshot file.
        ({"notebook": "ok.ipynb/x/.."}, ".ipynb file"),
        # The notebook sent along (as the extension does for the hub service).
        ({"notebook": None, "command": "true", "notebook_content": "{}"}, "needs notebook"),
        ({"notebook": "sent.ipynb", "notebook_content": "{not json"}, "not a valid notebook"),
        ({"notebook": "sent.txt", "notebook_content": "{}"}, ".ipynb file"),
        ({"notebook": "sent.ipynb", "notebook_content": 3}, "must be a string"),
    ],
)
async def test_bad_notebook_requests(
    api: Any, jobs_app: Any, jp_root_dir: Path, fields: dict[str, Any], phrase: str
) -> None:
    write_notebook(jp_root_dir / "ok.ipynb", "print(1)")
    (jp_root_dir / "bad.ipynb").write_text("{not json")
    (jp_root_dir / "text.txt").write_text("hello")
    (jp_root_dir / "loop.ipynb").symlink_to("loop.ipynb")
    (jp_root_dir / "a-loop").symlink_to("b-loop")
    (jp_root_dir / "b-loop").symlink_to("a-loop")
    body = {"name": "n", "group": "research", "instance_type": "cpu-1", "image": "python"}
    body.update(fields)
    body = {k: v for k, v in body.items() if v is not None}
    error = await api.call("POST", "jobs", body, expect=400)
    assert phrase in error["message"], error
    assert jobs_app.store.count() == 0
    assert not (Path(jobs_app.data_dir) / "notebooks").exists() or not any(
        (Path(jobs_app.data_dir) / "notebooks").iterdir()
    )


# -- the runner on its own (what both backends run in the job) ------------------------------
# Run in a child Python that reports, as JSON on its last line: the runner's exit code,
# which imports of jsonschema's optional checkers were made, whether a kernel process
# existed when papermill started importing, and the runner's child processes left at the end.
PROBE = """
import json, os, runpy, sys

def children():
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat[1]) == os.getpid() and stat[0] != "Z":
            found.append(int(pid))
    return found

class Watch:
    kernel_first = None
    def find_spec(self, name, path=None, target=None):
        if name == "papermill" and Watch.kernel_first is None:
            Watch.kernel_first = bool(children())
        return None

sys.meta_path.insert(0, Watch())
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as done:
    code = done.code
print(json.dumps({
    "exit": code,
    "skipped_imported": [m for m in ("rfc3987_syntax", "isoduration", "arrow")
                         if sys.modules.get(m) is not None],
    "kernel_started_before_papermill": Watch.kernel_first,
    "children_left": children(),
}))
"""


def run_runner(tmp_path: Path, notebook: Path, parameters: dict[str, Any]) -> dict[str, Any]:
    (tmp_path / "parameters.json").write_text(json.dumps(parameters))
    env = {**os.environ, "TERMINATION_MESSAGE_PATH": str(tmp_path / "termination")}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            PROBE,
            str(NOTEBOOK_RUNNER),
            str(notebook),
            "out/run.ipynb",
            "parameters.json",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.strip(), done.stderr
    probe: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    probe["stdout"] = done.stdout
    message = tmp_path / "termination"
    probe["message"] = message.read_text() if message.exists() else ""
    return probe


def test_the_runner_starts_the_kernel_first_and_skips_unneeded_imports(tmp_path: Path) -> None:
    write_notebook(tmp_path / "nb.ipynb", "print('value', y)", parameters="y = 0")
    probe = run_runner(tmp_path, tmp_path / "nb.ipynb", {"y": 5})
    assert probe["exit"] == 0, probe
    assert probe["kernel_started_before_papermill"] is True
    assert probe["skipped_imported"] == []
    assert probe["children_left"] == [], "the kernel is shut down before the runner exits"
    executed = nbformat.read(tmp_path / "out" / "run.ipynb", as_version=4)
    assert executed.metadata["papermill"]["parameters"] == {"y": 5}
    assert executed.cells[2].outputs[0]["text"] == "value 5\n"
    assert "Saved the executed notebook to out/run.ipynb" in probe["stdout"]


def test_the_runner_reports_a_failing_cell(tmp_path: Path) -> None:
    write_notebook(tmp_path / "nb.ipynb", "x = 1", "raise KeyError('missing column')")
    probe = run_runner(tmp_path, tmp_path / "nb.ipynb", {})
    assert probe["exit"] == 1
    assert probe["message"] == "Cell 2 raised KeyError: 'missing column'"
    assert probe["children_left"] == []
    executed = nbformat.read(tmp_path / "out" / "run.ipynb", as_version=4)
    assert executed.metadata["papermill"]["exception"] is True


@pytest.mark.parametrize(
    ("kernelspec", "phrase"),
    [
        (None, "names no kernel (metadata.kernelspec.name)"),
        ({"name": "no-such-kernel", "display_name": "x"}, "NoSuchKernel"),
    ],
)
def test_the_runner_says_why_a_notebook_cannot_run(
    tmp_path: Path, kernelspec: dict[str, str] | None, phrase: str
) -> None:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    if kernelspec:
        notebook.metadata["kernelspec"] = kernelspec
    nbformat.write(notebook, tmp_path / "nb.ipynb")
    probe = run_runner(tmp_path, tmp_path / "nb.ipynb", {})
    assert probe["exit"] == 1
    assert probe["message"].startswith("The notebook could not run: ")
    assert phrase in probe["message"]
    assert probe["children_left"] == []


def test_the_runners_kernel_client_is_ready_without_waiting_for_silence() -> None:
    """jupyter_client's own handshake ends with >= 0.2 s of waiting for IOPub to go quiet;
    the runner's client is ready as soon as the kernel has answered on shell and IOPub."""
    import asyncio
    import importlib.util
    import time

    spec = importlib.util.spec_from_file_location("run_notebook_under_test", NOTEBOOK_RUNNER)
    assert spec is not None and spec.loader is not None
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)

    async def handshakes() -> list[float]:
        kernel = runner.StartedKernel(kernel_name="python3")
        await kernel.start_kernel(extra_arguments=runner.KERNEL_ARGUMENTS)
        client = kernel.client()
        client.start_channels()
        try:
            await client.wait_for_ready(timeout=60)
            times = []
            for _ in range(3):
                begin = time.monotonic()
                await client.wait_for_ready(timeout=60)
                times.append(time.monotonic() - begin)
            return times
        finally:
            client.stop_channels()
            await kernel.shutdown_kernel(now=True)

    assert min(asyncio.run(handshakes())) < 0.15


async def test_a_notebook_sent_with_the_request_runs_instead_of_a_file(
    api: Any, jp_root_dir: Path
) -> None:
    write_notebook(jp_root_dir / "sent.ipynb", "print('from the request')")
    content = (jp_root_dir / "sent.ipynb").read_text()
    (jp_root_dir / "sent.ipynb").unlink()  # only the request has it
    job = await submit_notebook(api, "sent.ipynb", notebook_content=content)
    done = await api.wait(job["id"], timeout=90)
    assert done["status"] == "Succeeded", (done, await api.logs(job["id"]))
    output = nbformat.read(jp_root_dir / done["output_path"], as_version=4)
    texts = "".join(o.get("text", "") for cell in output.cells for o in cell.get("outputs", []))
    assert "from the request" in texts


@pytest.mark.parametrize("planted", ["symlink", "gone"])
async def test_rerun_never_follows_a_planted_snapshot(
    api: Any, jp_root_dir: Path, jobs_app: Any, planted: str
) -> None:
    """The snapshot lives in the data dir, which jobs (same OS user) can write: a snapshot
    replaced by a link to another file is refused, not read through."""
    write_notebook(jp_root_dir / "planted.ipynb", "print('original')")
    first = await submit_notebook(api, "planted.ipynb")
    await api.wait(first["id"], timeout=90)
    snapshot = Path(jobs_app.data_dir) / "notebooks" / first["id"] / "planted.ipynb"
    snapshot.unlink()
    if planted == "symlink":
        secret = jp_root_dir / "secret.ipynb"
        write_notebook(secret, "print('not yours')")
        snapshot.symlink_to(secret)
    reply = await api.raw("POST", f"jobs/{first['id']}/rerun")
    assert reply.code == 409
    message = json.loads(reply.body)["message"]
    assert "submit the notebook again" in message
    assert ("symbolic link" in message) == (planted == "symlink")

"""Notebook jobs: snapshot at submission, papermill with parameters as data, output saved."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest

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

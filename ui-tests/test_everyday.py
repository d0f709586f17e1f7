"""Everyday use: the default setup through the panel, Clone to form of a notebook job,
its output notebook link, and the confirmation before rerunning someone else's job."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator

import pytest
from conftest import LabServer, open_lab
from helpers import PANEL, command, insert_job_of_other_user, open_panel, row
from playwright.sync_api import Browser, Page, expect
from test_notebook import write_notebook


@pytest.fixture(scope="module")
def default_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """JupyterLab whose jobs extension has no catalog configured at all."""
    server = LabServer(tmp_path_factory.mktemp("default-lab"))
    for key in ("groups", "instance_types", "images", "datasets"):
        server.config["JobsApp"].pop(key, None)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_the_default_setup_runs_a_job_from_the_panel(browser: Browser, default_lab) -> None:
    page = open_lab(browser, default_lab)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        panel = open_panel(page)
        notice = panel.locator(".jp-Jobs-defaultSetup")
        expect(notice).to_contain_text("Default setup")
        # The link shows the README's configuration section in a JupyterLab tab.
        notice.locator(".jp-Jobs-configurationDocs").click()
        docs = page.locator("#jupyterlab-jobs-configuration-docs")
        expect(docs.locator("h2").first).to_contain_text("Configuration")
        expect(docs).to_contain_text("c.JobsApp.groups")

        panel.locator(".jp-Jobs-createButton").click()
        form = panel.locator("form.jp-Jobs-form")
        # The only choices there are, already chosen.
        expect(form.locator("#jp-Jobs-create-group")).to_have_value("alice")
        expect(form.locator("#jp-Jobs-create-instance-type")).to_have_value("this-machine")
        expect(form.locator("#jp-Jobs-create-image")).to_have_value("server-environment")
        form.locator("#jp-Jobs-create-name").fill("first job")
        form.locator("#jp-Jobs-create-command").fill('python -c "import sys; print(sys.prefix)"')
        form.locator(".jp-Jobs-submit").click()
        status = panel.locator(".jp-Jobs-detailTitle .jp-Jobs-status")
        expect(status).to_have_text("Succeeded", timeout=60000)
        expect(panel.locator(".jp-Jobs-logText")).to_contain_text(sys.prefix)
        assert errors == []
    finally:
        page.context.close()


def test_clone_a_notebook_job_and_open_its_output(page: Page, lab) -> None:
    name = f"clone-{uuid.uuid4().hex[:6]}"
    write_notebook(
        lab.notebooks / f"{name}.ipynb",
        [("x = 1\nlabel = 'first'", ["parameters"]), ('print("x is", x, label)', [])],
    )
    job = lab.call(
        "POST",
        "jobs",
        {
            "name": name,
            "group": "ml-team",
            "instance_type": "cpu-small",
            "image": "python",
            "notebook": f"{name}.ipynb",
            "parameters": {"x": 7, "label": "cloned"},
        },
        expect=201,
    )
    lab.wait(job["id"], {"Succeeded"}, timeout=90)
    job = lab.call("GET", f"jobs/{job['id']}")
    command(page, "jobs:open-job", {"id": job["id"]})
    panel = page.locator(PANEL)
    detail = panel.locator(f'.jp-Jobs-detail[data-job-id="{job["id"]}"]')
    expect(detail).to_be_visible()

    # The output notebook opens in JupyterLab from the detail.
    detail.locator(".jp-Jobs-outputLink").click()
    output = page.locator(".jp-NotebookPanel:visible")
    expect(output.locator(".jp-OutputArea-output").first).to_contain_text(
        "x is 7 cloned", timeout=20000
    )
    current = page.evaluate("() => window.jupyterapp.shell.currentWidget.context.path")
    assert current == job["output_path"]

    # Clone to form: the notebook form with the job's notebook, choices and parameters.
    command(page, "jobs:open-job", {"id": job["id"]})
    detail.locator(".jp-Jobs-clone").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_contain_text(f"{name}.ipynb")
    expect(dialog.locator("#jp-Jobs-notebook-name")).to_have_value(name)
    expect(dialog.locator("#jp-Jobs-notebook-group")).to_have_value("ml-team")
    expect(dialog.locator("#jp-Jobs-notebook-image")).to_have_value("python")
    expect(dialog.locator("#jp-Jobs-notebook-parameters")).to_have_value('x = 7\nlabel = "cloned"')
    expect(dialog).to_contain_text("Prefilled from the job you cloned")
    dialog.locator("#jp-Jobs-notebook-parameters").fill('x = 8\nlabel = "clone 2"')
    dialog.get_by_role("button", name="Submit").click()
    expect(page.locator(".Toastify__toast", has_text=f'Submitted "{name}"')).to_be_visible()
    jobs = lab.call("GET", f"jobs?q={name}")["jobs"]
    assert len(jobs) == 2
    clone = jobs[0]
    assert clone["notebook"] == f"{name}.ipynb"
    assert clone["parameters"] == {"x": 8, "label": "clone 2"}
    assert (clone["group"], clone["image"]) == ("ml-team", "python")
    assert lab.wait(clone["id"], {"Succeeded", "Failed"}, timeout=90)["status"] == "Succeeded"


def test_rerunning_a_job_of_someone_else_shows_it_and_asks_first(page: Page, lab) -> None:
    tag = uuid.uuid4().hex[:6]
    theirs = insert_job_of_other_user(
        lab, f"bobrerun{tag}", f"bobs-{tag}", f"echo ran-as-$JOB_USER-{tag}"
    )
    panel = open_panel(page)
    panel.locator(".jp-Jobs-search input, input.jp-Jobs-search").first.fill(theirs.name)
    expect(row(page, theirs.id)).to_be_visible()

    # From the list: asked, shown the command; Cancel reruns nothing.
    row(page, theirs.id).locator(".jp-Jobs-rerun").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_contain_text("Rerun a job of bob?")
    expect(dialog).to_contain_text("bob submitted this job")
    expect(dialog).to_contain_text("runs as you (alice)")
    expect(dialog.locator("pre")).to_have_text(theirs.command)
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    page.wait_for_timeout(500)
    assert len(lab.call("GET", f"jobs?q={theirs.name}")["jobs"]) == 1

    # From the detail: confirmed, it runs as alice.
    row(page, theirs.id).locator(".jp-Jobs-name").click()
    panel.locator(".jp-Jobs-detailActions .jp-Jobs-rerun").click()
    expect(dialog.locator("pre")).to_have_text(theirs.command)
    dialog.get_by_role("button", name="Rerun as me").click()
    rerun_of = panel.locator('.jp-Jobs-fields tr[data-field="rerun_of"] td')
    expect(rerun_of).to_have_text(theirs.id)
    jobs = lab.call("GET", f"jobs?q={theirs.name}")["jobs"]
    assert [(j["user"], j["rerun_of"]) for j in jobs] == [("alice", theirs.id), ("bob", None)]
    expect(panel.locator(".jp-Jobs-logText")).to_contain_text(f"ran-as-alice-{tag}", timeout=30000)

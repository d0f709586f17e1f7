"""Submit the open notebook as a job with a parameter, then open its output notebook."""

from __future__ import annotations

import json
import uuid

from helpers import PANEL, close_panel, command, open_panel, screenshot
from playwright.sync_api import Page, expect


def write_notebook(path, cells: list[tuple[str, list[str]]]) -> None:
    notebook = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
        },
        "cells": [
            {
                "id": uuid.uuid4().hex[:8],
                "cell_type": "code",
                "metadata": {"tags": tags},
                "source": source,
                "outputs": [],
                "execution_count": None,
            }
            for source, tags in cells
        ],
    }
    path.write_text(json.dumps(notebook))


def test_submit_the_open_notebook_with_a_parameter_and_open_its_output(page: Page, lab) -> None:
    name = f"params-{uuid.uuid4().hex[:6]}"
    write_notebook(
        lab.notebooks / f"{name}.ipynb",
        [
            ("x = 1  # how many\nlabel = 'first'", ["parameters"]),
            ('print("x is", x, "label is", label)\nresult = x * 2', []),
            ('print("result", result)', []),
        ],
    )
    close_panel(page)
    command(page, "docmanager:open", {"path": f"{name}.ipynb"})
    notebook = page.locator(".jp-NotebookPanel:visible")
    expect(notebook.locator(".jp-Cell").first).to_be_visible()
    notebook.locator(".jp-Jobs-submitNotebookButton").click()

    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_contain_text("Submit notebook as job")
    expect(dialog.locator("#jp-Jobs-notebook-name")).to_have_value(name)
    parameters = dialog.locator("#jp-Jobs-notebook-parameters")
    expect(parameters).to_have_value('x = 1\nlabel = "first"')
    expect(dialog).to_contain_text("Prefilled from the notebook's parameters cell")
    dialog.locator("#jp-Jobs-notebook-group").select_option("research")
    dialog.locator("#jp-Jobs-notebook-image").select_option("python")

    # A line that is not `name = value` is refused in the dialog, next to the field,
    # and Submit is disabled until it is fixed.
    parameters.fill("x = 42\nnot a parameter")
    expect(dialog.locator('.jp-Jobs-fieldError[data-field="parameters"]')).to_contain_text(
        "line 2: expected name = value"
    )
    expect(dialog.get_by_role("button", name="Submit")).to_be_disabled()
    parameters.fill("x = 42\nlabel = the answer")
    expect(dialog.locator('.jp-Jobs-fieldError[data-field="parameters"]')).to_have_count(0)
    expect(dialog.get_by_role("button", name="Submit")).to_be_enabled()
    screenshot(page, "submit-notebook-dialog", page.locator(".jp-Dialog-content"))
    page.locator(".jp-Dialog").get_by_role("button", name="Submit").click()

    toast = page.locator(".Toastify__toast", has_text=f'Submitted "{name}"')
    expect(toast).to_be_visible(timeout=15000)
    toast.get_by_role("button", name="Show job").click()
    panel = page.locator(PANEL)
    expect(panel.locator(".jp-Jobs-detail")).to_be_visible()
    fields = panel.locator(".jp-Jobs-fields")
    expect(fields.locator('tr[data-field="notebook"] td')).to_have_text(f"{name}.ipynb")
    expect(fields.locator('tr[data-field="parameters"] td')).to_have_text(
        'x = 42\nlabel = "the answer"'
    )
    expect(panel.locator(".jp-Jobs-detailTitle .jp-Jobs-status")).to_have_text(
        "Succeeded", timeout=90000
    )
    job_id = panel.locator(".jp-Jobs-detail").get_attribute("data-job-id")
    job = lab.call("GET", f"jobs/{job_id}")
    assert job["parameters"] == {"x": 42, "label": "the answer"}
    assert not job["output_path"].startswith("/"), job["output_path"]

    # One click opens the executed notebook in JupyterLab.
    link = fields.locator(".jp-Jobs-outputLink")
    expect(link).to_have_text(job["output_path"])
    link.click()
    output_tab = page.locator(".jp-NotebookPanel:visible")
    expect(output_tab.locator(".jp-OutputArea-output").first).to_contain_text(
        "x is 42 label is the answer", timeout=20000
    )
    expect(output_tab).to_contain_text("result 84")
    current = page.evaluate("() => window.jupyterapp.shell.currentWidget.context.path")
    assert current == job["output_path"]


def test_file_browser_context_menu_submits_a_notebook(page: Page, lab) -> None:
    name = f"menu-{uuid.uuid4().hex[:6]}"
    write_notebook(lab.notebooks / f"{name}.ipynb", [('print("from the menu")', [])])
    command(page, "filebrowser:activate")
    command(page, "filebrowser:go-to-path", {"path": "/"})
    item = page.locator(f'.jp-DirListing-item[title*="{name}.ipynb"]')
    expect(item).to_be_visible(timeout=15000)
    item.click(button="right")
    page.locator(".lm-Menu-item", has_text="Submit Notebook as Job").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog.locator("#jp-Jobs-notebook-name")).to_have_value(name)
    expect(dialog.locator("#jp-Jobs-notebook-parameters")).to_have_value("")
    expect(dialog).to_contain_text('no cell tagged "parameters"')
    dialog.locator("#jp-Jobs-notebook-group").select_option("ml-team")
    dialog.get_by_role("button", name="Submit").click()
    toast = page.locator(".Toastify__toast", has_text=f'Submitted "{name}"')
    expect(toast).to_be_visible(timeout=15000)
    jobs = lab.call("GET", f"jobs?q={name}")["jobs"]
    assert len(jobs) == 1
    assert jobs[0]["notebook"] == f"{name}.ipynb"
    assert jobs[0]["group"] == "ml-team"
    lab.wait(jobs[0]["id"], {"Succeeded"}, timeout=90)
    open_panel(page)

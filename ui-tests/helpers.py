"""Steps the browser tests share: open the panel, find rows, take screenshots."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from conftest import OTHER_USER, REPO, SCREENSHOTS, LabServer
from factories import make_job  # tests/factories.py (conftest puts tests/ on the path)
from playwright.sync_api import Locator, Page, expect

from jupyterlab_jobs.models import Job

DOCS_SCREENSHOTS = REPO / "docs" / "screenshots"
PANEL = "#jupyterlab-jobs-panel"


def command(page: Page, command_id: str, args: dict | None = None) -> None:
    page.evaluate(
        "async ([id, args]) => { await window.jupyterapp.commands.execute(id, args); }",
        [command_id, args or {}],
    )


def open_panel(page: Page, width: int | None = 900) -> Locator:
    """Open the Jobs sidebar (through its tab) and widen it to ``width`` pixels."""
    panel = page.locator(PANEL)
    # The workspace may have restored the panel open already: a click would close it.
    page.wait_for_selector('.jp-SideBar [data-id="jupyterlab-jobs-panel"]')
    if not panel.is_visible():
        page.locator('.jp-SideBar [data-id="jupyterlab-jobs-panel"]').click()
    expect(panel).to_be_visible()
    if width is not None:
        handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").first
        box = handle.bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 300)
        page.mouse.down()
        page.mouse.move(width + 33, box["y"] + 300, steps=5)
        page.mouse.up()
    return panel


def close_panel(page: Page) -> None:
    """Collapse the Jobs sidebar if the workspace restored it open (the main area is then
    wide enough for a notebook's whole toolbar)."""
    page.wait_for_selector('.jp-SideBar [data-id="jupyterlab-jobs-panel"]')
    if page.locator(PANEL).is_visible():
        page.locator('.jp-SideBar [data-id="jupyterlab-jobs-panel"]').click()
    expect(page.locator(PANEL)).to_be_hidden()


def row(page: Page, job_id: str) -> Locator:
    return page.locator(f'{PANEL} .jp-Jobs-jobRow[data-job-id="{job_id}"]')


def set_theme(page: Page, theme: str) -> None:
    command(page, "apputils:change-theme", {"theme": theme})
    page.wait_for_function(
        "theme => document.body.dataset.jpThemeName === theme", arg=theme, timeout=20000
    )
    page.wait_for_timeout(300)


def screenshot(page: Page, name: str, locator: Locator | None = None) -> Path:
    """Save a screenshot into test-output/screenshots and copy it to docs/screenshots."""
    path = SCREENSHOTS / f"{name}.png"
    (locator or page).screenshot(path=str(path))
    DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, DOCS_SCREENSHOTS / path.name)
    return path


def insert_job_of_other_user(lab: LabServer, job_id: str, name: str, command: str) -> Job:
    """A finished job that OTHER_USER submitted to "research", written into the store."""
    now = time.time()
    theirs = make_job(
        id=job_id,
        name=name,
        user=OTHER_USER,
        instance_type="cpu-small",
        image="shell",
        command=command,
        status="Succeeded",
        created_at=now,
        started_at=now,
        finished_at=now,
        exit_code=0,
    )
    lab.store().insert_many([theirs])
    return theirs

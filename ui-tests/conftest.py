"""Fixtures of the browser tests: a real JupyterLab with jupyterlab-jobs, and Chromium.

The server runs from the project venv with a temporary config, data, settings and
workspace directory, a small demo-like catalog, and JupyterLab's news and update checks
turned off. The browser is Debian's Chromium driven by Playwright's sync API.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests"))
from server_process import ServerProcess  # noqa: E402  (tests/server_process.py)

OUTPUT = REPO / "test-output"
SCREENSHOTS = OUTPUT / "screenshots"
TOKEN = "ui-test-token"
SESSION_START = time.time()
# A loaded 2-core CI machine is slower than a laptop: wait longer than Playwright's 5 s.
expect.set_options(timeout=15000)
# Debian's Chromium (`make chromium`), found on PATH; CHROMIUM=... overrides it.
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
# Another user of the groups, whose jobs "Submitted by me" must hide.
OTHER_USER = "bob"


def server_config(data_dir: Path, project_root: Path) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyterlab_jobs": True}},
        "JobsApp": {
            "data_dir": str(data_dir),
            "standalone_user": "alice",
            "reconcile_interval_seconds": 1,
            "instance_types": [
                {
                    "name": "cpu-small",
                    "display_name": "CPU small",
                    "cpu": 0.5,
                    "memory": "512Mi",
                    "description": "Half a CPU, 512 MiB",
                },
                {
                    "name": "cpu-1",
                    "display_name": "CPU 1",
                    "cpu": 1,
                    "memory": "1Gi",
                    "description": "1 CPU, 1 GiB",
                },
                {
                    "name": "gpu-1",
                    "display_name": "GPU 1",
                    "cpu": 1,
                    "memory": "1Gi",
                    "gpu": 1,
                    "description": "1 GPU: this machine has none, so the server refuses it",
                },
            ],
            "images": [
                {
                    "name": "shell",
                    "display_name": "System shell",
                    "description": "bash and system tools",
                },
                {
                    "name": "python",
                    "display_name": "Python (server environment)",
                    "prefix": sys.prefix,
                    "description": "The Python environment JupyterLab runs in",
                },
            ],
            "groups": [
                {
                    "name": "research",
                    "display_name": "Research",
                    "instance_types": ["cpu-small", "cpu-1", "gpu-1"],
                    "images": ["shell", "python"],
                    "users": ["*"],
                },
                {
                    "name": "ml-team",
                    "display_name": "ML team",
                    "instance_types": ["cpu-small"],
                    "images": ["python"],
                    "users": ["*"],
                },
                {
                    "name": "ops",
                    "display_name": "Operations",
                    "instance_types": ["cpu-small"],
                    "images": ["shell"],
                    "users": ["carol"],
                },
            ],
        },
        # Group directories inside the Jupyter root, so output notebooks open in JupyterLab.
        "LocalBackend": {
            "project_root": str(project_root),
            "max_concurrent_jobs": 8,
            "cpu_capacity": 8,
            "grace_seconds": 2,
        },
    }


NOTIFICATION_SETTINGS = {"fetchNews": "false", "checkForUpdates": False}
# Faster polling than the default 5 s, and few log lines kept, so both can be seen.
JOBS_SETTINGS = {"pollInterval": 1, "logLines": 200, "notifications": True}


def write_lab_settings(settings: Path) -> None:
    """The test settings (no news popup, fast polling) into a JupyterLab settings dir."""
    for plugin, values in (
        ("jupyterlab-jobs/plugin", JOBS_SETTINGS),
        ("@jupyterlab/apputils-extension/notification", NOTIFICATION_SETTINGS),
    ):
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def checkout_jupyter_path(root: Path) -> str:
    """A JUPYTER_PATH (under ``root``) whose labextension is this checkout's.

    This checkout's labextension (what `make build` built) goes first, ahead of the one
    installed in the venv: a worktree's browser tests run its own frontend. JUPYTER_PATH
    comes before the venv's and the user's data directories.
    """
    checkout = root / "checkout"
    (checkout / "labextensions").mkdir(parents=True, exist_ok=True)
    link = checkout / "labextensions" / "jupyterlab-jobs"
    if not link.is_symlink():
        link.symlink_to(REPO / "jupyterlab_jobs" / "labextension", target_is_directory=True)
    return str(checkout)


class LabServer(ServerProcess):
    """`jupyter lab` in a subprocess, with its own directories under ``root``."""

    def __init__(self, root: Path) -> None:
        settings = root / "lab" / "user-settings"
        super().__init__(
            root,
            {},
            "lab",
            app="jupyterlab",
            token=TOKEN,
            # window.jupyterapp, to run commands and read state from the tests.
            extra_args=["--LabApp.expose_app_in_browser=True"],
            extra_env={
                "JUPYTERLAB_SETTINGS_DIR": str(settings),
                "JUPYTERLAB_WORKSPACES_DIR": str(root / "lab" / "workspaces"),
            },
        )
        self.settings = settings
        self.data_dir = self.root / "jobs"
        self.config = server_config(self.data_dir, self.notebooks / "projects")

    @property
    def lab_url(self) -> str:
        return f"{self.base_url}lab?token={TOKEN}"

    def start(self, timeout: float = 90) -> LabServer:
        (self.root / "workspaces").mkdir(parents=True, exist_ok=True)
        write_lab_settings(self.settings)
        self.extra_env["JUPYTER_PATH"] = checkout_jupyter_path(self.root)
        super().start(timeout)
        return self

    def put_settings(self, plugin: str, settings: dict[str, Any]) -> None:
        """Save a plugin's user settings through JupyterLab's settings API."""
        request = urllib.request.Request(
            f"{self.base_url}lab/api/settings/{plugin}",
            data=json.dumps({"raw": json.dumps(settings)}).encode(),
            method="PUT",
            headers={"Authorization": f"token {TOKEN}"},
        )
        with urllib.request.urlopen(request, timeout=30):
            pass

    def submit(self, name: str, command: str, group: str = "research", **extra: Any) -> Any:
        body = {
            "name": name,
            "group": group,
            "instance_type": "cpu-small",
            "image": "shell",
            "command": command,
            **extra,
        }
        return self.call("POST", "jobs", body)

    def store(self) -> Any:
        """The server's job store, opened from this process (SQLite WAL is shared)."""
        from jupyterlab_jobs.store import Store

        return Store(self.data_dir / "jobs.sqlite")


@pytest.fixture(scope="session")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    server = LabServer(tmp_path_factory.mktemp("lab")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is missing: run `make chromium` (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=CHROMIUM_FLAGS,
            headless=True,
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session", autouse=True)
def clean_screenshots() -> None:
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)
    SCREENSHOTS.mkdir(parents=True)


def open_lab(browser: Browser, lab: LabServer, width: int = 1400, height: int = 900) -> Page:
    """A new browser page showing JupyterLab, once its shell is ready."""
    context = browser.new_context(
        viewport={"width": width, "height": height}, accept_downloads=True
    )
    page = context.new_page()
    page.set_default_timeout(20000)
    page.goto(lab.lab_url)
    wait_for_lab(page)
    return page


def wait_for_lab(page: Page) -> None:
    """Wait until the JupyterLab the page is loading has its shell ready."""
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60000)
    page.wait_for_function("() => !!window.jupyterapp")
    # Restored: the workspace's layout (e.g. an open sidebar) is in place.
    page.evaluate("async () => { await window.jupyterapp.restored; }")
    page.wait_for_selector("#jp-main-dock-panel")


@pytest.fixture
def page(browser: Browser, lab: LabServer, request: pytest.FixtureRequest) -> Iterator[Page]:
    page = open_lab(browser, lab)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "dialog",
        lambda dialog: (errors.append(f"browser dialog: {dialog.message}"), dialog.dismiss()),
    )
    page.errors = errors  # type: ignore[attr-defined]
    try:
        yield page
    finally:
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed:
            page.screenshot(path=str(OUTPUT / f"failure-{request.node.name}.png"))
        page.context.close()


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    perf = OUTPUT / "perf.json"
    if perf.exists() and perf.stat().st_mtime > SESSION_START:
        terminalreporter.write_sep("-", "10 000 jobs in the panel (test-output/perf.json)")
        for key, value in json.loads(perf.read_text()).items():
            terminalreporter.write_line(f"{key}: {value}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """test_jobs.py runs first, in its own order: its first test needs the session's lab
    server before any job exists, and the next ones start from the page it leaves (newer
    test files sort before it)."""
    items.sort(key=lambda item: item.path.name != "test_jobs.py")

"""Fixtures of the browser tests: a real JupyterLab with jupyterlab-jobs, and Chromium.

The server runs from the project venv with a temporary config, data, settings and
workspace directory, a small demo-like catalog, and JupyterLab's news and update checks
turned off. The browser is Debian's Chromium driven by Playwright's sync API.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
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

SERVER_CONFIG = """
import sys
c = get_config()  # noqa: F821
c.ServerApp.jpserver_extensions = {{"jupyterlab_jobs": True}}
c.JobsApp.data_dir = {data_dir!r}
# Group directories inside the Jupyter root, so output notebooks open in JupyterLab.
c.LocalBackend.project_root = {project_root!r}
c.JobsApp.standalone_user = "alice"
c.JobsApp.reconcile_interval_seconds = 1
c.JobsApp.instance_types = [
    {{"name": "cpu-small", "display_name": "CPU small", "cpu": 0.5, "memory": "512Mi",
     "description": "Half a CPU, 512 MiB"}},
    {{"name": "cpu-1", "display_name": "CPU 1", "cpu": 1, "memory": "1Gi",
     "description": "1 CPU, 1 GiB"}},
    {{"name": "gpu-1", "display_name": "GPU 1", "cpu": 1, "memory": "1Gi", "gpu": 1,
     "description": "1 GPU: this machine has none, so the server refuses it"}},
]
c.JobsApp.images = [
    {{"name": "shell", "display_name": "System shell", "description": "bash and system tools"}},
    {{"name": "python", "display_name": "Python (server environment)", "prefix": sys.prefix,
     "description": "The Python environment JupyterLab runs in"}},
]
c.JobsApp.groups = [
    {{"name": "research", "display_name": "Research",
     "instance_types": ["cpu-small", "cpu-1", "gpu-1"], "images": ["shell", "python"],
     "users": ["*"]}},
    {{"name": "ml-team", "display_name": "ML team",
     "instance_types": ["cpu-small"], "images": ["python"], "users": ["*"]}},
    {{"name": "ops", "display_name": "Operations",
     "instance_types": ["cpu-small"], "images": ["shell"], "users": ["carol"]}},
]
c.LocalBackend.max_concurrent_jobs = 8
c.LocalBackend.cpu_capacity = 8
c.LocalBackend.grace_seconds = 2
"""

NOTIFICATION_SETTINGS = {"fetchNews": "false", "checkForUpdates": False}
# Faster polling than the default 5 s, and few log lines kept, so both can be seen.
JOBS_SETTINGS = {"pollInterval": 1, "logLines": 200, "notifications": True}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LabServer:
    """`jupyter lab` in a subprocess, with its own directories under ``root``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.notebooks = root / "notebooks"
        self.data_dir = root / "jobs"

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def lab_url(self) -> str:
        return f"{self.base_url}lab?token={TOKEN}"

    def start(self, timeout: float = 90) -> LabServer:
        config, settings = self.root / "config", self.root / "user-settings"
        for path in (
            config,
            self.root / "data",
            self.root / "runtime",
            self.notebooks,
            self.root / "workspaces",
            settings / "@jupyterlab" / "apputils-extension",
            settings / "jupyterlab-jobs",
        ):
            path.mkdir(parents=True, exist_ok=True)
        (settings / "jupyterlab-jobs" / "plugin.jupyterlab-settings").write_text(
            json.dumps(JOBS_SETTINGS)
        )
        (config / "jupyter_server_config.py").write_text(
            textwrap.dedent(
                SERVER_CONFIG.format(
                    data_dir=str(self.data_dir), project_root=str(self.notebooks / "projects")
                )
            )
        )
        (
            settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
        ).write_text(json.dumps(NOTIFICATION_SETTINGS))
        env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTERHUB_")}
        env.update(
            JUPYTER_CONFIG_DIR=str(config),
            JUPYTER_DATA_DIR=str(self.root / "data"),
            JUPYTER_RUNTIME_DIR=str(self.root / "runtime"),
            JUPYTERLAB_SETTINGS_DIR=str(settings),
            JUPYTERLAB_WORKSPACES_DIR=str(self.root / "workspaces"),
        )
        self.log_path = self.root / "server.log"
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "jupyterlab",
                "--allow-root",
                "--no-browser",
                "--ServerApp.ip=127.0.0.1",
                f"--ServerApp.port={self.port}",
                "--ServerApp.port_retries=0",
                f"--IdentityProvider.token={TOKEN}",
                f"--ServerApp.root_dir={self.notebooks}",
                # window.jupyterapp, to run commands and read state from the tests.
                "--LabApp.expose_app_in_browser=True",
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        end = time.monotonic() + timeout
        while True:
            try:
                self.call("GET", "options")
                return self
            except (urllib.error.URLError, ConnectionError):
                if self.process.poll() is not None or time.monotonic() > end:
                    raise RuntimeError(f"JupyterLab did not start:\n{self.tail()}") from None
                time.sleep(0.2)

    def tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        if method == "POST" and data is None:
            data = b""
        request = urllib.request.Request(
            f"{self.base_url}jupyterlab-jobs/{path}",
            data=data,
            method=method,
            headers={"Authorization": f"token {TOKEN}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            payload = response.read()
            kind = response.headers.get("Content-Type", "")
            return json.loads(payload) if "json" in kind else payload.decode()

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

    def wait(self, job_id: str, statuses: set[str], timeout: float = 60) -> Any:
        end = time.monotonic() + timeout
        while True:
            job = self.call("GET", f"jobs/{job_id}")
            if job["status"] in statuses:
                return job
            assert time.monotonic() < end, f"job stayed {job['status']}: {job}"
            time.sleep(0.1)

    def store(self) -> Any:
        """The server's job store, opened from this process (SQLite WAL is shared)."""
        from jupyterlab_jobs.store import Store

        return Store(self.data_dir / "jobs.sqlite")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.log.close()


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
    page.wait_for_selector("#jupyterlab-splash", state="detached", timeout=60000)
    page.wait_for_function("() => !!window.jupyterapp")
    # Restored: the workspace's layout (e.g. an open sidebar) is in place.
    page.evaluate("async () => { await window.jupyterapp.restored; }")
    page.wait_for_selector("#jp-main-dock-panel")
    return page


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

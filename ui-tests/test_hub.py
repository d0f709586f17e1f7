"""The Jobs panel in a user's JupyterLab on a real JupyterHub (the service mode).

The hub is the `make run-hub` demo (tests/hub_process.py): hub groups research (alice,
carol) and ops (bob, carol), the jobs service hub-managed as `jobs`, each user's
JupyterLab a local process with the extension in client mode. alice logs in through the
hub's login page; the other users submit straight to the service with their own tokens.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from conftest import OUTPUT, SCREENSHOTS, checkout_jupyter_path, wait_for_lab, write_lab_settings
from helpers import PANEL, open_panel, row
from hub_process import HubProcess  # tests/hub_process.py
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.timeout(600)

QUICK = {"instance_type": "cpu-small", "image": "shell", "command": "echo hello"}


def hub_config(jupyter_path: str, settings: str) -> str:
    """The demo's config plus what the browser needs in the users' servers: this
    checkout's labextension, the test settings (fast polling, no news popup) and
    window.jupyterapp."""
    return f"""
import os
c.Spawner.environment = {{
    **c.Spawner.environment,
    "JUPYTER_PATH": {jupyter_path!r},
    "JUPYTERLAB_SETTINGS_DIR": {settings!r},
}}
c.Spawner.args = (["--allow-root"] if os.getuid() == 0 else []) + [
    "--LabApp.expose_app_in_browser=True",
]
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    root = tmp_path_factory.mktemp("hub")
    settings = root / "user-settings"
    write_lab_settings(settings)
    process = HubProcess(root, hub_config(checkout_jupyter_path(root), str(settings)))
    process.start()
    try:
        yield process
    finally:
        process.stop()


def submit(hub: HubProcess, user: str, group: str, name: str) -> Any:
    """Submit a job straight to the jobs service with ``user``'s own hub token."""
    url = hub.service_url + "jupyterlab-jobs/jobs"
    reply = hub.request("POST", url, hub.token(user), {"name": name, "group": group, **QUICK})
    assert reply.status == 201, reply
    return reply.json


def shown_names(page: Page) -> list[str]:
    return sorted(page.locator(f"{PANEL} .jp-Jobs-jobRow .jp-Jobs-name").all_inner_texts())


def log_in(page: Page, hub: HubProcess, user: str) -> None:
    """Log in on the hub's login page; the hub starts the user's server and the browser
    lands in their JupyterLab."""
    page.goto(f"{hub.url}/hub/login")
    page.locator("#username_input").fill(user)
    page.locator("#password_input").fill("any password")
    page.locator("#login_submit").click()
    # The spawn-pending page waits for the server, then goes to its default URL (/lab).
    page.wait_for_url(f"{hub.url}/user/{user}/lab**", timeout=180000)
    wait_for_lab(page)


def test_a_hub_user_sees_only_their_groups_jobs_live(browser: Browser, hub: HubProcess) -> None:
    # Before alice logs in: a job of her group, and jobs of a group she is not in.
    before = submit(hub, "carol", "research", "research-before")
    submit(hub, "bob", "ops", "ops-of-bob")
    submit(hub, "carol", "ops", "ops-of-carol")

    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    page.set_default_timeout(20000)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        log_in(page, hub, "alice")
        panel = open_panel(page)
        # Only alice's hub groups (intersected with the catalog) are offered.
        options = panel.locator(".jp-Jobs-groupFilter select option")
        expect(options).to_have_text(["All my groups", "Research"])
        expect(row(page, before["id"])).to_contain_text("carol")
        assert shown_names(page) == ["research-before"]

        # Live: jobs submitted meanwhile appear without a reload; the other group's don't.
        page.evaluate("() => { window.notReloaded = true; }")
        submit(hub, "bob", "ops", "ops-live-of-bob")
        submit(hub, "carol", "ops", "ops-live-of-carol")
        live = submit(hub, "carol", "research", "research-live")
        expect(row(page, live["id"])).to_contain_text("carol")
        expect(row(page, live["id"]).locator(".jp-Jobs-status")).to_have_text("Succeeded")
        # A few more refreshes (every second in the test settings) bring nothing else.
        page.wait_for_timeout(3000)
        assert shown_names(page) == ["research-before", "research-live"]
        assert page.evaluate("() => window.notReloaded") is True
        page.screenshot(path=str(SCREENSHOTS / "hub-panel.png"))
        assert errors == []
    except BaseException:
        page.screenshot(path=str(OUTPUT / "failure-hub-panel.png"))
        print(hub.log_tail())  # the hub's, the service's and alice's server's logs
        raise
    finally:
        context.close()

"""The Jobs panel in a real JupyterLab: list, form, detail, logs, actions, filters."""

from __future__ import annotations

import re
import uuid
from pathlib import Path

from conftest import JOBS_SETTINGS, open_lab
from helpers import (
    PANEL,
    command,
    insert_job_of_other_user,
    open_panel,
    row,
    screenshot,
    set_theme,
)
from playwright.sync_api import Page, expect


def search(page: Page, text: str) -> None:
    page.locator(f"{PANEL} .jp-Jobs-search input, {PANEL} input.jp-Jobs-search").first.fill(text)


def badge(page: Page, job_id: str):
    return row(page, job_id).locator(".jp-Jobs-status")


def detail_status(page: Page):
    return page.locator(f"{PANEL} .jp-Jobs-detailTitle .jp-Jobs-status")


def test_empty_state_tells_a_new_user_what_to_do(page: Page, lab) -> None:
    # The first test of the session: the store is still empty.
    panel = open_panel(page)
    expect(panel.locator(".jp-Jobs-empty")).to_contain_text("No jobs yet")
    expect(panel.locator(".jp-Jobs-empty")).to_contain_text("Create Job")
    # Only the user's groups are offered: not "ops".
    options = panel.locator(".jp-Jobs-groupFilter select option").all_inner_texts()
    assert sorted(options) == ["All my groups", "ML team", "Research"]
    assert page.errors == []  # type: ignore[attr-defined]


def test_palette_opens_the_panel_and_the_form(page: Page) -> None:
    page.keyboard.press("Control+Shift+C")
    palette = page.locator("#command-palette")
    expect(palette).to_be_visible()
    palette.locator("input").fill("Open Jobs Panel")
    palette.locator(".lm-CommandPalette-item", has_text="Open Jobs Panel").first.click()
    expect(page.locator(PANEL)).to_be_visible()
    page.keyboard.press("Control+Shift+C")
    palette.locator("input").fill("Create Job")
    palette.locator(".lm-CommandPalette-item", has_text="Create Job").first.click()
    expect(page.locator(f"{PANEL} .jp-Jobs-formTitle")).to_have_text("Create Job")
    page.keyboard.press("Control+Shift+C")
    palette.locator("input").fill("Submit Current Notebook as Job")
    expect(
        palette.locator(".lm-CommandPalette-item", has_text="Submit Current Notebook as Job")
    ).to_have_count(1)


def test_create_job_watch_it_run_and_read_its_live_log(page: Page, lab) -> None:
    panel = open_panel(page)
    panel.locator(".jp-Jobs-createButton").click()
    form = panel.locator("form.jp-Jobs-form")
    # Choices follow the group: ML team allows one instance type and one image.
    form.locator("#jp-Jobs-create-group").select_option("ml-team")
    assert form.locator("#jp-Jobs-create-instance-type option").all_inner_texts() == [
        "CPU small (0.5 CPU · 512Mi · no GPU)"
    ]
    assert form.locator("#jp-Jobs-create-image option").all_inner_texts() == [
        "Python (server environment)"
    ]
    form.locator("#jp-Jobs-create-group").select_option("research")
    form.locator("#jp-Jobs-create-instance-type").select_option("cpu-1")
    expect(form.locator(".jp-Jobs-resources")).to_contain_text("1 CPU")
    expect(form.locator(".jp-Jobs-resources")).to_contain_text("1Gi memory")
    expect(form.locator(".jp-Jobs-resources")).to_contain_text("0 GPU")
    form.locator("#jp-Jobs-create-image").select_option("shell")
    form.locator("#jp-Jobs-create-name").fill("count to three")
    form.locator("#jp-Jobs-create-command").fill(
        'echo "job $JOB_NAME in $PRIMEHUB_GROUP"\n'
        "for i in 1 2 3; do echo line-$i; sleep 1.5; done\necho done"
    )
    screenshot(page, "create-form-light", panel)
    form.locator(".jp-Jobs-submit").click()

    # The detail of the new job opens; it goes Running, then Succeeded.
    expect(detail_status(page)).to_have_text("Running", timeout=20000)
    log = panel.locator(".jp-Jobs-logText")
    expect(log).to_contain_text("line-1", timeout=10000)
    # Live: the log shows output while the job still runs.
    expect(detail_status(page)).to_have_text("Running")
    expect(panel.locator(".jp-Jobs-logsState")).to_have_text("Following live output")
    expect(detail_status(page)).to_have_text("Succeeded", timeout=30000)
    expect(log).to_contain_text("job count to three in research")
    expect(log).to_contain_text("line-3\ndone")
    fields = panel.locator(".jp-Jobs-fields")
    for field, value in [
        ("name", "count to three"),
        ("group", "research"),
        ("instance_type", "CPU 1"),
        ("image", "System shell"),
        ("user", "alice"),
        ("schedule", "-"),
        ("exit_code", "0"),
    ]:
        expect(fields.locator(f'tr[data-field="{field}"] td')).to_contain_text(value)
    for field in ("started_at", "finished_at", "duration", "id", "message", "status"):
        expect(fields.locator(f'tr[data-field="{field}"]')).to_have_count(1)
    expect(fields.locator('tr[data-field="command"] pre')).to_contain_text("for i in 1 2 3")
    expect(panel.locator(".jp-Jobs-logsState")).to_contain_text("whole output")
    screenshot(page, "detail-logs-light", panel)

    # Download the full log.
    with page.expect_download() as download:
        panel.locator(".jp-Jobs-download").click()
    path = download.value.path()
    assert path is not None
    assert "line-2" in Path(path).read_text()

    set_theme(page, "JupyterLab Dark")
    try:
        screenshot(page, "detail-logs-dark", panel)
        panel.locator(".jp-Jobs-back").click()
        panel.locator(".jp-Jobs-createButton").click()
        screenshot(page, "create-form-dark", panel)
    finally:
        set_theme(page, "JupyterLab Light")


def test_live_log_keeps_the_last_lines_and_stops_following_when_scrolled_up(
    page: Page, lab
) -> None:
    # logLines is 200 in the test settings.
    job = lab.submit(
        "long log",
        "for i in $(seq 1 600); do echo row-$i; done; sleep 3; "
        "for i in $(seq 601 1000); do echo row-$i; done; sleep 1",
    )
    open_panel(page)
    command(page, "jobs:open-job", {"id": job["id"]})
    log = page.locator(f"{PANEL} .jp-Jobs-logText")
    expect(log).to_contain_text("row-600", timeout=20000)
    expect(page.locator(f"{PANEL} .jp-Jobs-logsTruncated")).to_contain_text("last 200 lines")
    # Following: scrolled to the bottom.
    page.wait_for_function(
        "el => el.scrollHeight - el.scrollTop - el.clientHeight < 8",
        arg=log.element_handle(),
    )
    log.evaluate("el => { el.scrollTop = 0; el.dispatchEvent(new Event('scroll')); }")
    expect(page.locator(f"{PANEL} .jp-Jobs-follow")).to_be_visible()
    expect(log).to_contain_text("row-1000", timeout=20000)
    # New output did not pull the view down while the user reads above.
    assert log.evaluate("el => el.scrollTop") < 50
    lines = log.inner_text().strip().splitlines()
    assert len(lines) <= 201
    assert lines[-1] == "row-1000"
    assert "row-1\n" not in log.inner_text()
    page.locator(f"{PANEL} .jp-Jobs-follow").click()
    page.wait_for_function(
        "el => el.scrollHeight - el.scrollTop - el.clientHeight < 8",
        arg=log.element_handle(),
    )


def test_logs_removed_by_retention_are_explained(page: Page, lab) -> None:
    job = lab.submit("old job", "echo old output")
    lab.wait(job["id"], {"Succeeded"})
    lab.store().update(job["id"], logs_available=False)
    open_panel(page)
    command(page, "jobs:open-job", {"id": job["id"]})
    expect(page.locator(f"{PANEL} .jp-Jobs-logsGone")).to_contain_text(
        "removed by the retention policy"
    )
    expect(page.locator(f"{PANEL} .jp-Jobs-logsGone")).to_contain_text("7 days")


def test_validation_errors_are_shown_next_to_their_field(page: Page, lab) -> None:
    panel = open_panel(page)
    panel.locator(".jp-Jobs-createButton").click()
    form = panel.locator("form.jp-Jobs-form")
    requests: list[str] = []
    page.on(
        "request",
        lambda r: requests.append(r.url) if r.method == "POST" and "/jobs" in r.url else None,
    )
    # Client side: nothing is sent.
    form.locator("#jp-Jobs-create-name").fill("x" * 201)
    form.locator(".jp-Jobs-submit").click()
    expect(form.locator('.jp-Jobs-fieldError[data-field="name"]')).to_have_text(
        "Job name must be at most 200 characters"
    )
    expect(form.locator('.jp-Jobs-fieldError[data-field="command"]')).to_have_text(
        "Command is required"
    )
    assert requests == []
    # Server side: the 400's message next to the field it names.
    form.locator("#jp-Jobs-create-name").fill("needs a gpu")
    form.locator("#jp-Jobs-create-command").fill("nvidia-smi")
    form.locator("#jp-Jobs-create-group").select_option("research")
    form.locator("#jp-Jobs-create-instance-type").select_option("gpu-1")
    form.locator(".jp-Jobs-submit").click()
    error = form.locator('.jp-Jobs-fieldError[data-field="instance_type"]')
    expect(error).to_contain_text("GPU")
    assert len(requests) == 1
    screenshot(page, "create-form-server-error", panel)
    # The form is still there, with what the user typed.
    expect(form.locator("#jp-Jobs-create-name")).to_have_value("needs a gpu")


def test_filter_by_group_and_submitted_by_me(page: Page, lab) -> None:
    tag = uuid.uuid4().hex[:6]
    mine_research = lab.submit(f"f-{tag}-research", "true")
    mine_ml = lab.submit(f"f-{tag}-ml", "true", group="ml-team", image="python")
    theirs = insert_job_of_other_user(lab, f"bob{tag}", f"f-{tag}-bob", "true")
    panel = open_panel(page)
    search(page, f"f-{tag}")
    rows = panel.locator(".jp-Jobs-jobRow")
    expect(rows).to_have_count(3)
    expect(row(page, theirs.id)).to_contain_text("bob")

    panel.locator(".jp-Jobs-groupFilter select").select_option("ml-team")
    expect(rows).to_have_count(1)
    expect(row(page, mine_ml["id"])).to_be_visible()

    panel.locator(".jp-Jobs-groupFilter select").select_option("")
    expect(rows).to_have_count(3)
    panel.locator(".jp-Jobs-mineFilter").check()
    expect(rows).to_have_count(2)
    expect(row(page, theirs.id)).to_have_count(0)
    expect(row(page, mine_research["id"])).to_be_visible()

    panel.locator(".jp-Jobs-groupFilter select").select_option("research")
    expect(rows).to_have_count(1)
    expect(row(page, mine_research["id"])).to_be_visible()

    panel.locator(".jp-Jobs-mineFilter").uncheck()
    panel.locator(".jp-Jobs-statusFilter select").select_option("Running")
    expect(panel.locator(".jp-Jobs-empty")).to_contain_text("No jobs match these filters")
    panel.locator(".jp-Jobs-empty button").click()
    expect(panel.locator(".jp-Jobs-groupFilter select")).to_have_value("")


def test_cancel_a_running_job_after_confirming(page: Page, lab) -> None:
    job = lab.submit(f"cancel-me-{uuid.uuid4().hex[:6]}", "echo started; sleep 120")
    lab.wait(job["id"], {"Running"})
    open_panel(page)
    search(page, job["name"])
    expect(badge(page, job["id"])).to_have_text("Running")
    # The duration counts up while it runs.
    duration = row(page, job["id"]).locator(".jp-Jobs-duration")
    first = duration.inner_text()
    expect(duration).not_to_have_text(first, timeout=5000)

    row(page, job["id"]).locator(".jp-Jobs-cancel").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_contain_text("Cancel job?")
    dialog.get_by_role("button", name="Keep running").click()
    expect(dialog).to_have_count(0)
    assert lab.call("GET", f"jobs/{job['id']}")["status"] == "Running"

    row(page, job["id"]).locator(".jp-Jobs-cancel").click()
    page.locator(".jp-Dialog").get_by_role("button", name="Cancel job").click()
    expect(badge(page, job["id"])).to_have_text("Cancelled", timeout=20000)
    expect(row(page, job["id"]).locator(".jp-Jobs-rerun")).to_be_visible()
    assert lab.call("GET", f"jobs/{job['id']}")["message"].startswith("Cancelled by alice")


def test_rerun_a_finished_job_and_clone_it_to_the_form(page: Page, lab) -> None:
    name = f"rerun-me-{uuid.uuid4().hex[:6]}"
    job = lab.submit(name, "echo again")
    lab.wait(job["id"], {"Succeeded"})
    panel = open_panel(page)
    search(page, name)
    expect(badge(page, job["id"])).to_have_text("Succeeded")
    row(page, job["id"]).locator(".jp-Jobs-rerun").click()
    rows = panel.locator(".jp-Jobs-jobRow")
    expect(rows).to_have_count(2)
    jobs = lab.call("GET", f"jobs?q={name}")["jobs"]
    assert [j["rerun_of"] for j in jobs] == [job["id"], None]
    expect(row(page, jobs[0]["id"]).locator(".jp-Jobs-status")).to_have_text(
        "Succeeded", timeout=20000
    )

    # From the detail: Rerun opens the new job; Clone fills the form.
    row(page, job["id"]).locator(".jp-Jobs-name").click()
    panel.locator(".jp-Jobs-detailActions .jp-Jobs-rerun").click()
    expect(panel.locator('.jp-Jobs-fields tr[data-field="rerun_of"] td')).to_have_text(job["id"])
    panel.locator(".jp-Jobs-clone").click()
    form = panel.locator("form.jp-Jobs-form")
    expect(form.locator("#jp-Jobs-create-name")).to_have_value(name)
    expect(form.locator("#jp-Jobs-create-command")).to_have_value("echo again")
    expect(form.locator("#jp-Jobs-create-image")).to_have_value("shell")


def test_html_in_a_job_name_is_inert_text(page: Page, lab) -> None:
    evil = "<img src=x onerror=alert(1)>"
    job = lab.submit(evil, "echo '<script>alert(2)</script><b>bold</b>'; exit 3")
    lab.wait(job["id"], {"Failed"})
    panel = open_panel(page)
    search(page, "onerror")
    expect(row(page, job["id"]).locator(".jp-Jobs-name")).to_have_text(evil)
    row(page, job["id"]).locator(".jp-Jobs-name").click()
    expect(panel.locator(".jp-Jobs-detailName")).to_have_text(evil)
    expect(panel.locator(".jp-Jobs-logText")).to_contain_text("<script>alert(2)</script>")
    expect(panel.locator(".jp-Jobs-message")).to_contain_text("Exited with code 3")
    assert panel.locator("img, script, b").count() == 0
    page.wait_for_timeout(500)
    assert page.errors == []  # type: ignore[attr-defined]  # no alert() dialog fired


def test_notification_when_my_job_finishes_opens_its_detail(page: Page, lab) -> None:
    open_panel(page)
    page.locator(f"{PANEL} .jp-Jobs-createButton").click()
    # Watch with the panel closed: notifications do not depend on it.
    page.locator('.jp-SideBar [data-id="jupyterlab-jobs-panel"]').click()
    expect(page.locator(PANEL)).to_be_hidden()
    job = lab.submit(f"notify-{uuid.uuid4().hex[:6]}", "sleep 2; exit 1")
    toast = page.locator(".Toastify__toast", has_text=job["name"])
    expect(toast).to_contain_text("failed", timeout=30000)
    expect(toast).to_contain_text("Exited with code 1")
    toast.get_by_role("button", name="Show job").click()
    expect(page.locator(PANEL)).to_be_visible()
    expect(page.locator(f'{PANEL} .jp-Jobs-detail[data-job-id="{job["id"]}"]')).to_be_visible()


def test_notifications_can_be_turned_off(browser, lab) -> None:
    lab.put_settings("jupyterlab-jobs:plugin", {**JOBS_SETTINGS, "notifications": False})
    page = open_lab(browser, lab)
    try:
        open_panel(page)
        job = lab.submit(f"quiet-{uuid.uuid4().hex[:6]}", "sleep 3; exit 2")
        search(page, job["name"])
        # Seen running, then failed: with notifications on, this is announced.
        expect(badge(page, job["id"])).to_have_text("Running")
        expect(badge(page, job["id"])).to_have_text("Failed", timeout=30000)
        page.wait_for_timeout(3000)  # more than the watcher's interval
        expect(page.locator(".Toastify__toast", has_text=job["name"])).to_have_count(0)
    finally:
        lab.put_settings("jupyterlab-jobs:plugin", JOBS_SETTINGS)
        page.context.close()


def test_server_unreachable_is_shown_and_recovered_from(page: Page, lab) -> None:
    panel = open_panel(page)
    expect(panel.locator(".jp-Jobs-jobRow").first).to_be_visible()
    pattern = re.compile(r".*/jupyterlab-jobs/jobs\?.*")
    page.route(pattern, lambda route: route.abort("connectionrefused"))
    banner = panel.locator(".jp-Jobs-banner-offline")
    expect(banner).to_contain_text("Cannot reach the Jupyter server", timeout=15000)
    # What was loaded stays on screen.
    expect(panel.locator(".jp-Jobs-jobRow").first).to_be_visible()
    page.unroute(pattern)
    panel.locator(".jp-Jobs-refreshButton").click()
    expect(banner).to_have_count(0, timeout=30000)


def test_list_screenshot(page: Page, lab) -> None:
    running = lab.submit("train model", "sleep 30")
    lab.submit("prepare data", "sleep 30", group="ml-team", image="python")
    lab.wait(running["id"], {"Running"})
    panel = open_panel(page)
    expect(row(page, running["id"])).to_be_visible()
    page.wait_for_timeout(1200)
    screenshot(page, "list-light", panel)
    set_theme(page, "JupyterLab Dark")
    try:
        screenshot(page, "list-dark", panel)
    finally:
        set_theme(page, "JupyterLab Light")
    # In a sidebar of the usual width each job takes two lines, with every column.
    open_panel(page, width=340)
    compact = row(page, running["id"])
    expect(compact).to_have_class(re.compile("jp-Jobs-compactRow"))
    expect(compact).to_contain_text("research")
    expect(compact.locator(".jp-Jobs-cancel")).to_be_visible()
    screenshot(page, "list-narrow-light", panel)
    for job in lab.call("GET", "jobs?status=Pending,Preparing,Running&limit=200")["jobs"]:
        lab.call("POST", f"jobs/{job['id']}/cancel")

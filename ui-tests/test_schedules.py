"""Schedules in the browser: create one with a preset and see the server's words and next
runs, run it now, follow the Schedule link from the job list to its page, pause it."""

from __future__ import annotations

from helpers import PANEL, open_panel, screenshot, set_theme
from playwright.sync_api import Page, expect


def test_create_a_schedule_run_it_now_follow_its_link_and_pause_it(page: Page, lab) -> None:
    panel = open_panel(page)
    panel.locator("button.jp-Jobs-viewTab", has_text="Schedules").click()
    panel.locator("button.jp-Jobs-create", has_text="Create Schedule").click()
    form = panel.locator("form.jp-Jobs-scheduleForm")
    form.locator("#jp-Jobs-schedule-name").fill("nightly report")
    form.locator("#jp-Jobs-schedule-group").select_option("research")
    form.locator("#jp-Jobs-schedule-image").select_option("shell")
    form.locator("#jp-Jobs-schedule-command").fill("echo report")
    form.locator("#jp-Jobs-schedule-preset").select_option("weekdays")
    form.locator("#jp-Jobs-schedule-time").fill("04:00")
    form.locator("#jp-Jobs-schedule-timezone").select_option("UTC")
    # The server's words and next runs, before saving.
    expect(form.locator(".jp-Jobs-description")).to_have_text("At 04:00, Monday through Friday")
    expect(form.locator(".jp-Jobs-nextRuns li")).to_have_count(5)
    expect(form.locator(".jp-Jobs-cronText")).to_have_text("0 4 * * 1-5")
    # A custom expression that never fires is explained next to the field.
    form.locator("#jp-Jobs-schedule-preset").select_option("custom")
    form.locator("#jp-Jobs-schedule-cron").fill("0 0 31 2 *")
    expect(form.locator('.jp-Jobs-fieldError[data-field="cron"]')).to_contain_text("never")
    form.locator("#jp-Jobs-schedule-preset").select_option("weekdays")
    form.locator("#jp-Jobs-schedule-time").fill("04:00")
    expect(form.locator(".jp-Jobs-description")).to_have_text("At 04:00, Monday through Friday")
    screenshot(page, "schedule-form-light", panel)
    form.locator("button.jp-Jobs-submit").click()

    detail = panel.locator(".jp-Jobs-scheduleDetail")
    expect(detail.locator("h2")).to_have_text("nightly report")
    expect(detail.locator(".jp-Jobs-nextRuns li")).to_have_count(5)
    detail.get_by_role("button", name="Run now").click()
    expect(detail.locator(".jp-Jobs-history li")).to_have_count(1, timeout=20000)
    expect(detail.locator(".jp-Jobs-history li")).to_contain_text("Run now")
    screenshot(page, "schedule-page-light", panel)

    # The job list's Schedule column links to the schedule's page.
    panel.locator("button.jp-Jobs-viewTab", has_text="Jobs").click()
    page.locator(f"{PANEL} .jp-Jobs-scheduleLink", has_text="nightly report").first.click()
    expect(detail.locator("h2")).to_have_text("nightly report")

    detail.get_by_role("button", name="Pause").click()
    expect(detail.get_by_role("button", name="Resume")).to_be_visible()
    expect(detail.locator(".jp-Jobs-fields dd").first).to_have_text("Paused")
    panel.locator(".jp-Jobs-back", has_text="Schedules").click()
    card = panel.locator(".jp-Jobs-scheduleRow", has_text="nightly report")
    expect(card.locator(".jp-Jobs-scheduleState")).to_have_text("Paused")
    screenshot(page, "schedule-list-light", panel)
    set_theme(page, "JupyterLab Dark")
    try:
        screenshot(page, "schedule-list-dark", panel)
        card.locator(".jp-Jobs-scheduleName").click()
        screenshot(page, "schedule-page-dark", panel)
        detail.get_by_role("button", name="Edit").click()
        screenshot(page, "schedule-form-dark", panel)
    finally:
        set_theme(page, "JupyterLab Light")


def test_an_every_minute_schedule_fires_and_its_page_shows_the_run(page: Page, lab) -> None:
    """A short real schedule: its next tick is at most a minute away."""
    schedule = lab.call(
        "POST",
        "schedules",
        {
            "name": "every minute",
            "group": "research",
            "cron": "* * * * *",
            "job": {"instance_type": "cpu-small", "image": "shell", "command": "echo tick"},
        },
    )
    panel = open_panel(page)
    panel.locator("button.jp-Jobs-viewTab", has_text="Schedules").click()
    panel.locator(".jp-Jobs-scheduleRow", has_text="every minute").locator(
        ".jp-Jobs-scheduleName"
    ).click()
    history = panel.locator(".jp-Jobs-scheduleDetail .jp-Jobs-history li")
    # The page polls every 10 s: the tick (<= 60 s away) shows within 75 s.
    expect(history.first).to_contain_text("Scheduled run", timeout=75000)
    run = lab.call("GET", f"schedules/{schedule['id']}/runs")["runs"][0]["job"]
    assert run["trigger"] == "schedule" and run["schedule"]["id"] == schedule["id"]
    lab.call("POST", f"schedules/{schedule['id']}/pause")

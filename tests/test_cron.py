"""Cron in a time zone: the documented daylight-saving rule, month ends, the OR rule.

The rule (scheduling/cron.py): a wall-clock time that does not exist runs at the first
valid time after it; one that happens twice runs once, at its first occurrence.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from jupyterlab_jobs.errors import InvalidInput
from jupyterlab_jobs.scheduling import policies
from jupyterlab_jobs.scheduling.cron import Recurrence

UTC = timezone.utc


def local_runs(cron: str, zone: str, after: str, count: int) -> list[str]:
    """The next runs after the local wall time ``after``, as local ISO times with offsets."""
    recurrence = Recurrence.parse(cron, zone)
    start = datetime.fromisoformat(after).replace(tzinfo=recurrence.tz)
    return [
        t.astimezone(recurrence.tz).isoformat(timespec="minutes")
        for t in recurrence.runs(start, count)
    ]


DST_TABLE = [
    # America/New_York: 2026-03-08 02:00 -> 03:00, 2026-11-01 02:00 -> 01:00.
    (
        "America/New_York",
        "30 2 * * *",
        "2026-03-07T00:00",
        ["2026-03-07T02:30-05:00", "2026-03-08T03:00-04:00", "2026-03-09T02:30-04:00"],
    ),
    (
        "America/New_York",
        "15,45 2 * * *",  # both do not exist on the 8th: one run at 03:00
        "2026-03-08T00:00",
        ["2026-03-08T03:00-04:00", "2026-03-09T02:15-04:00", "2026-03-09T02:45-04:00"],
    ),
    (
        "America/New_York",
        "30 1 * * *",
        "2026-10-31T00:00",
        ["2026-10-31T01:30-04:00", "2026-11-01T01:30-04:00", "2026-11-02T01:30-05:00"],
    ),
    (
        "America/New_York",
        "*/30 * * * *",  # the repeated 01:00 and 01:30 (EST) do not run again
        "2026-11-01T00:45",
        ["2026-11-01T01:00-04:00", "2026-11-01T01:30-04:00", "2026-11-01T02:00-05:00"],
    ),
    # Europe/Berlin: 2026-03-29 02:00 -> 03:00, 2026-10-25 03:00 -> 02:00.
    (
        "Europe/Berlin",
        "30 2 * * *",
        "2026-03-28T12:00",
        ["2026-03-29T03:00+02:00", "2026-03-30T02:30+02:00"],
    ),
    (
        "Europe/Berlin",
        "30 2 * * *",
        "2026-10-24T12:00",
        ["2026-10-25T02:30+02:00", "2026-10-26T02:30+01:00"],
    ),
    (
        "Europe/Berlin",
        "0 * * * *",
        "2026-10-25T01:30",
        ["2026-10-25T02:00+02:00", "2026-10-25T03:00+01:00", "2026-10-25T04:00+01:00"],
    ),
    # Australia/Lord_Howe, a 30-minute shift: 2026-04-05 02:00 -> 01:30, 2026-10-04
    # 02:00 -> 02:30.
    (
        "Australia/Lord_Howe",
        "15 2 * * *",
        "2026-10-03T12:00",
        ["2026-10-04T02:30+11:00", "2026-10-05T02:15+11:00"],
    ),
    (
        "Australia/Lord_Howe",
        "45 1 * * *",
        "2026-04-04T12:00",
        ["2026-04-05T01:45+11:00", "2026-04-06T01:45+10:30"],
    ),
    (
        "Australia/Lord_Howe",
        "*/15 * * * *",
        "2026-10-04T01:50",
        ["2026-10-04T02:30+11:00", "2026-10-04T02:45+11:00", "2026-10-04T03:00+11:00"],
    ),
]


@pytest.mark.parametrize(("zone", "cron", "after", "expected"), DST_TABLE)
def test_daylight_saving_rule(zone: str, cron: str, after: str, expected: list[str]) -> None:
    assert local_runs(cron, zone, after, len(expected)) == expected


def test_after_a_repeated_time_its_second_occurrence_is_not_a_run() -> None:
    """Asked from inside the repeated hour (its second pass), the next run is after it."""
    recurrence = Recurrence.parse("30 1 * * *", "America/New_York")
    second_pass = datetime(2026, 11, 1, 6, 10, tzinfo=UTC)  # 01:10 EST
    assert recurrence.runs(second_pass, 1) == [datetime(2026, 11, 2, 6, 30, tzinfo=UTC)]


@pytest.mark.parametrize(
    ("cron", "after", "expected"),
    [
        (
            "0 9 31 * *",
            "2026-01-01T00:00",
            ["2026-01-31T09:00+00:00", "2026-03-31T09:00+00:00", "2026-05-31T09:00+00:00"],
        ),
        ("0 9 29 2 *", "2026-01-01T00:00", ["2028-02-29T09:00+00:00", "2032-02-29T09:00+00:00"]),
        ("0 0 30 * *", "2026-01-31T00:00", ["2026-03-30T00:00+00:00"]),
        # Day of month and day of week both restricted: either (Debian cron's OR rule).
        (
            "0 0 13 * 5",
            "2026-01-01T00:00",
            [
                "2026-01-02T00:00+00:00",
                "2026-01-09T00:00+00:00",
                "2026-01-13T00:00+00:00",
                "2026-01-16T00:00+00:00",
            ],
        ),
        # Day of month "*": only the day of week counts.
        ("0 0 * 1 5", "2026-01-01T00:00", ["2026-01-02T00:00+00:00", "2026-01-09T00:00+00:00"]),
        ("@weekly", "2026-01-01T00:00", ["2026-01-04T00:00+00:00", "2026-01-11T00:00+00:00"]),
        ("@monthly", "2026-01-15T00:00", ["2026-02-01T00:00+00:00"]),
        ("@yearly", "2026-01-15T00:00", ["2027-01-01T00:00+00:00"]),
        ("@hourly", "2026-01-15T00:00", ["2026-01-15T01:00+00:00"]),
        ("0 4 * * mon-fri", "2026-01-02T05:00", ["2026-01-05T04:00+00:00"]),
    ],
)
def test_month_ends_the_or_rule_and_macros(cron: str, after: str, expected: list[str]) -> None:
    assert local_runs(cron, "UTC", after, len(expected)) == expected


@pytest.mark.parametrize(
    ("cron", "zone", "field"),
    [
        ("0 0 31 2 *", "UTC", "cron"),  # never fires
        ("0 0 30 2 *", "UTC", "cron"),
        ("0 0 31 4,6,9,11 *", "UTC", "cron"),
        ("61 * * * *", "UTC", "cron"),
        ("* * * *", "UTC", "cron"),
        ("@fortnightly", "UTC", "cron"),
        ("", "UTC", "cron"),
        ("0 0 * * *", "Mars/Olympus_Mons", "timezone"),
        ("0 0 * * *", "../../etc/passwd", "timezone"),
        ("0 0 * * *", "", "timezone"),
    ],
)
def test_bad_expressions_and_zones_name_the_field(cron: str, zone: str, field: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        Recurrence.parse(cron, zone)
    assert raised.value.field == field
    assert raised.value.message


def test_descriptions_are_the_servers_words() -> None:
    assert Recurrence.parse("0 4 * * 1-5", "UTC").description == "At 04:00, Monday through Friday"
    assert Recurrence.parse("@daily", "UTC").description == "At 00:00"


def test_warnings_name_daylight_saving_moves_and_short_months() -> None:
    after = datetime(2026, 1, 1, tzinfo=UTC)
    new_york = Recurrence.parse("30 1,2 * * *", "America/New_York").warnings(after)
    assert any("2026-03-08 02:30 does not exist" in w and "03:00" in w for w in new_york)
    assert any("2026-11-01 01:30 happens twice" in w and "once" in w for w in new_york)
    month_end = Recurrence.parse("0 9 31 * *", "UTC").warnings(after)
    assert month_end == [
        "Day 31 does not exist in every month: no run on it in February, April, June, "
        "September and November."
    ]
    assert Recurrence.parse("0 9 * * *", "UTC").warnings(after) == []


@pytest.mark.parametrize(
    ("policy", "deadline", "run", "missed"),
    [
        # Five ticks at 0, 60, ..., 240, handled at 245: only the last is on time.
        ("run_once", 30, [240], [0, 60, 120, 180]),
        ("skip", 30, [240], [0, 60, 120, 180]),
        ("run_all", 30, [0, 60, 120, 180, 240], []),
        # Handled at 245 with the last tick also late (the server came back later).
        ("skip", 1, [], [0, 60, 120, 180, 240]),
        ("run_once", 1, [240], [0, 60, 120, 180]),
        # A deadline that covers every tick: still one run (no burst) but with run_all.
        ("skip", 1000, [240], [0, 60, 120, 180]),
        ("run_once", 1000, [240], [0, 60, 120, 180]),
        ("run_all", 1000, [0, 60, 120, 180, 240], []),
    ],
)
def test_misfire_plans(policy: str, deadline: int, run: list[int], missed: list[int]) -> None:
    plan = policies.plan([0, 60, 120, 180, 240], 245, policy, deadline)
    assert (plan.run, plan.missed) == (run, missed)


def test_run_all_is_capped() -> None:
    due = [float(60 * i) for i in range(25)]
    plan = policies.plan(due, 10_000, "run_all", 30)
    assert plan.run == due[-policies.MAX_CATCH_UP_RUNS :]
    assert plan.missed == due[: -policies.MAX_CATCH_UP_RUNS]

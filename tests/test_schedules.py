"""Schedules over REST and the engine in a real server, with a controllable clock.

Each test runs on SQLite and on PostgreSQL. The server's scheduler loop runs as in
production, but its clock is a ``FakeClock``: a test moves time to a tick and waits for
the run that the loop starts. Jobs are real local processes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from factories import make_job

from jupyterlab_jobs.identity import StaticGroupsProvider
from jupyterlab_jobs.models import SUCCEEDED

UTC = timezone.utc
# Tuesday 2030-01-01 00:00 UTC: far from the real clock, so nothing real is ever due.
T0 = datetime(2030, 1, 1, tzinfo=UTC).timestamp()


class FakeClock:
    """Time moves only when a test says so; the scheduler's sleeps end when it passes."""

    def __init__(self, now: float) -> None:
        self.time = now
        self.sleeping_until: float | None = None
        self._moved = asyncio.Event()

    def now(self) -> float:
        return self.time

    def set(self, moment: float) -> None:
        self.time = moment
        self._moved.set()

    async def sleep_until(self, moment: float, wake: asyncio.Event) -> None:
        self.sleeping_until = moment
        while self.time < moment and not wake.is_set():
            self._moved = asyncio.Event()
            waits = [asyncio.ensure_future(self._moved.wait()), asyncio.ensure_future(wake.wait())]
            try:
                await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiting in waits:
                    waiting.cancel()
        self.sleeping_until = None


@pytest.fixture
def jobs_db_url(db_url: str) -> str:
    """Every test here runs on SQLite and on PostgreSQL."""
    return db_url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(T0)


@pytest.fixture
def jobs_app(jp_serverapp: Any, jp_asyncio_loop: Any, clock: FakeClock) -> Iterator[Any]:
    """The test server's JobsApp with the scheduler on the fake clock."""
    (extension,) = list(jp_serverapp.extension_manager.extension_apps["jupyterlab_jobs"])
    extension.scheduler.clock = clock
    extension.scheduler.recheck_seconds = 3600
    extension.schedules.clock = clock.now
    extension.service.groups_cache_seconds = 0
    jp_asyncio_loop.run_until_complete(extension._start_jupyter_server_extension(jp_serverapp))
    yield extension
    jp_asyncio_loop.run_until_complete(extension.tasks.stop())


def schedule_body(**fields: Any) -> dict[str, Any]:
    return {
        "name": "nightly report",
        "group": "research",
        "cron": "* * * * *",
        "timezone": "UTC",
        "job": {"instance_type": "cpu-half", "image": "base", "command": "sleep 30"},
        **fields,
    }


def minute(n: int) -> float:
    return T0 + 60 * n


async def runs_of(api: Any, schedule_id: str) -> list[dict[str, Any]]:
    return (await api.call("GET", f"schedules/{schedule_id}/runs", limit=200))["runs"]  # type: ignore[no-any-return]


async def settle(api: Any, clock: FakeClock, schedule_id: str, count: int) -> list[dict[str, Any]]:
    """Wait until the schedule's history has ``count`` entries and the loop sleeps again."""
    end = time.monotonic() + 30
    while True:
        runs = await runs_of(api, schedule_id)
        if len(runs) >= count and clock.sleeping_until is not None:
            await asyncio.sleep(0.1)
            runs = await runs_of(api, schedule_id)
            assert len(runs) == count, runs
            return runs
        assert time.monotonic() < end, (
            f"{len(runs)} of {count} runs: {runs} {clock.time} {clock.sleeping_until} "
            f"{[(t.get_name(), t.done()) for t in asyncio.all_tasks()]}"
        )
        await asyncio.sleep(0.05)


async def asleep_until(clock: FakeClock, moment: float) -> None:
    """Wait until the scheduler sleeps until ``moment`` (it looked again after a change)."""
    end = time.monotonic() + 10
    while clock.sleeping_until != moment:
        assert time.monotonic() < end, f"sleeps until {clock.sleeping_until}, not {moment}"
        await asyncio.sleep(0.02)


async def cancel_all(api: Any, runs: list[dict[str, Any]]) -> None:
    for run in runs:
        if run["job"] and run["job"]["status"] not in ("Succeeded", "Failed", "Cancelled"):
            await api.raw("POST", f"jobs/{run['job']['id']}/cancel")


# -- acceptance 1: validation, never a 500 ---------------------------------------------
@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"cron": "0 0 31 2 *"}, 400, "cron"),
        ({"cron": "not cron"}, 400, "cron"),
        ({"cron": "@sometimes"}, 400, "cron"),
        ({"cron": 5}, 400, "cron"),
        ({"timezone": "Mars/Base"}, 400, "timezone"),
        ({"group": "secret"}, 403, "group"),
        ({"group": "nosuch"}, 403, "group"),  # unknown groups are not revealed
        ({"concurrency_policy": "sometimes"}, 400, "concurrency_policy"),
        ({"misfire_policy": "never"}, 400, "misfire_policy"),
        ({"starting_deadline_seconds": -1}, 400, "starting_deadline_seconds"),
        (
            {"job": {"instance_type": "huge!", "image": "base", "command": "x"}},
            400,
            "instance_type",
        ),
        ({"job": {"instance_type": "cpu-half", "image": "base"}}, 400, "command"),
        (
            {"job": {"name": "x", "instance_type": "cpu-half", "image": "base", "command": "x"}},
            400,
            "job",
        ),
        ({"start_at": "tomorrow"}, 400, "start_at"),
        ({"end_at": "2020-01-01T00:00:00Z"}, 400, "end_at"),
        ({"surprise": 1}, 400, "surprise"),
    ],
)
async def test_bad_schedules_are_400_or_403_naming_the_field(
    api: Any, changes: dict[str, Any], code: int, field: str
) -> None:
    response = await api.raw("POST", "schedules", schedule_body(**changes))
    body = response.body.decode()
    assert response.code == code, body
    assert f'"field": "{field}"' in body
    listed = await api.call("GET", "schedules")
    assert listed["schedules"] == []


async def test_preview_is_the_single_source_of_when(api: Any) -> None:
    preview = await api.call(
        "POST",
        "schedules/preview",
        {
            "cron": "30 2 * * *",
            "timezone": "America/New_York",
            "after": "2026-03-07T00:00:00Z",
            "count": 3,
        },
    )
    assert preview["description"] == "At 02:30"
    assert preview["next_runs"] == [
        "2026-03-07T07:30:00.000Z",
        "2026-03-08T07:00:00.000Z",  # 02:30 does not exist that day: 03:00 EDT
        "2026-03-09T06:30:00.000Z",
    ]
    assert any("2026-03-08 02:30 does not exist" in w for w in preview["warnings"])
    for bad, field in [
        ({"cron": "0 0 31 2 *"}, "cron"),
        ({"cron": "* * * * *", "timezone": "Nowhere"}, "timezone"),
        ({"cron": "* * * * *", "count": 0}, "count"),
        ({"cron": "* * * * *", "after": "soon"}, "after"),
        ({"timezone": "UTC"}, "cron"),
    ]:
        response = await api.raw("POST", "schedules/preview", bad)
        assert response.code == 400 and f'"field": "{field}"' in response.body.decode()
    assert (await api.raw("POST", "schedules/preview", "[1]")).code == 400


async def test_members_see_and_run_now_the_owner_changes(api: Any, jobs_app: Any) -> None:
    created = await api.call(
        "POST", "schedules", schedule_body(group="ops", cron="0 4 * * 1-5"), expect=201
    )
    assert created["description"] == "At 04:00, Monday through Friday"
    assert created["user"] == "alice" and created["enabled"] is True
    assert created["next_run_at"] == "2030-01-01T04:00:00.000Z"
    assert created["last_run"] is None and created["invalid_reason"] is None
    sid = created["id"]
    jobs_app.standalone_user = "bob"  # a member of ops, not the owner
    assert (await api.call("GET", f"schedules/{sid}"))["id"] == sid
    assert [s["id"] for s in (await api.call("GET", "schedules"))["schedules"]] == [sid]
    assert (await api.call("GET", "schedules", mine="true"))["schedules"] == []
    job = await api.call("POST", f"schedules/{sid}/run", expect=201)
    assert job["schedule"] == {"id": sid, "name": "nightly report"}
    assert job["user"] == "bob" and job["trigger"] == "manual" and job["scheduled_for"] is None
    for method, path, body in [
        ("PATCH", f"schedules/{sid}", {"name": "mine now"}),
        ("POST", f"schedules/{sid}/pause", None),
        ("POST", f"schedules/{sid}/resume", None),
        ("DELETE", f"schedules/{sid}", None),
    ]:
        response = await api.raw(method, path, body)
        assert response.code == 403, (method, path, response.body)
    jobs_app.standalone_user = "carol"  # not in ops: the schedule does not exist for her
    assert (await api.raw("GET", f"schedules/{sid}")).code == 404
    assert (await api.raw("POST", f"schedules/{sid}/run")).code == 404
    assert (await api.raw("GET", "schedules", group="ops")).code == 403
    jobs_app.standalone_user = "alice"
    patched = await api.call("PATCH", f"schedules/{sid}", {"cron": "@daily", "name": "daily"})
    assert patched["description"] == "At 00:00" and patched["name"] == "daily"
    assert patched["next_run_at"] == "2030-01-02T00:00:00.000Z"
    assert patched["last_run"]["id"] == job["id"]
    bad = await api.raw("PATCH", f"schedules/{sid}", {"cron": "0 0 30 2 *"})
    assert bad.code == 400 and '"field": "cron"' in bad.body.decode()
    assert (await api.call("GET", "schedules", q="dai"))["schedules"][0]["id"] == sid
    assert (await api.call("GET", "schedules", q="zzz"))["schedules"] == []
    await api.call("PATCH", f"schedules/{sid}", {"name": "Täglich"})
    assert (await api.call("GET", "schedules", q="TÄGLICH"))["schedules"][0]["id"] == sid
    await api.call("POST", f"jobs/{job['id']}/cancel")


# -- the engine ------------------------------------------------------------------------
async def test_a_tick_starts_a_run_as_the_owner_linked_to_the_schedule(
    api: Any, clock: FakeClock
) -> None:
    created = await api.call("POST", "schedules", schedule_body(cron="*/5 * * * *"), expect=201)
    sid = created["id"]
    # The loop sleeps until the next tick, not a fixed poll.
    await asleep_until(clock, minute(5))
    clock.set(minute(5))
    (run,) = await settle(api, clock, sid, 1)
    job = run["job"]
    assert job["name"] == "nightly report" and job["user"] == "alice"
    assert job["schedule"] == {"id": sid, "name": "nightly report"}
    assert job["trigger"] == "schedule" and job["scheduled_for"] == "2030-01-01T00:05:00.000Z"
    await asleep_until(clock, minute(10))
    listed = (await api.call("GET", "jobs"))["jobs"]
    assert listed[0]["schedule"] == {"id": sid, "name": "nightly report"}
    shown = await api.call("GET", f"schedules/{sid}")
    assert shown["last_run"]["id"] == job["id"]
    assert shown["next_run_at"] == "2030-01-01T00:10:00.000Z"
    await cancel_all(api, [run])


@pytest.mark.parametrize(
    ("policy", "expected_runs", "expected_missed"),
    [("run_once", 1, 4), ("skip", 0, 5), ("run_all", 5, 0)],
)
async def test_downtime_across_five_ticks(
    api: Any,
    jobs_app: Any,
    clock: FakeClock,
    policy: str,
    expected_runs: int,
    expected_missed: int,
) -> None:
    """The server is down for the ticks of minutes 1-5 and back 30 s after the last."""
    await jobs_app.tasks.stop()  # the server goes down
    created = await api.call(
        "POST",
        "schedules",
        schedule_body(
            misfire_policy=policy,
            starting_deadline_seconds=10,
            concurrency_policy="allow",
            job={"instance_type": "cpu-half", "image": "base", "command": "true"},
        ),
        expect=201,
    )
    clock.set(minute(5) + 30)
    jobs_app.tasks.start()  # and up again
    runs = await settle(api, clock, created["id"], 5)
    started = [r for r in runs if r["job"]]
    missed = [r for r in runs if r["reason"] == "missed"]
    assert (len(started), len(missed)) == (expected_runs, expected_missed)
    if policy == "run_once":
        assert started[0]["job"]["scheduled_for"] == "2030-01-01T00:05:00.000Z"
    assert all(r["message"] for r in missed)
    # The next tick is the one after the restart: nothing more was due.
    assert (await api.call("GET", f"schedules/{created['id']}"))["next_run_at"] == (
        "2030-01-01T00:06:00.000Z"
    )


async def test_forbid_skips_and_records_the_overlap(api: Any, clock: FakeClock) -> None:
    sid = (await api.call("POST", "schedules", schedule_body(), expect=201))["id"]
    clock.set(minute(1))
    (first,) = await settle(api, clock, sid, 1)
    clock.set(minute(2))
    runs = await settle(api, clock, sid, 2)
    assert runs[0]["reason"] == "overlap" and runs[0]["job"] is None
    assert first["job"]["id"] in runs[0]["message"]
    assert runs[0]["scheduled_for"] == "2030-01-01T00:02:00.000Z"
    await cancel_all(api, runs)


async def test_run_now_counts_for_overlap(api: Any, clock: FakeClock) -> None:
    sid = (await api.call("POST", "schedules", schedule_body(), expect=201))["id"]
    job = await api.call("POST", f"schedules/{sid}/run", expect=201)
    clock.set(minute(1))
    runs = await settle(api, clock, sid, 2)
    assert runs[0]["reason"] == "overlap" and job["id"] in runs[0]["message"]
    await cancel_all(api, runs)


async def test_replace_cancels_the_running_job_and_starts_one(api: Any, clock: FakeClock) -> None:
    sid = (
        await api.call("POST", "schedules", schedule_body(concurrency_policy="replace"), expect=201)
    )["id"]
    clock.set(minute(1))
    (first,) = await settle(api, clock, sid, 1)
    await api.wait(first["job"]["id"], {"Running"})
    clock.set(minute(2))
    runs = await settle(api, clock, sid, 2)
    replaced = await api.wait(first["job"]["id"])
    assert replaced["status"] == "Cancelled"
    assert runs[0]["job"]["scheduled_for"] == "2030-01-01T00:02:00.000Z"
    assert (await api.wait(runs[0]["job"]["id"], {"Running"}))["status"] == "Running"
    await cancel_all(api, runs)


async def test_allow_overlaps(api: Any, clock: FakeClock) -> None:
    sid = (
        await api.call("POST", "schedules", schedule_body(concurrency_policy="allow"), expect=201)
    )["id"]
    for n in (1, 2):
        clock.set(minute(n))
        runs = await settle(api, clock, sid, n)
    for run in runs:
        assert (await api.wait(run["job"]["id"], {"Running"}))["status"] == "Running"
    await cancel_all(api, runs)


async def test_pause_and_resume_fire_no_burst(api: Any, clock: FakeClock) -> None:
    sid = (
        await api.call("POST", "schedules", schedule_body(misfire_policy="run_all"), expect=201)
    )["id"]
    paused = await api.call("POST", f"schedules/{sid}/pause")
    assert paused["enabled"] is False and paused["next_run_at"] is None
    clock.set(minute(10) + 5)
    await settle(api, clock, sid, 0)
    resumed = await api.call("POST", f"schedules/{sid}/resume")
    assert resumed["enabled"] is True
    assert resumed["next_run_at"] == "2030-01-01T00:11:00.000Z"
    await settle(api, clock, sid, 0)
    clock.set(minute(11))
    (run,) = await settle(api, clock, sid, 1)
    assert run["job"]["scheduled_for"] == "2030-01-01T00:11:00.000Z"
    await cancel_all(api, [run])


async def test_deleting_keeps_the_jobs_naming_it(api: Any, clock: FakeClock) -> None:
    sid = (await api.call("POST", "schedules", schedule_body(), expect=201))["id"]
    clock.set(minute(1))
    (run,) = await settle(api, clock, sid, 1)
    response = await api.raw("DELETE", f"schedules/{sid}")
    assert response.code == 204
    assert (await api.raw("GET", f"schedules/{sid}")).code == 404
    job = await api.call("GET", f"jobs/{run['job']['id']}")
    assert job["schedule"] == {"id": sid, "name": "nightly report"}
    clock.set(minute(2))
    await asyncio.sleep(0.3)
    assert len((await api.call("GET", "jobs"))["jobs"]) == 1
    await cancel_all(api, [run])


async def test_a_member_removed_makes_the_next_tick_invalid(
    api: Any, jobs_app: Any, clock: FakeClock
) -> None:
    sid = (
        await api.call(
            "POST", "schedules", schedule_body(group="ops", concurrency_policy="allow"), expect=201
        )
    )["id"]
    provider = jobs_app.service._groups_for.__self__
    assert isinstance(provider, StaticGroupsProvider)
    # Requests may use a cached answer (it holds alice's old groups now); a tick may not.
    jobs_app.service.groups_cache_seconds = 3600
    assert "ops" in jobs_app.service.groups_of("alice")
    provider.user_groups = {**provider.user_groups, "alice": ["research"]}
    clock.set(minute(1))
    jobs_app.standalone_user = "bob"  # still a member: sees the tick and why
    (tick,) = await settle(api, clock, sid, 1)
    assert tick["reason"] == "invalid" and tick["job"] is None
    assert "not a member of group 'ops'" in tick["message"]
    assert (await api.call("GET", "jobs"))["jobs"] == []
    shown = await api.call("GET", f"schedules/{sid}")
    assert "not a member of group 'ops'" in shown["invalid_reason"]
    jobs_app.standalone_user = "alice"
    jobs_app.service.groups_cache_seconds = 0
    provider.user_groups = {**provider.user_groups, "alice": ["research", "ops"]}
    clock.set(minute(2))
    runs = await settle(api, clock, sid, 2)
    assert runs[0]["job"] is not None
    assert (await api.call("GET", f"schedules/{sid}"))["invalid_reason"] is None
    await cancel_all(api, runs)


async def test_a_change_wakes_the_scheduler(api: Any, clock: FakeClock) -> None:
    sid = (await api.call("POST", "schedules", schedule_body(cron="0 * * * *"), expect=201))["id"]
    await asleep_until(clock, minute(60))
    await api.call("PATCH", f"schedules/{sid}", {"cron": "*/2 * * * *"})
    await asleep_until(clock, minute(2))
    await api.call("PATCH", f"schedules/{sid}", {"start_at": "2030-01-01T00:05:00Z"})
    await asleep_until(clock, minute(6))


async def test_schedule_responses_match_the_openapi_schemas(api: Any, clock: FakeClock) -> None:
    from test_openapi import check_response, load_spec

    spec = load_spec()
    base = "/jupyterlab-jobs/schedules"
    one = f"{base}/{{schedule_id}}"
    created = await api.raw("POST", "schedules", schedule_body(start_at="2030-01-01T00:00:30Z"))
    schedule = check_response(spec, "post", base, created)
    sid = schedule["id"]
    check_response(spec, "get", base, await api.raw("GET", "schedules"))
    check_response(spec, "get", one, await api.raw("GET", f"schedules/{sid}"))
    check_response(spec, "patch", one, await api.raw("PATCH", f"schedules/{sid}", {"name": "x"}))
    check_response(spec, "post", f"{one}/pause", await api.raw("POST", f"schedules/{sid}/pause"))
    check_response(spec, "post", f"{one}/resume", await api.raw("POST", f"schedules/{sid}/resume"))
    job = check_response(spec, "post", f"{one}/run", await api.raw("POST", f"schedules/{sid}/run"))
    clock.set(minute(1))
    await settle(api, clock, sid, 2)  # the run now, and the tick skipped for overlap
    runs = check_response(spec, "get", f"{one}/runs", await api.raw("GET", f"schedules/{sid}/runs"))
    assert runs["runs"][0]["reason"] == "overlap" and runs["runs"][1]["job"]["id"] == job["id"]
    preview = await api.raw("POST", "schedules/preview", {"cron": "@daily"})
    check_response(spec, "post", f"{base}/preview", preview)
    for response, method, path in [
        (await api.raw("POST", "schedules", schedule_body(cron="0 0 31 2 *")), "post", base),
        (await api.raw("GET", "schedules/nope"), "get", one),
        (await api.raw("PATCH", f"schedules/{sid}", {"timezone": "No/Where"}), "patch", one),
    ]:
        assert response.code in (400, 404)
        check_response(spec, method, path, response)
    await api.call("POST", f"jobs/{job['id']}/cancel")
    assert (await api.raw("DELETE", f"schedules/{sid}")).code == 204


async def test_a_notebook_schedule_runs_the_notebook_as_it_is_at_each_tick(
    api: Any, clock: FakeClock, jp_root_dir: Path
) -> None:
    from test_notebook_jobs import write_notebook

    write_notebook(jp_root_dir / "report.ipynb", "print(1)", parameters="n = 1")
    body = schedule_body(
        job={
            "instance_type": "cpu-half",
            "image": "base",
            "notebook": "report.ipynb",
            "parameters": {"n": 2},
        }
    )
    sid = (await api.call("POST", "schedules", body, expect=201))["id"]
    missing = await api.raw(
        "POST",
        "schedules",
        schedule_body(
            job={
                "instance_type": "cpu-half",
                "image": "base",
                "command": "x",
                "notebook": "a.ipynb",
            }
        ),
    )
    assert missing.code == 400 and '"field": "notebook"' in missing.body.decode()
    clock.set(minute(1))
    (run,) = await settle(api, clock, sid, 1)
    assert run["job"]["notebook"] == "report.ipynb" and run["job"]["parameters"] == {"n": 2}
    (jp_root_dir / "report.ipynb").unlink()  # gone at the next tick: recorded as invalid
    await api.wait(run["job"]["id"])
    clock.set(minute(2))
    runs = await settle(api, clock, sid, 2)
    assert runs[0]["reason"] == "invalid" and "report.ipynb" in runs[0]["message"]


async def test_the_list_pages_with_sealed_cursors(api: Any) -> None:
    ids = [
        (await api.call("POST", "schedules", schedule_body(name=f"s{i}"), expect=201))["id"]
        for i in range(3)
    ]
    first = await api.call("GET", "schedules", limit=2)
    assert [s["id"] for s in first["schedules"]] == ids[::-1][:2]
    second = await api.call("GET", "schedules", limit=2, cursor=first["next_cursor"])
    assert [s["id"] for s in second["schedules"]] == [ids[0]]
    assert second["next_cursor"] is None
    for cursor, params in [("s1", {}), (first["next_cursor"], {"mine": "true"})]:
        refused = await api.raw("GET", "schedules", limit=2, cursor=cursor, **params)
        assert refused.code == 400 and '"field": "cursor"' in refused.body.decode()


async def test_a_tick_claimed_by_a_server_that_stopped_first_is_recorded_not_lost(
    api: Any, jobs_app: Any, clock: FakeClock
) -> None:
    """A server that claimed a tick and stopped before recording it: a later pass of
    any server records the run it had started, or the tick as missed, saying why."""
    sid = (await api.call("POST", "schedules", schedule_body(cron="0 4 * * *"), expect=201))["id"]
    store = jobs_app.schedules.store
    lost, started = T0 - 44 * 3600, T0 - 20 * 3600  # two ticks at 04:00
    claimed_at = clock.now() - 400  # longer ago than any claim takes
    assert store.claim_tick(sid, lost, claimed_at) and store.claim_tick(sid, started, claimed_at)
    run = make_job(id="feedfacefeedface", schedule_id=sid, scheduled_for=started, status=SUCCEEDED)
    with jobs_app.store.transaction() as db:
        jobs_app.store.insert(run, db)
    jobs_app.scheduler.wake()
    entries = await settle(api, clock, sid, 2)
    assert [(e["scheduled_for"], e["reason"]) for e in entries] == [
        ("2029-12-31T04:00:00.000Z", None),
        ("2029-12-30T04:00:00.000Z", "missed"),
    ]
    assert entries[0]["job"]["id"] == run.id
    assert "stopped" in entries[1]["message"]
    assert store.unrecorded_claims(clock.now(), 10) == []

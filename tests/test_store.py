"""The SQLite store: pagination, filters, compare-and-set, schema versions."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from jupyterlab_jobs import store as store_module
from jupyterlab_jobs.errors import InvalidInput
from jupyterlab_jobs.models import FAILED, PENDING, RUNNING, SUCCEEDED, Job
from jupyterlab_jobs.store import Store


def make_job(index: int, group: str = "g1", user: str = "u1", status: str = SUCCEEDED) -> Job:
    return Job(
        id=f"job{index:05d}",
        name=f"name {index}",
        user=user,
        group=group,
        instance_type="cpu",
        image="img",
        command="true",
        status=status,
        created_at=1000.0 + index,
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "jobs.sqlite")


def test_wal_mode_and_schema_version(store: Store) -> None:
    db = sqlite3.connect(store.path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == store_module.SCHEMA_VERSION
    indexes = {row[1] for row in db.execute("PRAGMA index_list(jobs)")}
    assert {"jobs_grp", "jobs_grp_status", "jobs_grp_user", "jobs_status"} <= indexes


def test_reopening_keeps_data_and_a_newer_schema_is_refused(tmp_path: Path) -> None:
    first = Store(tmp_path / "jobs.sqlite")
    first.insert_many([make_job(1)])
    first.close()
    again = Store(tmp_path / "jobs.sqlite")
    assert again.count() == 1
    again.close()
    db = sqlite3.connect(tmp_path / "jobs.sqlite")
    db.execute(f"PRAGMA user_version={store_module.SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(RuntimeError, match="newer than this"):
        Store(tmp_path / "jobs.sqlite")


def test_migrations_run_in_order_from_an_older_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Store(tmp_path / "jobs.sqlite").close()
    extra = "ALTER TABLE jobs ADD COLUMN note TEXT NOT NULL DEFAULT ''"
    monkeypatch.setattr(store_module, "MIGRATIONS", [*store_module.MIGRATIONS, extra])
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", store_module.SCHEMA_VERSION + 1)
    upgraded = Store(tmp_path / "jobs.sqlite")
    db = sqlite3.connect(upgraded.path)
    assert "note" in {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
    assert db.execute("PRAGMA user_version").fetchone()[0] == store_module.SCHEMA_VERSION


def test_pages_walk_every_job_newest_first_across_groups(store: Store) -> None:
    groups = ["g1", "g2", "g3"]
    store.insert_many(make_job(i, group=groups[i % 3]) for i in range(95))
    seen: list[str] = []
    cursor = None
    while True:
        page, cursor = store.page(["g1", "g3"], limit=10, cursor=cursor)
        seen.extend(job.id for job in page)
        if cursor is None:
            break
    expected = [make_job(i).id for i in reversed(range(95)) if i % 3 != 1]
    assert seen == expected


def test_filters_status_user_and_name(store: Store) -> None:
    store.insert_many(
        [
            make_job(1, status=FAILED, user="ann"),
            make_job(2, status=SUCCEEDED, user="ann"),
            make_job(3, status=FAILED, user="ben"),
            make_job(4, status=RUNNING, user="ann", group="g2"),
        ]
    )
    ids = lambda jobs: [j.id for j in jobs[0]]  # noqa: E731
    assert ids(store.page(["g1", "g2"], statuses=[FAILED])) == ["job00003", "job00001"]
    assert ids(store.page(["g1", "g2"], user="ann")) == ["job00004", "job00002", "job00001"]
    assert ids(store.page(["g1"], user="ann", statuses=[FAILED, RUNNING])) == ["job00001"]
    assert ids(store.page(["g1", "g2"], name_contains="name 2")) == ["job00002"]
    assert ids(store.page(["g1"], name_contains="%")) == []
    assert ids(store.page(["g1"], name_contains="_")) == []
    assert ids(store.page([])) == []


@pytest.mark.parametrize("cursor", ["", "x", "s", "s-1", "s1x", "s" + "9" * 30])
def test_bad_cursors_are_invalid_input(store: Store, cursor: str) -> None:
    if cursor == "":
        assert store.page(["g1"], cursor=cursor) == ([], None)
        return
    with pytest.raises(InvalidInput):
        store.page(["g1"], cursor=cursor)


def test_compare_and_set_lets_exactly_one_thread_claim(store: Store) -> None:
    store.insert_many([make_job(1, status=PENDING)])
    wins: list[bool] = []
    barrier = threading.Barrier(8)

    def claim() -> None:
        barrier.wait()
        wins.append(store.update("job00001", only_if_status=[PENDING], status=RUNNING))

    threads = [threading.Thread(target=claim) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(wins) == [False] * 7 + [True]
    assert store.finish("job00001", SUCCEEDED) is True
    assert store.finish("job00001", FAILED) is False, "final statuses never change"
    job = store.get("job00001")
    assert job is not None and job.status == SUCCEEDED


def test_update_rejects_unknown_fields(store: Store) -> None:
    with pytest.raises(ValueError, match="unknown job fields"):
        store.update("x", colour="red")
    with pytest.raises(ValueError, match="not a final status"):
        store.finish("x", RUNNING)

"""The store on SQLite and PostgreSQL: pagination, filters, compare-and-set, schema versions."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import factories
import pytest
import sqlalchemy as sa

from jupyterlab_jobs.errors import InvalidInput
from jupyterlab_jobs.models import FAILED, PENDING, RUNNING, SUCCEEDED, Job
from jupyterlab_jobs.store import DatabaseError, Store, migrate


def make_job(index: int, group: str = "g1", user: str = "u1", status: str = SUCCEEDED) -> Job:
    return factories.make_job(
        id=f"job{index:05d}",
        name=f"name {index}",
        user=user,
        group=group,
        status=status,
        created_at=1000.0 + index,
    )


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = Store(db_url)
    yield store
    store.close()


def test_sqlite_uses_wal_and_is_versioned_by_alembic(tmp_path: Path) -> None:
    store = Store(tmp_path / "jobs.sqlite")
    store.close()
    assert store.path == tmp_path / "jobs.sqlite"
    db = sqlite3.connect(tmp_path / "jobs.sqlite")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # Releases with the hand-written store accept up to 3: they refuse this file.
    assert db.execute("PRAGMA user_version").fetchone()[0] == 4
    assert db.execute("SELECT version_num FROM alembic_version").fetchone()[0] == migrate.head()


def test_the_indexes_exist_on_both_engines(store: Store) -> None:
    indexes = {index["name"] for index in sa.inspect(store.engine).get_indexes("jobs")}
    assert {
        "jobs_grp",
        "jobs_grp_status",
        "jobs_grp_user",
        "jobs_grp_user_status",
        "jobs_status",
        "jobs_finished",
        "jobs_logs_kept",
    } <= indexes


def test_reopening_keeps_data_and_a_newer_schema_is_refused(db_url: str) -> None:
    first = Store(db_url)
    first.insert_many([make_job(1)])
    first.close()
    again = Store(db_url)
    assert again.count() == 1
    with again.engine.begin() as db:
        db.execute(sa.text("UPDATE alembic_version SET version_num = '9999'"))
    again.close()
    with pytest.raises(DatabaseError, match="newer than this jupyterlab-jobs") as refused:
        Store(db_url)
    assert "Upgrade jupyterlab-jobs" in str(refused.value)
    engine = sa.create_engine(db_url)
    with engine.connect() as db:
        assert db.execute(sa.text("SELECT version_num FROM alembic_version")).scalar() == "9999"
    engine.dispose()


def test_a_sqlite_file_of_a_newer_hand_written_schema_is_refused(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "jobs.sqlite")
    db.execute("CREATE TABLE jobs (seq INTEGER PRIMARY KEY)")
    db.execute("PRAGMA user_version=7")
    db.close()
    with pytest.raises(DatabaseError, match="revision v7, newer than"):
        Store(tmp_path / "jobs.sqlite")


def test_upgrade_runs_the_missing_revisions(db_url: str) -> None:
    Store(db_url).close()
    engine = sa.create_engine(db_url)
    with engine.begin() as db:
        db.execute(sa.text("UPDATE alembic_version SET version_num = '0001'"))
        if engine.dialect.name == "sqlite":
            db.execute(sa.text("PRAGMA user_version=3"))
    assert not migrate.is_current(engine)
    assert migrate.upgrade(engine) == ("0001", migrate.head())
    assert migrate.is_current(engine)
    if engine.dialect.name == "sqlite":
        with engine.connect() as db:
            assert db.execute(sa.text("PRAGMA user_version")).scalar() == 4
    engine.dispose()


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
    assert ids(store.page(["g1", "g2"], name_contains="NAME 2")) == ["job00002"], "any case"
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


def test_queue_transactions_count_capacity_over_every_server(db_url: str) -> None:
    """Two stores (two servers) on one database; eight claims race for a capacity of 4."""
    servers = [Store(db_url), Store(db_url)]
    servers[0].insert_many(make_job(i, status=PENDING) for i in range(8))
    barrier = threading.Barrier(8)

    def claim(index: int) -> None:
        store = servers[index % 2]
        barrier.wait()
        with store.transaction(lock_queue=True):
            running = len(store.active())
            time.sleep(0.05)  # let the other claims read the same count, were they not held
            if running < 4:
                store.update(make_job(index).id, only_if_status=[PENDING], status=RUNNING)

    threads = [threading.Thread(target=claim, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        assert len(servers[1].active()) == 4
    finally:
        for store in servers:
            store.close()


def test_a_transaction_inside_a_transaction_joins_it(store: Store) -> None:
    with pytest.raises(RuntimeError, match="undo"), store.transaction():
        store.insert(make_job(1))
        store.insert_many([make_job(2), make_job(3)])
        assert store.count() == 3
        raise RuntimeError("undo")
    assert store.count() == 0, "everything rolled back together"


def test_the_name_filter_ignores_case_beyond_ascii(store: Store) -> None:
    names = {"job00001": "Äpfel run", "job00002": "STRASSE", "job00003": "ΣΟΦΙΑ model"}
    with store.transaction() as db:
        for index, (job_id, name) in enumerate(names.items(), start=1):
            store.insert(factories.make_job(id=job_id, name=name, created_at=1000.0 + index), db)

    def found(text: str) -> list[str]:
        return [job.id for job in store.page(["research"], name_contains=text)[0]]

    assert found("äpfel") == found("ÄPFEL") == found("Äpfel") == ["job00001"]
    assert found("σοφια") == ["job00003"]
    assert found("pfel r") == ["job00001"]  # ASCII text keeps matching as before
    assert found("100%") == []

"""Databases written by earlier releases upgrade in place with every record intact."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import sqlalchemy as sa

from jupyterlab_jobs.store import Store, migrate

FIXTURES = Path(__file__).parent / "fixtures"


def test_a_schema_v3_database_upgrades_with_every_record_equal(tmp_path: Path) -> None:
    """tests/fixtures/make_schema_v3.py says how the fixture was made (by the v3 store)."""
    database = tmp_path / "jobs.sqlite"
    shutil.copy(FIXTURES / "jobs-schema-v3.sqlite", database)
    expected = json.loads((FIXTURES / "jobs-schema-v3.json").read_text())
    store = Store(database)
    try:
        assert migrate.is_current(store.engine)
        assert store.count() == len(expected) == 18
        for record in expected:
            job = store.get(record["id"])
            assert job is not None, record["id"]
            # Columns added since v3 get their defaults (a rerun is known by rerun_of).
            trigger = "rerun" if record["rerun_of"] else "manual"
            assert dataclasses.asdict(job) == {**record, "trigger": trigger, "scheduled_for": None}
        page, _ = store.page(["research", "ops"], limit=100)
        assert [job.id for job in page] == [r["id"] for r in reversed(expected)]
    finally:
        store.close()


def schema_of(store: Store) -> dict[str, tuple[set[str], set[str]]]:
    """Each table's column names and index names."""
    inspector = sa.inspect(store.engine)
    return {
        table: (
            {column["name"] for column in inspector.get_columns(table)},
            {str(index["name"]) for index in inspector.get_indexes(table)},
        )
        for table in inspector.get_table_names()
        if table != "alembic_version"
    }


def test_an_upgraded_database_has_the_schema_of_a_new_one(tmp_path: Path) -> None:
    """Every migration's tables, columns and indexes, whether a database is created at
    the newest revision or upgraded to it from v3."""
    upgraded_file = tmp_path / "upgraded.sqlite"
    shutil.copy(FIXTURES / "jobs-schema-v3.sqlite", upgraded_file)
    upgraded, new = Store(upgraded_file), Store(tmp_path / "new.sqlite")
    try:
        assert schema_of(upgraded) == schema_of(new)
        assert "schedule_ticks_unrecorded" in schema_of(new)["schedule_ticks"][1]
    finally:
        upgraded.close()
        new.close()


def test_a_database_of_revision_0003_gains_the_unrecorded_ticks_index(tmp_path: Path) -> None:
    database = tmp_path / "jobs.sqlite"
    Store(database).close()
    engine = sa.create_engine(f"sqlite:///{database}")
    with engine.begin() as db:  # as the release with revision 0003 left it
        db.execute(sa.text("DROP INDEX schedule_ticks_unrecorded"))
        db.execute(sa.text("UPDATE alembic_version SET version_num = '0003'"))
    engine.dispose()
    store = Store(database)
    try:
        assert migrate.is_current(store.engine)
        assert "schedule_ticks_unrecorded" in schema_of(store)["schedule_ticks"][1]
    finally:
        store.close()

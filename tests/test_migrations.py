"""Databases written by earlier releases upgrade in place with every record intact."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

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

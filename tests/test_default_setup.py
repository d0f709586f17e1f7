"""The personal default offered when no catalog is configured."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from jupyterlab_jobs.catalog import parse_memory
from jupyterlab_jobs.default_setup import default_catalog, group_name_for, usable_memory_bytes

NO_CATALOG = {"JobsApp": {"groups": [], "instance_types": [], "images": [], "datasets": []}}


def test_the_default_is_sized_to_this_machine_and_runs_in_this_environment() -> None:
    catalog = default_catalog("alice")
    assert catalog.default_setup
    (group,) = catalog.groups
    (instance_type,) = catalog.instance_types
    (image,) = catalog.images
    assert (group.name, group.display_name, group.users) == ("alice", "alice", ["alice"])
    assert group.instance_types == [instance_type.name] and group.images == [image.name]
    assert instance_type.cpu == len(os.sched_getaffinity(0))
    machine = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    assert 0.5 * usable_memory_bytes() < parse_memory(instance_type.memory) <= machine
    assert image.prefix == sys.prefix


@pytest.mark.parametrize(
    ("user", "group"),
    [
        ("alice", "alice"),
        ("a.b@example.org", "a.b-example.org"),
        ("_x y", "x-y"),
        ("@@", "personal"),
    ],
)
def test_a_user_name_becomes_a_valid_group_name(user: str, group: str) -> None:
    assert group_name_for(user) == group
    assert default_catalog(user).groups[0].users == [user]


@pytest.mark.parametrize("jobs_settings", [NO_CATALOG])
async def test_without_a_catalog_the_user_gets_the_default_and_can_run_a_job(
    api: Any, jobs_app: Any, tmp_path: Path
) -> None:
    options = await api.call("GET", "options")
    assert options["default_setup"] is True
    assert [g["name"] for g in options["groups"]] == ["alice"]
    (instance_type,) = options["instance_types"]
    assert instance_type["cpu"] == len(os.sched_getaffinity(0))
    job = await api.submit(
        'echo "$PRIMEHUB_GROUP" > alice/from-the-job.txt; '
        'python -c "import sys; print(sys.prefix)"',
        group="alice",
        instance_type=instance_type["name"],
        image=options["images"][0]["name"],
    )
    done = await api.wait(job["id"])
    assert done["status"] == "Succeeded", done
    assert (await api.logs(job["id"])).strip() == sys.prefix
    # The group's directory is kept under the data dir.
    kept = tmp_path / "jobs-data" / "projects" / "alice" / "from-the-job.txt"
    assert kept.read_text() == "alice\n"


async def test_a_configured_catalog_replaces_the_default(api: Any) -> None:
    options = await api.call("GET", "options")
    assert options["default_setup"] is False
    assert [g["name"] for g in options["groups"]] == ["ops", "research"]


class TestACatalogFileAlone:
    @pytest.fixture
    def jobs_settings(self, tmp_path: Path) -> dict[str, Any]:
        catalog_file = tmp_path / "catalog.yaml"
        catalog_file.write_text(
            "instance_types: [{name: small}]\nimages: [{name: base}]\n"
            "groups: [{name: team, instance_types: [small], images: [base], users: ['*']}]\n"
        )
        return {"JobsApp": {**NO_CATALOG["JobsApp"], "catalog_file": str(catalog_file)}}

    async def test_replaces_the_default(self, api: Any) -> None:
        options = await api.call("GET", "options")
        assert options["default_setup"] is False
        assert [g["name"] for g in options["groups"]] == ["team"]


@pytest.mark.parametrize(
    ("backend_class", "default_setup"),
    [
        ("jupyterlab_jobs.backends.local.LocalBackend", True),
        # Its jobs run in container images: this machine's environment is not one.
        ("jupyterlab_jobs.backends.kubernetes.KubernetesBackend", False),
    ],
)
def test_the_default_is_offered_with_the_local_backend_only(
    tmp_path: Path, backend_class: str, default_setup: bool
) -> None:
    from jupyterlab_jobs.app import JobsApp

    app = JobsApp(data_dir=str(tmp_path / "data"), backend_class=backend_class)
    app.initialize_settings()
    try:
        assert app.service.options(app.standalone_user)["default_setup"] is default_setup
        assert app.service.catalog.is_empty is not default_setup
    finally:
        app.store.close()

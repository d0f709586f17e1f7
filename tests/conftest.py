"""Fixtures: a real Jupyter server with the extension, a real SQLite store, real processes."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pg_server import INSTALL_HINT, PostgresServer, find_bindir
from server_process import catalog

pytest_plugins = ["pytest_jupyter.jupyter_server"]

FINAL = {"Succeeded", "Failed", "Cancelled"}


def server_config(tmp_path: Path, user: str = "alice", **jobs: Any) -> dict[str, Any]:
    return {
        "ServerApp": {"jpserver_extensions": {"jupyterlab_jobs": True}},
        "JobsApp": {
            "data_dir": str(tmp_path / "jobs-data"),
            "standalone_user": user,
            "reconcile_interval_seconds": 0.5,
            **catalog(tmp_path),
            **jobs,
        },
        "StaticGroupsProvider": {
            "user_groups": {"alice": ["research", "ops"], "bob": ["ops"], "carol": ["secret"]}
        },
        "LocalBackend": {
            "grace_seconds": 1.0,
            "max_concurrent_jobs": 4,
            "cpu_capacity": 2,
            "launcher_idle_seconds": 30,
            "gpus": [],  # the same on a machine with GPUs
        },
    }


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session. Missing PostgreSQL fails in CI, skips elsewhere."""
    bindir = find_bindir()
    if bindir is None:
        message = f"PostgreSQL is not installed: {INSTALL_HINT}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    server = PostgresServer(bindir).start()
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The jobs database of a test, on each engine: a SQLite file or a new PG database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'jobs-db' / 'jobs.sqlite'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.create_database()


@pytest.fixture
def jobs_settings() -> dict[str, Any]:
    """Override in a test module (or parametrize) to change JobsApp/LocalBackend config."""
    return {}


@pytest.fixture
def jobs_db_url() -> str:
    """The test server's c.JobsApp.db_url ("": the SQLite default); a module that runs on
    both engines overrides it with the parametrized ``db_url``."""
    return ""


@pytest.fixture
def jp_server_config(
    tmp_path: Path, jobs_settings: dict[str, Any], jobs_db_url: str
) -> dict[str, Any]:
    config = server_config(tmp_path)
    if jobs_db_url:
        config["JobsApp"]["db_url"] = jobs_db_url
    for section, values in jobs_settings.items():
        config.setdefault(section, {}).update(values)
    return config


@pytest.fixture
def jobs_app(jp_serverapp: Any, jp_asyncio_loop: Any) -> Iterator[Any]:
    """The JobsApp of the test server, with its background tasks running."""
    (extension,) = list(jp_serverapp.extension_manager.extension_apps["jupyterlab_jobs"])
    jp_asyncio_loop.run_until_complete(extension._start_jupyter_server_extension(jp_serverapp))
    yield extension
    jp_asyncio_loop.run_until_complete(extension.tasks.stop())


class Api:
    """Calls the REST API of the test server and decodes JSON."""

    def __init__(self, fetch: Callable[..., Awaitable[Any]]) -> None:
        self.fetch = fetch

    async def raw(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        kwargs: dict[str, Any] = {"method": method, "raise_error": False}
        if params:
            kwargs["params"] = {k: v for k, v in params.items() if v is not None}
        if body is not None:
            kwargs["body"] = body if isinstance(body, bytes | str) else json.dumps(body)
        elif method == "POST":
            kwargs["body"] = b""
        parts = ["jupyterlab-jobs", *path.split("/")]
        return await self.fetch(*parts, **kwargs)

    async def call(
        self, method: str, path: str, body: Any = None, expect: int = 200, **params: Any
    ) -> Any:
        response = await self.raw(method, path, body, **params)
        text = response.body.decode()
        assert response.code == expect, f"{method} {path}: {response.code} {text}"
        return json.loads(text) if "json" in response.headers.get("Content-Type", "") else text

    async def submit(self, command: str, expect: int = 201, **fields: Any) -> dict[str, Any]:
        body = {
            "name": "test job",
            "group": "research",
            "instance_type": "cpu-half",
            "image": "base",
            "command": command,
            **fields,
        }
        return await self.call("POST", "jobs", body, expect=expect)  # type: ignore[no-any-return]

    async def wait(
        self, job_id: str, statuses: set[str] = FINAL, timeout: float = 30
    ) -> dict[str, Any]:
        import asyncio

        end = time.monotonic() + timeout
        while True:
            job = await self.call("GET", f"jobs/{job_id}")
            if job["status"] in statuses:
                return job  # type: ignore[no-any-return]
            assert time.monotonic() < end, f"job stayed {job['status']}: {job}"
            await asyncio.sleep(0.05)

    async def cancel(self, job_id: str) -> dict[str, Any]:
        """Cancel a running job as alice; check that it ends Cancelled by her and that a
        second cancel is refused; return the ended job."""
        cancelled = await self.call("POST", f"jobs/{job_id}/cancel")
        assert cancelled["id"] == job_id
        done = await self.wait(job_id)
        assert done["status"] == "Cancelled"
        assert done["message"] == "Cancelled by alice"
        assert done["finished_at"] is not None
        conflict = await self.call("POST", f"jobs/{job_id}/cancel", expect=409)
        assert "already ended" in conflict["message"]
        return done

    async def logs(self, job_id: str, **params: Any) -> str:
        return await self.call("GET", f"jobs/{job_id}/logs", **params)  # type: ignore[no-any-return]


@pytest.fixture
def api(jp_fetch: Any, jobs_app: Any) -> Api:
    return Api(jp_fetch)

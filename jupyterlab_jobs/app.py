"""JobsApp: the jupyter_server extension, its configuration and its background tasks."""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from jupyter_core.paths import jupyter_data_dir
from jupyter_server.extension.application import ExtensionApp
from traitlets import Dict, Float, Int, List, Type, Unicode, default

from .backends.base import Backend
from .backends.local import LocalBackend
from .catalog import Catalog
from .cursors import load_cursor_key
from .datadir_owner import check_data_dir_owner
from .default_setup import default_catalog
from .handlers import make_handlers
from .identity import GroupsProvider, StaticGroupsProvider, default_user
from .logfollow import LogWatchers
from .proxy import make_proxy_handlers
from .scheduling.engine import Engine, SchedulerLoop
from .scheduling.service import ScheduleService
from .service import JobService
from .store import Store, sqlite_url
from .store.schedules import ScheduleStore
from .tasks import BackgroundTasks

T = TypeVar("T")
# How long shutdown waits for blocking work in progress (a backend call) to end.
SHUTDOWN_WAIT_SECONDS = 10.0


class JobsApp(ExtensionApp):
    """Batch jobs for the user's groups: submit, watch, read logs, cancel, rerun."""

    name = "jupyterlab_jobs"

    # Set by initialize_settings; None until then (stop_extension must work regardless).
    store: Store | None = None
    tasks: BackgroundTasks | None = None
    log_watchers: LogWatchers  # also set by initialize_settings
    executor: ThreadPoolExecutor | None = None

    data_dir = Unicode(
        help="Directory for the job database, logs and the local backend's files. Servers "
        "of several users may share it: they then see one consistent set of jobs. "
        "Defaults to <jupyter data dir>/jupyterlab-jobs.",
    ).tag(config=True)

    @default("data_dir")
    def _default_data_dir(self) -> str:
        return str(Path(jupyter_data_dir()) / "jupyterlab-jobs")

    db_url = Unicode(
        "",
        help="The jobs database as a SQLAlchemy URL. Default: sqlite:///<data_dir>/jobs.sqlite "
        "(one server, or servers sharing a local data_dir). For several servers on several "
        "machines use PostgreSQL: postgresql+psycopg://USER:PASSWORD@HOST:PORT/DATABASE. "
        "The schema is upgraded at start-up (or by `jupyter jobs upgrade-db`).",
    ).tag(config=True)

    worker_threads = Int(
        8,
        min=1,
        help="Threads for the extension's blocking work (database, backend calls, files). "
        "They also bound the database connection pool.",
    ).tag(config=True)

    backend_class = Type(
        default_value=LocalBackend,
        klass=Backend,
        help="The class that runs jobs: LocalBackend (processes on this machine) or a "
        "Kubernetes backend. Its own options are set on that class (c.LocalBackend.*).",
    ).tag(config=True)

    max_runtime_seconds = Int(
        86400,
        min=1,
        help="A job running longer than this (queue time not counted) is stopped and Failed.",
    ).tag(config=True)

    log_retention_seconds = Int(
        7 * 86400,
        min=0,
        help="A finished job's logs are deleted this long after it finished; the job stays "
        "listed with logs_available false.",
    ).tag(config=True)

    record_retention_seconds = Int(
        0,
        min=0,
        help="A finished job's record is deleted this long after it finished (0: keep).",
    ).tag(config=True)

    groups: List[dict[str, Any]] = List(
        Dict(),
        help="Catalog groups: [{name, display_name, instance_types: [...], images: [...], "
        "datasets: [...], users: [...]}]. `users` ('*' for everyone) adds members for the "
        "static groups provider.",
    ).tag(config=True)

    instance_types: List[dict[str, Any]] = List(
        Dict(),
        help="Catalog instance types: [{name, display_name, description, cpu, memory "
        "('2Gi'), gpu, node_selector, tolerations}].",
    ).tag(config=True)

    images: List[dict[str, Any]] = List(
        Dict(),
        help="Catalog images: [{name, display_name, description, prefix (local: a venv or "
        "conda prefix put first on PATH), container_image, gpu_container_image, pull_secret}].",
    ).tag(config=True)

    datasets: List[dict[str, Any]] = List(
        Dict(),
        help="Catalog datasets: [{name, display_name, description, path (local), pvc, "
        "host_path}]. A group lists the datasets its jobs see at <home>/datasets/<name>.",
    ).tag(config=True)

    catalog_file = Unicode(
        "",
        help="A YAML or JSON file with `groups`, `instance_types`, `images` and `datasets` "
        "lists, added to the ones configured here.",
    ).tag(config=True)

    groups_provider_class = Type(
        default_value=StaticGroupsProvider,
        klass=GroupsProvider,
        help="Where users' groups come from: StaticGroupsProvider (config), "
        "UnixGroupsProvider or JupyterHubGroupsProvider.",
    ).tag(config=True)

    standalone_user = Unicode(
        help="The jobs' owner when the server does not run under JupyterHub. "
        "Defaults to the OS user.",
    ).tag(config=True)

    @default("standalone_user")
    def _default_standalone_user(self) -> str:
        return default_user()

    reconcile_interval_seconds = Float(
        2.0,
        min=0.05,
        help="How often every active job is checked against its process (a safety net; "
        "job ends are normally reported at once).",
    ).tag(config=True)

    retention_interval_seconds = Float(
        60.0,
        min=0.05,
        help="How often log and record retention runs.",
    ).tag(config=True)

    service_url = Unicode(
        help="Client mode (under JupyterHub): the URL of the jobs service, e.g. "
        "http://127.0.0.1:10101/services/jobs/. When set, this server keeps no jobs, "
        "store or backend: it forwards each request to the service with the requesting "
        "user's own hub token. Defaults to $JUPYTERLAB_JOBS_SERVICE_URL (empty: standalone).",
    ).tag(config=True)

    @default("service_url")
    def _default_service_url(self) -> str:
        return os.environ.get("JUPYTERLAB_JOBS_SERVICE_URL", "")

    service_timeout_seconds = Float(
        30.0,
        min=0.1,
        help="Client mode: how long a request to the jobs service may take before the "
        "user gets 504 (log follow streams are not limited by it).",
    ).tag(config=True)

    max_body_bytes = Int(
        2 * 1024 * 1024,
        help="Request bodies larger than this are refused with 413 (checked as the body "
        "arrives, so a larger one is never held in memory).",
    ).tag(config=True)

    log_follow_max_seconds = Float(
        3600.0,
        min=0.1,
        help="A followed log (logs?follow=1) ends after this many seconds even if the job "
        "still runs; the client follows again from the offset it reached.",
    ).tag(config=True)

    def initialize_settings(self) -> None:
        if self.service_url:
            self.settings["jupyterlab_jobs"] = self
            self.log.info("jupyterlab-jobs: client of the jobs service at %s", self.service_url)
            return
        try:
            self._initialize()
        except Exception as error:
            # jupyter_server would log a failed extension and serve without it (every
            # endpoint 404): a jobs server that cannot reach its database must not start.
            self.log.critical("jupyterlab-jobs could not start: %s", error, exc_info=True)
            self._close()
            self.exit(1)

    def _initialize(self) -> None:
        catalog = Catalog.load(
            groups=self.groups,
            instance_types=self.instance_types,
            images=self.images,
            datasets=self.datasets,
            catalog_file=self.catalog_file,
        )
        is_local = issubclass(self.backend_class, LocalBackend)  # jobs run as this OS user
        # Jobs of the default run in this machine's environment: only a local backend can.
        if catalog.is_empty and not self.catalog_file and is_local:
            catalog = default_catalog(self.standalone_user)
        data_dir = Path(self.data_dir)
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        if is_local:
            check_data_dir_owner(data_dir)
        self.store = Store(
            self.db_url or sqlite_url(data_dir / "jobs.sqlite"),
            pool_size=self.worker_threads,
            log=self.log,
        )
        self.backend = self.backend_class(parent=self, data_dir=str(data_dir))
        self.backend.check_catalog(catalog)
        provider = self.groups_provider = self.groups_provider_class(parent=self)
        if isinstance(provider, StaticGroupsProvider):
            provider.catalog_users = {g.name: list(g.users) for g in catalog.groups}
        self.service = JobService(
            store=self.store,
            catalog=catalog,
            backend=self.backend,
            groups_for=provider.groups_for,
            admin_groups_for=provider.admin_groups_for,
            current_groups_for=provider.current_groups_for,
            max_runtime_seconds=self.max_runtime_seconds,
            log_retention_seconds=self.log_retention_seconds,
            record_retention_seconds=self.record_retention_seconds,
            notebook_root=Path(self.serverapp.root_dir) if self.serverapp else None,
            snapshots_dir=data_dir / "notebooks",
            cursor_key=load_cursor_key(data_dir),
            log=self.log,
        )
        self.executor = ThreadPoolExecutor(
            self.worker_threads, thread_name_prefix="jupyterlab-jobs"
        )
        self.schedules = ScheduleService(jobs=self.service, store=ScheduleStore(self.store))
        self.scheduler = SchedulerLoop(
            Engine(self.schedules, log=self.log), run_blocking=self.run_blocking, log=self.log
        )
        self.schedules.on_change.append(self.scheduler.wake)
        self.tasks = BackgroundTasks(
            self.service,
            run_blocking=self.run_blocking,
            reconcile_interval=self.reconcile_interval_seconds,
            retention_interval=self.retention_interval_seconds,
            log=self.log,
            scheduler=self.scheduler,
        )
        self.log_watchers = LogWatchers(self.run_blocking, self.log)
        self.settings["jupyterlab_jobs"] = self
        self.log.info(
            "jupyterlab-jobs: %s, data in %s, database %s, %d groups%s",
            type(self.backend).__name__,
            data_dir,
            self.store,
            len(catalog.groups),
            " (the default setup: no catalog is configured)" if catalog.default_setup else "",
        )

    def initialize_handlers(self) -> None:
        self.handlers.extend(make_proxy_handlers() if self.service_url else make_handlers())

    def user_for(self, current_user: Any) -> str:
        """Under JupyterHub the authenticated hub user; standalone, ``standalone_user``."""
        if os.environ.get("JUPYTERHUB_USER") and current_user is not None:
            return str(getattr(current_user, "username", current_user))
        return self.standalone_user

    async def run_blocking(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking work on the extension's own bounded thread pool."""
        assert self.executor is not None, "initialize_settings creates the executor"
        call = functools.partial(contextvars.copy_context().run, work, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        if self.service_url:
            return  # client mode: the jobs service does the background work
        assert self.tasks is not None, "initialize_settings creates the tasks"
        self.tasks.start()

    async def stop_extension(self) -> None:
        """Stop what was started; works after a failed or partial initialization too."""
        if self.tasks is not None:
            await self.tasks.stop()
        watchers = getattr(self, "log_watchers", None)  # absent after a failed start
        if watchers is not None:
            await watchers.stop()
        if self.executor is not None:
            # Let running work finish (it holds database connections), but not forever.
            executor, self.executor = self.executor, None
            waiting = asyncio.get_running_loop().run_in_executor(
                None, functools.partial(executor.shutdown, wait=True, cancel_futures=True)
            )
            try:
                await asyncio.wait_for(waiting, SHUTDOWN_WAIT_SECONDS)
            except asyncio.TimeoutError:  # not TimeoutError before Python 3.11
                self.log.warning("jupyterlab-jobs: work still running at shutdown")
        self._close()

    def _close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)
        if self.store is not None:
            self.store.close()

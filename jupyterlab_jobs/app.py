"""JobsApp: the jupyter_server extension, its configuration and its background tasks."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

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
from .service import JobService
from .store import Store
from .tasks import BackgroundTasks


class JobsApp(ExtensionApp):
    """Batch jobs for the user's groups: submit, watch, read logs, cancel, rerun."""

    name = "jupyterlab_jobs"

    data_dir = Unicode(
        help="Directory for the job database, logs and the local backend's files. Servers "
        "of several users may share it: they then see one consistent set of jobs. "
        "Defaults to <jupyter data dir>/jupyterlab-jobs.",
    ).tag(config=True)

    @default("data_dir")
    def _default_data_dir(self) -> str:
        return str(Path(jupyter_data_dir()) / "jupyterlab-jobs")

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
        self.store = Store(data_dir / "jobs.sqlite")
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
            max_runtime_seconds=self.max_runtime_seconds,
            log_retention_seconds=self.log_retention_seconds,
            record_retention_seconds=self.record_retention_seconds,
            notebook_root=Path(self.serverapp.root_dir) if self.serverapp else None,
            snapshots_dir=data_dir / "notebooks",
            cursor_key=load_cursor_key(data_dir),
            log=self.log,
        )
        self.tasks = BackgroundTasks(
            self.service,
            reconcile_interval=self.reconcile_interval_seconds,
            retention_interval=self.retention_interval_seconds,
            log=self.log,
        )
        self.log_watchers = LogWatchers(self.log)
        self.settings["jupyterlab_jobs"] = self
        self.log.info(
            "jupyterlab-jobs: %s, data in %s, %d groups%s",
            type(self.backend).__name__,
            data_dir,
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

    async def _start_jupyter_server_extension(self, serverapp: Any) -> None:
        if not self.service_url:
            self.tasks.start()

    async def stop_extension(self) -> None:
        if not self.service_url:
            await self.tasks.stop()
            await self.log_watchers.stop()
            self.store.close()

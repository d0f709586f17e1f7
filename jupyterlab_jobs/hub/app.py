"""The jobs service: the REST API of the extension as a JupyterHub service.

It runs the extension's own handlers and components (JobsApp's store, backend, catalog,
JobService and background tasks) in a plain tornado application under the service's
prefix; only identity differs: the hub answers for each request's token.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
import signal
import sys
from typing import Any
from urllib.parse import urlsplit

from jupyter_server.auth.authorizer import AllowAllAuthorizer
from jupyterhub.services.auth import HubAuth
from jupyterhub.utils import url_path_join
from tornado import web
from tornado.httpserver import HTTPServer
from traitlets import Float, Unicode, default
from traitlets.config import Application

from ..app import JobsApp
from ..backends.local import LocalBackend
from ..handlers import make_handlers
from .identity import HubGroupsProvider, HubServiceIdentityProvider


class ServiceJobsApp(JobsApp):
    """JobsApp's components for the service: the owner of a request is always the user
    the hub identified (never a standalone user). Configured as ``c.JobsApp``."""

    def user_for(self, current_user: Any) -> str:
        return str(current_user.username)


class JobsServiceApp(Application):
    """Run the jobs REST API as a JupyterHub service (hub-managed or external)."""

    name = "jupyter-jobs-service"
    description = __doc__
    classes = [  # noqa: RUF012 (traitlets reads it from the class)
        JobsApp,
        LocalBackend,
        HubAuth,
        HubServiceIdentityProvider,
    ]
    aliases = {  # noqa: RUF012
        "config": "JobsServiceApp.config_file",
        "data-dir": "JobsApp.data_dir",
    }

    @default("log_level")
    def _default_log_level(self) -> int:
        return logging.INFO

    config_file = Unicode(
        "",
        help="A Python config file (c.JobsApp.*, c.LocalBackend.*, c.JobsServiceApp.*).",
    ).tag(config=True)

    service_name = Unicode(
        help="The service's name in the hub; callers need access:services!service=<name>. "
        "Defaults to $JUPYTERHUB_SERVICE_NAME, else 'jobs'.",
    ).tag(config=True)

    @default("service_name")
    def _default_service_name(self) -> str:
        return os.environ.get("JUPYTERHUB_SERVICE_NAME") or "jobs"

    service_prefix = Unicode(
        help="The URL prefix the API is served under. Defaults to "
        "$JUPYTERHUB_SERVICE_PREFIX, else /services/<service_name>/.",
    ).tag(config=True)

    @default("service_prefix")
    def _default_service_prefix(self) -> str:
        return os.environ.get("JUPYTERHUB_SERVICE_PREFIX") or f"/services/{self.service_name}/"

    bind_url = Unicode(
        help="Where the service listens. Defaults to $JUPYTERHUB_SERVICE_URL (the hub sets "
        "it from the service's `url`), else http://127.0.0.1:10101.",
    ).tag(config=True)

    @default("bind_url")
    def _default_bind_url(self) -> str:
        return os.environ.get("JUPYTERHUB_SERVICE_URL") or "http://127.0.0.1:10101"

    groups_cache_seconds = Float(
        60.0,
        min=0,
        help="How long the hub's answer for a token (its user's groups and scopes) is "
        "reused by requests that only read. Group changes in the hub take effect within "
        "this time; create, cancel and rerun always ask the hub again.",
    ).tag(config=True)

    def initialize(self, argv: Any = None) -> None:
        super().initialize(argv)
        if self.config_file:
            self.load_config_file(self.config_file)
            self.update_config(self.cli_config)
        # The hub's groups are authoritative for this service.
        self.config.JobsApp.groups_provider_class = HubGroupsProvider
        # No server app: the service has no notebook directory of its own (notebook
        # jobs bring their content), so it never reads a path a caller names.
        self.jobs = ServiceJobsApp(parent=self, serverapp=None)
        self.jobs.initialize_settings()
        # The hub's answer is the groups cache: the service must not keep its own on top.
        self.jobs.service.groups_cache_seconds = 0.0
        groups = self.jobs.groups_provider
        assert isinstance(groups, HubGroupsProvider)
        self.hub_auth = HubAuth(
            parent=self,
            # Never the allow-all default: only tokens that may access this service.
            access_scopes={f"access:services!service={self.service_name}"},
            cache_max_age=int(self.groups_cache_seconds),
        )
        # Ticks ask the hub for their owner's groups as the service itself.
        groups.hub_api_url = self.hub_auth.api_url
        groups.api_token = self.hub_auth.api_token
        self.identity = HubServiceIdentityProvider(
            parent=self, hub_auth=self.hub_auth, groups=groups
        )
        as_owners = getattr(self.jobs.backend, "run_as_owner", False)
        self.log.info(
            "jobs service %r at %s%s; jobs run as %s",
            self.service_name,
            self.bind_url.rstrip("/"),
            self.service_prefix,
            "their owners' Unix accounts (run_as_owner)"
            if as_owners
            else f"this service's own account ({getpass.getuser()})",
        )

    def make_web_app(self) -> web.Application:
        handlers = [
            (url_path_join(self.service_prefix, path), handler) for path, handler in make_handlers()
        ]
        return web.Application(
            handlers,
            base_url=self.service_prefix,
            identity_provider=self.identity,
            authorizer=AllowAllAuthorizer(parent=self),
            jupyterlab_jobs=self.jobs,
            serverapp=None,
            # Behind the hub's proxy: the Host header is the public one.
            allow_remote_access=True,
            log_function=self._log_request,
        )

    def _log_request(self, handler: web.RequestHandler) -> None:
        status = handler.get_status()
        log = self.log.warning if status >= 500 else self.log.debug
        log("%d %s %s", status, handler.request.method, handler.request.path)

    async def serve(self) -> None:
        url = urlsplit(self.bind_url)
        server = HTTPServer(self.make_web_app(), xheaders=True)
        server.listen(url.port or 80, url.hostname or "127.0.0.1")
        await self.jobs._start_jupyter_server_extension(None)  # starts the background tasks
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopped.set)
        await stopped.wait()
        self.log.info("jobs service stopping")
        server.stop()
        await self.jobs.stop_extension()

    def start(self) -> None:
        asyncio.run(self.serve())


def main(argv: list[str] | None = None) -> None:
    app = JobsServiceApp.instance()
    app.initialize(argv if argv is not None else sys.argv[1:])
    app.start()

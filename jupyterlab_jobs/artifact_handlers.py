"""Thin REST handlers of a job's artifacts and resource use (the logic: artifacts.py,
usage.py)."""

from __future__ import annotations

import os
import posixpath
from urllib.parse import quote

from jupyter_server.auth.decorator import authorized
from tornado import web
from tornado.iostream import StreamClosedError

from . import artifacts, usage
from .handlers import JOB_ID, JobsHandler
from .models import dumps

CHUNK_BYTES = 256 * 1024


class ArtifactsHandler(JobsHandler):
    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        reply = await self.call(artifacts.list_artifacts, self.service, self.user, job_id)
        self.set_header("Cache-Control", "no-store")
        self.finish(dumps(reply))


class ArtifactHandler(JobsHandler):
    """One artifact's bytes, streamed in chunks (never all of it in memory)."""

    @web.authenticated
    @authorized
    async def get(self, job_id: str, path: str) -> None:
        fd, size = await self.call(artifacts.open_artifact, self.service, self.user, job_id, path)
        with os.fdopen(fd, "rb") as handle:
            name = posixpath.basename(path)
            # Never a type a browser renders (an HTML artifact is the job's script on the
            # server's origin): always a download.
            self.set_header("Content-Type", "application/octet-stream")
            self.set_header("Content-Security-Policy", "sandbox")
            self.set_header("Content-Disposition", f"attachment; filename*=UTF-8''{quote(name)}")
            self.set_header("X-Content-Type-Options", "nosniff")
            self.set_header("Cache-Control", "no-store")
            # No Content-Length: the job's file may change while it is sent. At most the
            # size it had when opened is sent.
            remaining = size
            try:
                while remaining > 0:
                    chunk = await self.app.run_blocking(handle.read, min(CHUNK_BYTES, remaining))
                    if not chunk:
                        break
                    remaining -= len(chunk)
                    self.write(chunk)
                    await self.flush()
            except StreamClosedError:
                return
        self.finish()


class UsageHandler(JobsHandler):
    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        reply = await self.call(usage.job_usage, self.service, self.user, job_id)
        self.set_header("Cache-Control", "no-store")
        self.finish(dumps(reply))


ARTIFACT_ROUTES: list[tuple[str, type[JobsHandler]]] = [
    (f"/jobs/{JOB_ID}/artifacts", ArtifactsHandler),
    (f"/jobs/{JOB_ID}/artifacts/(?P<path>.+)", ArtifactHandler),
    (f"/jobs/{JOB_ID}/usage", UsageHandler),
]

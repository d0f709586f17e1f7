"""Thin REST handlers: parse, authorize, call the JobService in a thread, write JSON."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web
from tornado.iostream import StreamClosedError

from . import logs
from .errors import InvalidInput, JobsError
from .models import Job
from .service import JobService

if TYPE_CHECKING:
    from .app import JobsApp

T = TypeVar("T")
BASE = "/jupyterlab-jobs"
OPENAPI = Path(__file__).with_name("openapi.json")
FOLLOW_INTERVAL_SECONDS = 0.1
AUTH_RESOURCE = "jobs"
TEXT = "text/plain; charset=utf-8"


class JobsHandler(APIHandler):
    auth_resource = AUTH_RESOURCE

    @property
    def app(self) -> JobsApp:
        return self.settings["jupyterlab_jobs"]  # type: ignore[no-any-return]

    @property
    def service(self) -> JobService:
        return self.app.service

    @property
    def user(self) -> str:
        return self.app.user_for(self.current_user)

    async def call(self, work: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking service work in a thread; its errors become HTTP errors."""
        try:
            return await self.app.run_blocking(work, *args, **kwargs)
        except JobsError as error:
            raise JobsHTTPError(error) from None

    def body(self) -> Any:
        raw = self.request.body or b""
        if len(raw) > self.app.max_body_bytes:
            raise web.HTTPError(
                413, f"The request body is larger than {self.app.max_body_bytes} bytes"
            )
        try:
            return json.loads(raw.decode("utf-8")) if raw.strip() else {}
        except UnicodeDecodeError:
            raise web.HTTPError(400, "The request body is not UTF-8 text") from None
        except ValueError as error:
            raise web.HTTPError(400, f"The request body is not valid JSON: {error}") from None

    def query_int(self, name: str, default: int | None, minimum: int = 0) -> int | None:
        raw = self.get_query_argument(name, None)
        if raw in (None, ""):
            return default
        assert raw is not None
        if not (raw.isascii() and raw.isdigit()) or len(raw) > 15 or int(raw) < minimum:
            raise JobsHTTPError(InvalidInput(f"{name} must be an integer >= {minimum}", field=name))
        return int(raw)

    def query_bool(self, name: str) -> bool:
        raw = (self.get_query_argument(name, "") or "").lower()
        if raw in ("", "0", "false", "no"):
            return False
        if raw in ("1", "true", "yes"):
            return True
        raise JobsHTTPError(InvalidInput(f"{name} must be true or false", field=name))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """jupyter_server's JSON error body; the service's message verbatim, plus ``field``."""
        exc_info = kwargs.get("exc_info")
        error = exc_info[1] if exc_info else None
        if not isinstance(error, JobsHTTPError):
            super().write_error(status_code, **kwargs)
            return
        reply: dict[str, Any] = {"message": error.jobs_error.message, "reason": error.reason}
        if isinstance(error.jobs_error, InvalidInput) or error.jobs_error.field:
            reply["field"] = error.jobs_error.field
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(reply))


class JobsHTTPError(web.HTTPError):
    def __init__(self, error: JobsError) -> None:
        super().__init__(error.status, error.message)
        self.jobs_error = error


class RenderedJobs:
    """JSON text of finished jobs, which never change but for ``logs_available``.

    The UI polls the same pages every few seconds: most of a page is finished jobs, so
    rendering each once keeps a list request cheap. Bounded, oldest entries dropped first.
    """

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._texts: dict[tuple[str, bool], str] = {}
        self._lock = threading.Lock()

    def render(self, job: Job) -> str:
        if not job.is_final:
            return json.dumps(job.to_json())
        key = (job.id, job.logs_available)
        text = self._texts.get(key)
        if text is None:
            text = json.dumps(job.to_json())
            with self._lock:
                if len(self._texts) >= self.size:
                    del self._texts[next(iter(self._texts))]
                self._texts[key] = text
        return text


RENDERED = RenderedJobs()


def render_page(service: JobService, user: str, **filters: Any) -> str:
    """A page of the list as JSON text, built in the worker thread (not on the loop)."""
    jobs, cursor = service.list_jobs(user, **filters)
    rendered = ", ".join(RENDERED.render(job) for job in jobs)
    return f'{{"jobs": [{rendered}], "next_cursor": {json.dumps(cursor)}}}'


class OptionsHandler(JobsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.finish(await self.call(self.service.options, self.user))


class JobsListHandler(JobsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        statuses = [s for raw in self.get_query_arguments("status") for s in raw.split(",") if s]
        page = await self.call(
            render_page,
            self.service,
            self.user,
            group=self.get_query_argument("group", None) or None,
            mine=self.query_bool("mine"),
            statuses=statuses,
            q=self.get_query_argument("q", "") or "",
            limit=self.query_int("limit", 50, minimum=1),
            cursor=self.get_query_argument("cursor", None) or None,
        )
        self.finish(page)

    @web.authenticated
    @authorized
    async def post(self) -> None:
        job = await self.call(self.service.create, self.user, self.body())
        self.set_status(201)
        self.finish(job.to_json())


class JobHandler(JobsHandler):
    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        job = await self.call(self.service.get, self.user, job_id)
        self.finish(job.to_json())


class CancelHandler(JobsHandler):
    @web.authenticated
    @authorized
    async def post(self, job_id: str) -> None:
        job = await self.call(self.service.cancel, self.user, job_id)
        self.finish(job.to_json())


class RerunHandler(JobsHandler):
    @web.authenticated
    @authorized
    async def post(self, job_id: str) -> None:
        job = await self.call(self.service.rerun, self.user, job_id)
        self.set_status(201)
        self.finish(job.to_json())


class LogsHandler(JobsHandler):
    """The job's output as text: a byte range, the last lines, or a live stream."""

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        offset = self.query_int("offset", 0) or 0
        tail = self.query_int("tail", None)
        follow = self.query_bool("follow")
        job, path = await self.call(self.service.log_file, self.user, job_id)
        size = await asyncio.to_thread(logs.log_size, path)
        position = min(offset, size)
        if tail is not None:
            position = await asyncio.to_thread(logs.tail_offset, path, tail, size)
        self.set_header("Content-Type", TEXT)
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Log-Offset", str(size))
        self.set_header("X-Job-Status", job.status)
        try:
            position = await self._send(path, position, size)
            if follow:
                await self._follow(job_id, path, position)
        except StreamClosedError:
            return
        self.finish(set_content_type=TEXT)

    async def _send(self, path: Path, position: int, end: int | None) -> int:
        """Write the bytes from ``position`` (to ``end``) chunk by chunk; the new position."""
        while True:
            chunk = await asyncio.to_thread(logs.read_chunk, path, position, end)
            if not chunk:
                return position
            position += len(chunk)
            self.write(chunk)
            await self.flush()

    async def _follow(self, job_id: str, path: Path, position: int) -> None:
        while True:
            try:
                job = await asyncio.to_thread(self.service.get, self.user, job_id)
            except JobsError:
                return
            final = job.is_final or not job.logs_available
            before = position
            position = await self._send(path, position, None)
            if final and position == before:
                return
            if position == before:
                await asyncio.sleep(FOLLOW_INTERVAL_SECONDS)


class OpenAPIHandler(JobsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        text = await asyncio.to_thread(OPENAPI.read_text, encoding="utf-8")
        self.finish(text)


# Imported here: its handlers subclass JobsHandler above.
from .schedule_handlers import SCHEDULE_ROUTES  # noqa: E402

JOB_ID = r"(?P<job_id>[^/]+)"

ROUTES: list[tuple[str, type[JobsHandler]]] = [
    ("/options", OptionsHandler),
    ("/jobs", JobsListHandler),
    (f"/jobs/{JOB_ID}", JobHandler),
    (f"/jobs/{JOB_ID}/cancel", CancelHandler),
    (f"/jobs/{JOB_ID}/rerun", RerunHandler),
    (f"/jobs/{JOB_ID}/logs", LogsHandler),
    ("/openapi.json", OpenAPIHandler),
    *SCHEDULE_ROUTES,
]


def make_handlers() -> list[tuple[str, type[JobsHandler]]]:
    return [(BASE + path, handler) for path, handler in ROUTES]

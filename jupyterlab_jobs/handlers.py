"""Thin REST handlers: parse, authorize, call the JobService in a thread, write JSON."""

from __future__ import annotations

import asyncio
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
from .logfollow import Follower
from .models import Job, dumps
from .service import JobService
from .validation import parse_body

if TYPE_CHECKING:
    from .app import JobsApp

T = TypeVar("T")
BASE = "/jupyterlab-jobs"
OPENAPI = Path(__file__).with_name("openapi.json")
AUTH_RESOURCE = "jobs"
TEXT = "text/plain; charset=utf-8"
# The most lines `tail` may ask for (the UI's largest "Log lines kept on the page").
MAX_TAIL_LINES = 100_000
# Integer query parameters have at most 15 digits; these have a lower maximum (documented
# in openapi.json).
QUERY_INTEGER_MAXIMUMS = {"tail": MAX_TAIL_LINES}


@web.stream_request_body
class JobsHandler(APIHandler):
    """Bodies are streamed so that ``max_body_bytes`` holds while a body arrives: tornado
    would otherwise read all of it (up to its own, far larger limit) into memory first."""

    auth_resource = AUTH_RESOURCE
    _body_chunks: list[bytes]
    _body_size = 0

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

    def _too_large(self) -> web.HTTPError:
        return web.HTTPError(
            413, f"The request body is larger than {self.app.max_body_bytes} bytes"
        )

    async def prepare(self) -> None:  # type: ignore[override]  # as APIHandler.prepare
        self._body_chunks = []
        # Refused before a byte of the body is read (and before authentication, which
        # needs no body): the connection is closed after the answer.
        length = self.request.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > self.app.max_body_bytes:
            raise self._too_large()
        await super().prepare()

    def data_received(self, chunk: bytes) -> None:
        if self._finished:
            return
        self._body_size += len(chunk)
        if self._body_size > self.app.max_body_bytes:
            # A chunked body has no Content-Length: refuse it once it passes the limit.
            # Finishing before the body was read makes tornado close the connection.
            self._body_chunks.clear()
            error = self._too_large()
            self.send_error(413, exc_info=(type(error), error, None))
            return
        self._body_chunks.append(chunk)

    def body(self) -> Any:
        try:
            return parse_body(b"".join(self._body_chunks))
        except InvalidInput as error:
            raise JobsHTTPError(error) from None

    def query_int(self, name: str, default: int | None, minimum: int = 0) -> int | None:
        raw = self.get_query_argument(name, None)
        if raw in (None, ""):
            return default
        assert raw is not None
        maximum = QUERY_INTEGER_MAXIMUMS.get(name)
        valid = raw.isascii() and raw.isdigit() and len(raw) <= 15
        if not valid or int(raw) < minimum or (maximum is not None and int(raw) > maximum):
            bounds = f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"
            raise JobsHTTPError(InvalidInput(f"{name} must be an integer {bounds}", field=name))
        return int(raw)

    def list_filters(self) -> dict[str, Any]:
        """The filters and paging that every list endpoint takes."""
        return {
            "group": self.get_query_argument("group", None) or None,
            "mine": self.query_bool("mine"),
            "q": self.get_query_argument("q", "") or "",
            "limit": self.query_int("limit", 50, minimum=1),
            "cursor": self.get_query_argument("cursor", None) or None,
        }

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
        self.finish(dumps(reply))


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
            return dumps(job.to_json())
        key = (job.id, job.logs_available)
        text = self._texts.get(key)
        if text is None:
            text = dumps(job.to_json())
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
    return f'{{"jobs": [{rendered}], "next_cursor": {dumps(cursor)}}}'


class OptionsHandler(JobsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        self.finish(dumps(await self.call(self.service.options, self.user)))


class JobsListHandler(JobsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        statuses = [s for raw in self.get_query_arguments("status") for s in raw.split(",") if s]
        page = await self.call(
            render_page,
            self.service,
            self.user,
            statuses=statuses,
            **self.list_filters(),
        )
        self.finish(page)

    @web.authenticated
    @authorized
    async def post(self) -> None:
        job = await self.call(self.service.create, self.user, self.body())
        self.set_status(201)
        self.finish(dumps(job.to_json()))


class JobHandler(JobsHandler):
    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        job = await self.call(self.service.get_reported, self.user, job_id)
        self.finish(dumps(job.to_json()))


class CancelHandler(JobsHandler):
    @web.authenticated
    @authorized
    async def post(self, job_id: str) -> None:
        job = await self.call(self.service.cancel, self.user, job_id)
        self.finish(dumps(job.to_json()))


class RerunHandler(JobsHandler):
    @web.authenticated
    @authorized
    async def post(self, job_id: str) -> None:
        job = await self.call(self.service.rerun, self.user, job_id)
        self.set_status(201)
        self.finish(dumps(job.to_json()))


class LogsHandler(JobsHandler):
    """The job's output as text: a byte range, the last lines, or a live stream."""

    _client_gone = False
    _follower: Follower | None = None

    @web.authenticated
    @authorized
    async def get(self, job_id: str) -> None:
        offset = self.query_int("offset", 0) or 0
        tail = self.query_int("tail", None)
        follow = self.query_bool("follow")
        job, path = await self.call(self.service.log_file, self.user, job_id)
        size = await self.call(logs.log_size, path)
        position = min(offset, size)
        if tail is not None:
            position = await self.call(logs.tail_offset, path, tail, size)
        self.set_header("Content-Type", TEXT)
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Log-Offset", str(size))
        self.set_header("X-Job-Status", job.status)
        try:
            await self.flush()  # the headers at once, even before the first byte of output
            position = await self._send(path, position, size)
            if follow:
                await self._follow(job_id, path, position)
        except StreamClosedError:
            return
        except logs.LogNotAFile:
            pass  # replaced while streaming: end the response, never serve the target
        self.finish(set_content_type=TEXT)

    def on_connection_close(self) -> None:
        self._client_gone = True
        if self._follower is not None:
            self._follower.wake()
        super().on_connection_close()

    async def _send(self, path: Path, position: int, end: int | None) -> int:
        """Write the bytes from ``position`` (to ``end``) chunk by chunk; the new position."""
        while True:
            chunk = await self.app.run_blocking(logs.read_chunk, path, position, end)
            if not chunk:
                return position
            position += len(chunk)
            self.write(chunk)
            await self.flush()

    async def _follow(self, job_id: str, path: Path, position: int) -> None:
        """Send new output as it is written until the job ends, the client leaves or the
        stream's lifetime (``log_follow_max_seconds``) is up; woken by the log's watcher."""
        loop = asyncio.get_running_loop()
        end = loop.time() + self.app.log_follow_max_seconds
        service, user = self.service, self.user
        with self.app.log_watchers.follow(
            (user, job_id), path, lambda: self._job_over(service, user, job_id)
        ) as follower:
            self._follower = follower
            while not self._client_gone and loop.time() < end:
                over = follower.job_over
                before = position
                position = await self._send(path, position, None)
                if over and position == before:
                    return
                if position == before:
                    await follower.wait(end - loop.time())

    @staticmethod
    def _job_over(service: JobService, user: str, job_id: str) -> bool:
        """The job is final or its logs are gone (or the user lost access): nothing more."""
        try:
            job = service.get(user, job_id)
        except JobsError:
            return True
        return job.is_final or not job.logs_available


class OpenAPIHandler(JobsHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        text = await self.app.run_blocking(OPENAPI.read_text, encoding="utf-8")
        self.finish(text)


# Imported here: its handlers subclass JobsHandler above.
from .schedule_handlers import SCHEDULE_ROUTES  # noqa: E402

JOB_ID = r"(?P<job_id>[^/]+)"

# Imported here: its handlers subclass JobsHandler and use JOB_ID above.
from .artifact_handlers import ARTIFACT_ROUTES  # noqa: E402

ROUTES: list[tuple[str, type[JobsHandler]]] = [
    ("/options", OptionsHandler),
    ("/jobs", JobsListHandler),
    (f"/jobs/{JOB_ID}", JobHandler),
    (f"/jobs/{JOB_ID}/cancel", CancelHandler),
    (f"/jobs/{JOB_ID}/rerun", RerunHandler),
    (f"/jobs/{JOB_ID}/logs", LogsHandler),
    ("/openapi.json", OpenAPIHandler),
    *SCHEDULE_ROUTES,
    *ARTIFACT_ROUTES,
]


def make_handlers() -> list[tuple[str, type[JobsHandler]]]:
    return [(BASE + path, handler) for path, handler in ROUTES]

"""Client mode: the extension forwards every jobs request to the jobs service.

The request goes out with the requesting user's own hub token (on a shared server, the
visitor's, not the owner's), so the service identifies the real caller. Status codes,
headers that matter and bodies pass through unchanged; a log ``follow`` stream is relayed
chunk by chunk as it arrives. A slow or unreachable service is a JSON error in words
(502, 503, 504), never a 500 or a hang.
"""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import nbformat
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import ensure_async
from tornado import httputil, web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.iostream import StreamClosedError

from .handlers import AUTH_RESOURCE, BASE

if TYPE_CHECKING:
    from .app import JobsApp

# The response headers of the service that the client sees.
PASSED_HEADERS = ("Content-Type", "X-Log-Offset", "X-Job-Status", "Cache-Control")
CONNECT_TIMEOUT_SECONDS = 5.0
# Requests to the service in progress at once (each log follow stream holds one).
MAX_SERVICE_REQUESTS = 1000
# Beyond the service's own cap on a follow stream, before the stream is given up.
FOLLOW_SLACK_SECONDS = 60.0


class ServiceProxyHandler(APIHandler):
    """Forwards /jupyterlab-jobs/<path> to <service_url>jupyterlab-jobs/<path>."""

    auth_resource = AUTH_RESOURCE

    @property
    def app(self) -> JobsApp:
        return self.settings["jupyterlab_jobs"]  # type: ignore[no-any-return]

    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        await self.forward(path)

    @web.authenticated
    @authorized
    async def post(self, path: str) -> None:
        await self.forward(path)

    @web.authenticated
    @authorized
    async def patch(self, path: str) -> None:
        await self.forward(path)

    @web.authenticated
    @authorized
    async def delete(self, path: str) -> None:
        await self.forward(path)

    def service_client(self) -> AsyncHTTPClient:
        """This server's client for the service. Its own instance: tornado's shared one
        runs 10 requests at a time, so 10 log follow streams would hold up every other
        request (and other extensions' requests)."""
        client: AsyncHTTPClient | None = self.settings.get("jupyterlab_jobs_service_client")
        if client is None:
            client = AsyncHTTPClient(force_instance=True, max_clients=MAX_SERVICE_REQUESTS)
            self.settings["jupyterlab_jobs_service_client"] = client
        return client

    def user_token(self) -> str:
        """The requester's own hub token (never the server's)."""
        hub_auth = getattr(self.identity_provider, "hub_auth", None)
        token = hub_auth.get_token(self) if hub_auth is not None else None
        if not token:
            raise web.HTTPError(
                401, "No JupyterHub token in this request: the jobs service needs one"
            )
        return str(token)

    async def forward(self, path: str) -> None:
        token = self.user_token()
        body: bytes | None = None
        if self.request.method in ("POST", "PATCH"):
            body = self.request.body or b""
            if path == "jobs":
                body = await self.with_notebook_content(body)
        url = f"{self.app.service_url.rstrip('/')}{BASE}/{quote(path)}"
        if self.request.query:
            url += f"?{self.request.query}"
        follow = path.endswith("/logs") and self.get_query_argument("follow", "") not in (
            "",
            "0",
            "false",
            "no",
        )
        self._service_headers: list[str] = []
        self._started = False
        self._client_gone = False
        answered = asyncio.Event()

        def on_header(line: str) -> None:
            self._service_headers.append(line)
            answered.set()

        request = HTTPRequest(
            url,
            method=self.request.method or "GET",
            headers={
                "Authorization": f"token {token}",
                "Content-Type": self.request.headers.get("Content-Type", "application/json"),
            },
            body=body,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            # A follow stream lasts as long as the service lets it (its own cap).
            request_timeout=self.app.log_follow_max_seconds + FOLLOW_SLACK_SECONDS
            if follow
            else self.app.service_timeout_seconds,
            follow_redirects=False,
            header_callback=on_header,
            streaming_callback=self._relay,
        )
        fetch = asyncio.ensure_future(self.service_client().fetch(request, raise_error=False))
        try:
            # The service answers with its headers at once, streams included: waiting
            # longer for them than service_timeout_seconds means it hangs.
            await asyncio.wait_for(answered.wait(), self.app.service_timeout_seconds)
        except asyncio.TimeoutError:  # not TimeoutError before Python 3.11
            if not fetch.done():
                self._client_gone = True  # a late answer aborts the request
                fetch.add_done_callback(lambda done: done.exception())  # retrieved
                raise self._timed_out() from None
        try:
            response = await fetch
        except HTTPClientError as error:  # 599: timed out or the connection broke
            if self._started:
                return  # the status and part of the body are out: end the stream
            if "Timeout" in str(error):
                raise self._timed_out() from None
            raise web.HTTPError(502, f"The jobs service ended the connection: {error}") from None
        except StreamClosedError:
            return  # our client left: the stream to the service is closed with it
        except OSError as error:
            raise web.HTTPError(
                503,
                f"The jobs service is not reachable at {self.app.service_url}: "
                f"{error.strerror or error}. Ask your administrator whether it is running.",
            ) from None
        self._start(response.code)
        self.finish()

    def _timed_out(self) -> web.HTTPError:
        return web.HTTPError(
            504,
            f"The jobs service did not answer within "
            f"{self.app.service_timeout_seconds:g} s; try again later",
        )

    def _start(self, code: int) -> None:
        """Send the service's status and headers, once, before the first byte."""
        if self._started:
            return
        self._started = True
        lines = [line for line in self._service_headers[1:] if line.strip()]
        headers = httputil.HTTPHeaders.parse("".join(lines))
        self.set_status(code)
        for name in PASSED_HEADERS:
            if name in headers:
                self.set_header(name, headers[name])

    def _relay(self, chunk: bytes) -> None:
        if self._client_gone:
            raise StreamClosedError()  # aborts the request to the service
        status = httputil.parse_response_start_line(self._service_headers[0].strip())
        self._start(status.code)
        self.write(chunk)
        self.flush()

    def on_connection_close(self) -> None:
        self._client_gone = True

    async def with_notebook_content(self, body: bytes) -> bytes:
        """A notebook job's body with the notebook itself, read through the contents
        manager (the service cannot see this user's files)."""
        try:
            request: Any = json.loads(body)
        except ValueError:
            return body  # the service explains what is wrong with it
        notebook = request.get("notebook") if isinstance(request, dict) else None
        if not isinstance(notebook, str) or "notebook_content" in request:
            return body
        contents = self.contents_manager
        try:
            model = await ensure_async(
                contents.get(notebook.strip(), content=True, type="notebook")  # type: ignore[no-untyped-call]
            )
        except web.HTTPError as error:
            missing = error.status_code == 404
            raise web.HTTPError(
                400, f"No notebook at {notebook!r}" if missing else error.log_message
            ) from None
        node = nbformat.from_dict(model["content"])  # type: ignore[no-untyped-call]
        request["notebook_content"] = nbformat.writes(node)  # type: ignore[no-untyped-call]
        return json.dumps(request).encode("utf-8")


def make_proxy_handlers() -> list[tuple[str, type[APIHandler]]]:
    return [(BASE + "/(?P<path>.+)", ServiceProxyHandler)]

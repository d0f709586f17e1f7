"""A request body over ``max_body_bytes`` is refused while it arrives, never held whole.

Before, tornado read the whole body into memory and the handler refused it afterwards
(a 300 MB POST took the server to 708 MB before the 413). These tests send 64 MiB to a
real server in a subprocess, over a raw socket, and read its peak resident memory
(``VmHWM``) from /proc before and after.
"""

from __future__ import annotations

import json
import select
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import server_config
from server_process import TOKEN, ServerProcess

MIB = 1024 * 1024
BODY_BYTES = 64 * MIB
CHUNK = b"x" * MIB
# Far below the body's size: a server that buffers the body grows by at least 64 MiB.
MAX_GROWTH_BYTES = 16 * MIB


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    """A server of its own per test: the peak memory it reports is since its start."""
    started = ServerProcess(tmp_path, server_config(tmp_path)).start()
    yield started
    started.stop()


def peak_rss_bytes(server: ServerProcess) -> int:
    assert server.process is not None
    status = Path(f"/proc/{server.process.pid}/status").read_text()
    (line,) = [line for line in status.splitlines() if line.startswith("VmHWM:")]
    return int(line.split()[1]) * 1024


def post_streaming(server: ServerProcess, headers: str, body: Iterator[bytes]) -> tuple[int, bytes]:
    """POST jobs with ``body`` sent piece by piece until the server answers (or closes);
    the answer's status and body."""
    head = (
        f"POST /jupyterlab-jobs/jobs HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Authorization: token {TOKEN}\r\nContent-Type: application/json\r\nConnection: close\r\n"
        f"{headers}\r\n"
    )
    with socket.create_connection(("127.0.0.1", server.port), timeout=60) as sock:
        sock.sendall(head.encode())
        for piece in body:
            answered, _, _ = select.select([sock], [], [], 0)
            if answered:
                break
            try:
                sock.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break
        response = b""
        try:
            while chunk := sock.recv(65536):
                response += chunk
        except ConnectionResetError:
            pass  # the server closed without reading the rest: what we read stands
    status_line, _, rest = response.partition(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 "), response[:200]
    return int(status_line.split()[1]), rest.partition(b"\r\n\r\n")[2]


def plain_body() -> Iterator[bytes]:
    for _ in range(BODY_BYTES // MIB):
        yield CHUNK


def chunked_body() -> Iterator[bytes]:
    """The same bytes in HTTP/1.1 chunked encoding: no Content-Length to check upfront."""
    for _ in range(BODY_BYTES // MIB):
        yield f"{len(CHUNK):x}\r\n".encode() + CHUNK + b"\r\n"
    yield b"0\r\n\r\n"


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        pytest.param(f"Content-Length: {BODY_BYTES}\r\n", plain_body, id="content-length"),
        pytest.param("Transfer-Encoding: chunked\r\n", chunked_body, id="chunked"),
    ],
)
def test_a_64MiB_body_is_refused_without_being_read(
    server: ServerProcess, headers: str, body: Iterator[bytes]
) -> None:
    # Warm up (imports, caches) so that only the big request counts.
    server.call("POST", "jobs", {"name": "warm-up"}, expect=400)
    before = peak_rss_bytes(server)

    status, answer = post_streaming(server, headers, body())  # type: ignore[operator]

    assert status == 413, answer[:300]
    assert "larger than" in json.loads(answer)["message"]
    growth = peak_rss_bytes(server) - before
    print(f"peak RSS grew by {growth / MIB:.1f} MiB for a {BODY_BYTES // MIB} MiB body")
    assert growth < MAX_GROWTH_BYTES, f"peak RSS grew by {growth / MIB:.1f} MiB"
    # The server goes on, stored nothing, and its list is valid JSON.
    assert server.call("GET", "jobs") == {"jobs": [], "next_cursor": None}


def test_a_body_at_the_limit_is_read(server: ServerProcess) -> None:
    """The limit refuses only what is over it: a body just under it is parsed as usual."""
    padding = " " * (2 * MIB - 200)
    text = f'{{"name": "padded"{padding}}}'
    status, answer = post_streaming(
        server, f"Content-Length: {len(text)}\r\n", iter([text.encode()])
    )
    assert status == 400, answer[:300]
    assert json.loads(answer)["field"] == "group"

"""Schemathesis over openapi.json against a real server: no 5xx, every response documented.

Each operation gets the schema's examples plus a bounded number of generated cases, valid
ones and invalid ones (wrong types, out-of-range numbers, odd strings), sent over HTTP to
a server in a subprocess. Every response must be a documented status with the documented
content type, headers and body. Jobs stay harmless: every `command` sent is rewritten to
`true` (a notebook path can only name a file in the server's empty root).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from conftest import server_config
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from server_process import TOKEN, ServerProcess

from jupyterlab_jobs.handlers import OPENAPI

# Generated cases per operation (8 operations): about 40 s in all on 2 cores.
EXAMPLES_PER_OPERATION = 100


def strict_json(ctx: Any, response: Any, case: Any) -> bool:
    """A JSON body is JSON as a browser reads it: no NaN or Infinity. (OPTIONS answers
    200 with no body.)"""
    if response.content and "json" in ",".join(response.headers.get("content-type", [])):

        def refuse(constant: str) -> Any:
            raise AssertionError(f"the response holds {constant}, which is not JSON")

        json.loads(response.content, parse_constant=refuse)
    return True


CHECKS = [
    not_a_server_error,
    strict_json,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    root = tmp_path_factory.mktemp("fuzz")
    started = ServerProcess(root, server_config(root)).start()
    yield started
    started.stop()


schema = schemathesis.openapi.from_path(OPENAPI)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,  # the same cases every run: a failure is reproducible
    database=None,  # and nothing written into the work tree
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error_and_every_response_as_documented(case: Any, server: ServerProcess) -> None:
    if isinstance(case.body, dict) and "command" in case.body:
        case.body["command"] = "true"
    case.call_and_validate(
        base_url=server.base_url.rstrip("/"),
        headers={"Authorization": f"token {TOKEN}"},
        checks=CHECKS,
        timeout=30,
    )


def test_after_the_fuzzing_the_server_is_well(server: ServerProcess) -> None:
    """Runs after the cases above (same module, same server): it is up, logged no
    unhandled error, and its list (with the jobs the cases created) is strict JSON."""
    assert server.process is not None and server.process.poll() is None
    log = server.log_path.read_text(errors="replace")
    assert "Uncaught exception" not in log and "Traceback" not in log, server.log_tail()
    page = server.call("GET", "jobs?limit=200")
    strict = json.loads(json.dumps(page, allow_nan=False))
    assert all(job["command"] == "true" for job in strict["jobs"]), strict["jobs"]

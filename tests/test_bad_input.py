"""Bad requests get the right 4xx, a message saying what is wrong, and store nothing.

Each case states the exact status code and a phrase the error message must contain. No
bad input may ever be answered with a 500.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from jupyterlab_jobs.models import SUCCEEDED, Job

MIB = 1024 * 1024
LONG_ID = "a" * 5000
SECRET_JOB = "5ec2e7000000j0b5"  # a job of group `secret`, which alice is not in
VALID: dict[str, Any] = {
    "name": "bad input",
    "group": "research",
    "instance_type": "cpu-half",
    "image": "base",
    "command": "echo hi",
}
UNSET = object()


def job(**changes: Any) -> dict[str, Any]:
    return {**VALID, **changes}


def without(field: str) -> dict[str, Any]:
    return {k: v for k, v in VALID.items() if k != field}


def raw_json(text: str) -> bytes:
    """A body sent as is (for JSON that json.dumps would not produce)."""
    return text.encode("utf-8")


@dataclasses.dataclass(frozen=True)
class Bad:
    method: str
    path: str  # `{done}`: a finished job of alice's; `{secret}`: a job alice may not see
    status: int
    phrase: str  # must appear in the error message (case-insensitive)
    body: Any = None  # bytes/str are sent as is, anything else as JSON
    params: dict[str, Any] = dataclasses.field(default_factory=dict)
    field: Any = UNSET  # the error body's `field`, when the case says which


def post(body: Any, status: int, phrase: str, field: Any = UNSET) -> Bad:
    return Bad("POST", "jobs", status, phrase, body=body, field=field)


def listing(code: int, phrase: str, field: Any = UNSET, **params: Any) -> Bad:
    return Bad("GET", "jobs", code, phrase, params=params, field=field)


def logs(phrase: str, field: str, **params: Any) -> Bad:
    return Bad("GET", "jobs/{done}/logs", 400, phrase, params=params, field=field)


CASES = [
    # -- the body is not a JSON object -------------------------------------------------
    pytest.param(post(raw_json('{"name": '), 400, "not valid JSON"), id="malformed-json"),
    pytest.param(
        post(raw_json('{"name": "x"} trailing'), 400, "not valid JSON"),
        id="json-with-trailing-garbage",
    ),
    pytest.param(post([VALID], 400, "must be a JSON object", None), id="json-list"),
    pytest.param(
        post(raw_json('"a string"'), 400, "must be a JSON object", None), id="json-string"
    ),
    pytest.param(post(raw_json("null"), 400, "must be a JSON object", None), id="json-null"),
    pytest.param(post(raw_json("42"), 400, "must be a JSON object", None), id="json-number"),
    pytest.param(post(b"", 400, "name is required", "name"), id="empty-body"),
    pytest.param(post(b'{"name": "\xff\xfe"}', 400, "not UTF-8"), id="non-utf8-bytes"),
    pytest.param(post(b"{" + b" " * (2 * MIB) + b"}", 413, "larger than"), id="body-over-2MiB-413"),
    # -- missing, extra and mistyped fields ----------------------------------------------
    *[pytest.param(post(without(f), 400, f"{f} is required", f), id=f"missing-{f}") for f in VALID],
    pytest.param(post(job(extra=1), 400, "unknown field 'extra'", "extra"), id="extra-field"),
    pytest.param(post(job(name=42), 400, "name must be a string", "name"), id="number-name"),
    pytest.param(
        post(job(command=["echo", "hi"]), 400, "command must be a string", "command"),
        id="list-command",
    ),
    pytest.param(post(job(group=True), 400, "group must be a string", "group"), id="bool-group"),
    pytest.param(post(job(image=None), 400, "image must be a string", "image"), id="null-image"),
    # -- choices the catalog or the machine do not allow ---------------------------------
    pytest.param(
        post(job(group="nope"), 400, "Unknown group 'nope'", "group"), id="unknown-group-400"
    ),
    pytest.param(
        post(job(group="50%"), 400, "Unknown group '50%'", "group"),
        id="unknown-group-message-quotes-percent-exactly",
    ),
    pytest.param(
        post(job(group="secret"), 403, "not a member of group 'secret'"), id="not-a-member-403"
    ),
    pytest.param(
        post(
            job(group="ops", instance_type="cpu-1"),
            400,
            "not available in group 'ops'",
            "instance_type",
        ),
        id="instance-type-not-allowed-in-group",
    ),
    pytest.param(
        post(job(group="ops", image="python"), 400, "not available in group 'ops'", "image"),
        id="image-not-allowed-in-group",
    ),
    pytest.param(
        post(
            job(instance_type="nope"), 400, "Instance type 'nope' is not available", "instance_type"
        ),
        id="unknown-instance-type",
    ),
    pytest.param(
        post(job(image="nope"), 400, "Image 'nope' is not available", "image"), id="unknown-image"
    ),
    pytest.param(
        post(job(instance_type="huge"), 400, "needs 512 CPUs", "instance_type"),
        id="instance-type-needs-more-cpus-than-the-machine",
    ),
    pytest.param(
        post(
            job(instance_type="gpu-1"),
            400,
            "needs 1 GPU; this machine offers jobs 0",
            "instance_type",
        ),
        id="instance-type-needs-a-gpu",
    ),
    # -- empty, too long, control characters ---------------------------------------------
    pytest.param(post(job(name=""), 400, "name must not be empty", "name"), id="empty-name"),
    pytest.param(
        post(job(name=" \t "), 400, "name must not be empty", "name"), id="whitespace-name"
    ),
    pytest.param(
        post(job(command=""), 400, "command must not be empty", "command"), id="empty-command"
    ),
    pytest.param(
        post(job(command=" \n\t "), 400, "command must not be empty", "command"),
        id="whitespace-command",
    ),
    pytest.param(
        post(job(name="x" * MIB), 400, "name must be at most 200 characters", "name"),
        id="1MB-name",
    ),
    pytest.param(
        post(job(command="x" * MIB), 400, "command must be at most 65536 characters", "command"),
        id="1MB-command",
    ),
    pytest.param(post(job(name="a\nb"), 400, "control characters", "name"), id="newline-in-name"),
    pytest.param(post(job(name="a\x00b"), 400, "control characters", "name"), id="nul-in-name"),
    pytest.param(
        post(job(command="echo a\x00b"), 400, "control characters", "command"), id="nul-in-command"
    ),
    pytest.param(
        post(
            raw_json(json.dumps(job()).replace('"bad input"', '"bad \\ud800 input"')),
            400,
            "name",
            "name",
        ),
        id="lone-surrogate-in-name",
    ),
    pytest.param(
        post(
            raw_json(json.dumps(job()).replace('"echo hi"', '"echo \\udfff"')),
            400,
            "command",
            "command",
        ),
        id="lone-surrogate-in-command",
    ),
    # -- unknown jobs, and jobs alice may not see (same answer: never reveal) ------------
    *[
        pytest.param(
            Bad(method, path.format(id=job_id), 404, "No job with id"), id=f"{label}-{what}"
        )
        for what, job_id in (
            ("unknown-id", "nope"),
            ("5000-char-id", LONG_ID),
            ("other-groups-job", "{secret}"),
        )
        for label, method, path in (
            ("get", "GET", "jobs/{id}"),
            ("cancel", "POST", "jobs/{id}/cancel"),
            ("rerun", "POST", "jobs/{id}/rerun"),
            ("logs", "GET", "jobs/{id}/logs"),
        )
    ],
    pytest.param(
        Bad("POST", "jobs/{done}/cancel", 409, "already ended"), id="cancel-finished-job-409"
    ),
    # -- bad query parameters on the list -------------------------------------------------
    pytest.param(listing(400, "limit must be", "limit", limit="0"), id="list-limit=0"),
    pytest.param(listing(400, "limit must be", "limit", limit="-1"), id="list-limit=-1"),
    pytest.param(listing(400, "limit must be", "limit", limit="abc"), id="list-limit=abc"),
    pytest.param(listing(400, "limit must be", "limit", limit="100000"), id="list-limit=100000"),
    pytest.param(
        listing(400, "limit must be", "limit", limit="\u00b2"), id="list-limit=superscript-2"
    ),
    pytest.param(
        listing(400, "unknown status 'Nope'", "status", status="Nope"), id="list-status=Nope"
    ),
    pytest.param(
        listing(400, "unknown status 'Nope'", "status", status="Running,Nope"),
        id="list-status=Running,Nope",
    ),
    pytest.param(
        listing(400, "mine must be true or false", "mine", mine="maybe"), id="list-mine=maybe"
    ),
    pytest.param(listing(400, "cursor", "cursor", cursor="garbage"), id="list-cursor=garbage"),
    pytest.param(
        listing(400, "cursor", "cursor", cursor="s\u00b2"), id="list-cursor=s-superscript-2"
    ),
    pytest.param(
        listing(400, "cursor", "cursor", cursor="s9999999999999999999"),
        id="list-cursor=beyond-64-bits",
    ),
    pytest.param(listing(400, "q must be at most 200", "q", q="x" * 201), id="list-q-too-long"),
    pytest.param(
        listing(403, "not a member of group 'secret'", group="secret"), id="list-group=secret-403"
    ),
    pytest.param(
        listing(403, "not a member of group 'unknown'", group="unknown"),
        id="list-group=unknown-403-same-as-not-a-member",
    ),
    # -- bad query parameters on the logs -------------------------------------------------
    pytest.param(
        logs("offset must be an integer >= 0", "offset", offset="-1"), id="logs-offset=-1"
    ),
    pytest.param(
        logs("offset must be an integer >= 0", "offset", offset="abc"), id="logs-offset=abc"
    ),
    pytest.param(
        logs("offset must be an integer >= 0", "offset", offset="\u00b2"),
        id="logs-offset=superscript-2",
    ),
    pytest.param(logs("tail must be an integer >= 0", "tail", tail="x"), id="logs-tail=x"),
    pytest.param(logs("tail must be an integer >= 0", "tail", tail="-3"), id="logs-tail=-3"),
    pytest.param(
        logs("follow must be true or false", "follow", follow="maybe"), id="logs-follow=maybe"
    ),
]


async def _job_ids(api: Any) -> list[str]:
    page = await api.call("GET", "jobs", limit=200)
    return [j["id"] for j in page["jobs"]]


async def _finished_job(api: Any) -> str:
    created = await api.submit("echo x")
    done = await api.wait(created["id"])
    assert done["status"] == SUCCEEDED, done
    return created["id"]  # type: ignore[no-any-return]


def _secret_job(jobs_app: Any) -> str:
    with jobs_app.store.transaction() as db:
        jobs_app.store.insert(
            Job(
                id=SECRET_JOB,
                name="classified",
                user="carol",
                group="secret",
                instance_type="cpu-half",
                image="base",
                command="true",
            ),
            db,
        )
    return SECRET_JOB


def _error(response: Any) -> dict[str, Any]:
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    body = json.loads(response.body)
    assert isinstance(body, dict) and isinstance(body.get("message"), str), body
    assert body["message"].strip(), body
    return body


@pytest.mark.parametrize("case", CASES)
async def test_bad_request(api: Any, jobs_app: Any, case: Bad) -> None:
    path = case.path
    if "{done}" in path:
        path = path.replace("{done}", await _finished_job(api))
    if "{secret}" in path:
        path = path.replace("{secret}", _secret_job(jobs_app))
    count = jobs_app.store.count()
    listed = await _job_ids(api)

    response = await api.raw(case.method, path, case.body, **case.params)

    summary = f"{case.method} {path[:80]} -> {response.code} {response.body[:300]!r}"
    assert response.code == case.status, summary
    error = _error(response)
    assert case.phrase.lower() in error["message"].lower(), summary
    if case.field is not UNSET:
        assert error.get("field") == case.field, summary
    assert jobs_app.store.count() == count, "a bad request stored a job"
    assert await _job_ids(api) == listed


ODD_STRINGS = [
    pytest.param("Ünïcödé ñämé \u2013 名前", id="unicode"),
    pytest.param("rocket 🚀🔥 job", id="emoji"),
    pytest.param("שלום עולם مرحبا", id="rtl"),
    pytest.param("\u202eevil.exe\u202c", id="rtl-override"),
    pytest.param("'; DROP TABLE jobs; --", id="sql-injection"),
    pytest.param("%s%n%x %d 100%", id="format-string"),
    pytest.param("../../etc/passwd", id="path-traversal"),
    pytest.param("_%_\\%", id="like-wildcards"),
    pytest.param("<script>alert(1)</script>", id="html"),
    pytest.param("a\u0301\u200b\ufeffz", id="combining-and-zero-width"),
]


@pytest.mark.parametrize("text", ODD_STRINGS)
async def test_odd_strings_never_cause_a_500(api: Any, jobs_app: Any, text: str) -> None:
    """Odd text as a name round-trips exactly; as anything else it is a clean 4xx."""
    created = await api.raw("POST", "jobs", job(name=text, command="true"))
    assert created.code == 201, created.body
    job_id = json.loads(created.body)["id"]
    assert (await api.call("GET", f"jobs/{job_id}"))["name"] == text

    found = await api.call("GET", "jobs", q=text)
    assert [j["name"] for j in found["jobs"]] == [text]
    assert (await api.call("GET", "jobs", q=text + "no"))["jobs"] == []
    listed = await api.call("GET", "jobs")
    assert [j["name"] for j in listed["jobs"]] == [text]
    count = jobs_app.store.count()

    # The same text where it is not valid: a 4xx with a JSON message, never a 500.
    attempts = [
        ("POST", "jobs", job(group=text), {}),
        ("POST", "jobs", job(instance_type=text), {}),
        ("POST", "jobs", job(image=text), {}),
        ("GET", "jobs", None, {"group": text}),
        ("GET", "jobs", None, {"status": text}),
        ("GET", "jobs", None, {"cursor": text}),
        ("GET", "jobs", None, {"limit": text}),
        ("GET", f"jobs/{job_id}/logs", None, {"offset": text}),
    ]
    if "/" not in text:
        attempts.append(("GET", f"jobs/{text}", None, {}))
        attempts.append(("POST", f"jobs/{text}/cancel", None, {}))
    for method, path, body, params in attempts:
        response = await api.raw(method, path, body, **params)
        summary = f"{method} {path} {params} -> {response.code} {response.body[:300]!r}"
        assert 400 <= response.code < 500, summary
        message = _error(response)["message"]
        if message.startswith(("Unknown group", "No job with id")):
            # The message quotes the value exactly (no %-escaping leaking through).
            assert repr(text) in message, summary
    assert jobs_app.store.count() == count

"""Bad requests get the right 4xx, a message saying what is wrong, and store nothing.

Each case states the exact status code and a phrase the error message must contain. No
bad input may ever be answered with a 500.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import re
from pathlib import Path
from typing import Any

import pytest
from factories import make_job, secret_job

from jupyterlab_jobs.cursors import KEY_FILE, CursorCodec, load_cursor_key
from jupyterlab_jobs.errors import InvalidInput
from jupyterlab_jobs.models import SUCCEEDED

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
TAIL_RANGE = "tail must be an integer from 0 to 100000"
LONG = "v" * 10_000  # a value an error must not echo back whole


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
    # -- numbers JSON cannot carry, and nesting deep enough to exhaust a stack ------------
    *[
        pytest.param(
            post(
                raw_json(json.dumps(job())[:-1] + f', "parameters": {{"x": [1, {value}]}}}}'),
                400,
                "parameters.x.1 must be a finite number",
                "parameters",
            ),
            id=f"{value}-in-parameters",
        )
        for value in ("NaN", "Infinity", "-Infinity", "1e999")
    ],
    pytest.param(
        post(raw_json(json.dumps(job()).replace('"echo hi"', "NaN")), 400, "finite", "command"),
        id="NaN-as-command",
    ),
    pytest.param(post(raw_json("NaN"), 400, "finite", None), id="NaN-as-body"),
    pytest.param(
        post(raw_json('{"parameters": ' + "[" * 100_000 + "]" * 100_000 + "}"), 400, "nested"),
        id="100000-levels-deep-body",
    ),
    pytest.param(
        post(
            raw_json(json.dumps(job())[:-1] + ', "parameters": ' + '{"a": ' * 40 + "1" + "}" * 41),
            400,
            "parameters is nested more than 32 levels deep",
            "parameters",
        ),
        id="40-levels-deep-parameters",
    ),
    pytest.param(
        post(
            raw_json(json.dumps(job())[:-1] + ', "name": ' + "[" * 900 + "]" * 900 + "}"),
            400,
            "name is nested",
            "name",
        ),
        id="900-levels-deep-name",
    ),
    pytest.param(post(b'{"name": "\xff\xfe"}', 400, "not UTF-8"), id="non-utf8-bytes"),
    pytest.param(post(b"{" + b" " * (2 * MIB) + b"}", 413, "larger than"), id="body-over-2MiB-413"),
    # -- missing, extra and mistyped fields ----------------------------------------------
    *[pytest.param(post(without(f), 400, f"{f} is required", f), id=f"missing-{f}") for f in VALID],
    pytest.param(post(job(extra=1), 400, "unknown field 'extra'", "extra"), id="extra-field"),
    pytest.param(
        post(job(**{LONG: 1}), 400, "unknown field 'vvvv", LONG[:64]), id="10kB-extra-field"
    ),
    pytest.param(post(job(name=42), 400, "name must be a string", "name"), id="number-name"),
    pytest.param(
        post(job(command=["echo", "hi"]), 400, "command must be a string", "command"),
        id="list-command",
    ),
    pytest.param(post(job(group=True), 400, "group must be a string", "group"), id="bool-group"),
    pytest.param(post(job(image=None), 400, "image must be a string", "image"), id="null-image"),
    # -- choices the catalog or the machine do not allow ---------------------------------
    # An unknown group is answered like a group alice is not in (which groups exist is
    # not revealed), as on GET jobs.
    pytest.param(
        post(job(group="nope"), 403, "You are not a member of group 'nope'", "group"),
        id="unknown-group-403-same-as-not-a-member",
    ),
    pytest.param(
        post(job(group="50%"), 403, "not a member of group '50%'", "group"),
        id="unknown-group-message-quotes-percent-exactly",
    ),
    pytest.param(
        post(job(group="secret"), 403, "You are not a member of group 'secret'", "group"),
        id="not-a-member-403",
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
    *[
        pytest.param(
            post(raw_json(json.dumps(job()).replace(valid, escaped)), 400, field, field),
            id=f"lone-surrogate-in-{field}",
        )
        for field, valid, escaped in (
            ("name", '"bad input"', '"bad \\ud800 input"'),
            ("command", '"echo hi"', '"echo \\udfff"'),
        )
    ],
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
    pytest.param(listing(400, "unknown status", "status", status=LONG), id="list-10kB-status"),
    pytest.param(listing(400, "cursor", "cursor", cursor=LONG), id="list-10kB-cursor"),
    pytest.param(listing(400, "cursor", "cursor", cursor="abcde"), id="list-cursor-not-base64"),
    pytest.param(
        listing(403, "not a member of group 'vvvv", "group", group=LONG), id="list-10kB-group"
    ),
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
    pytest.param(logs(TAIL_RANGE, "tail", tail="x"), id="logs-tail=x"),
    pytest.param(logs(TAIL_RANGE, "tail", tail="-3"), id="logs-tail=-3"),
    pytest.param(logs(TAIL_RANGE, "tail", tail="100001"), id="logs-tail-over-the-maximum"),
    pytest.param(logs(TAIL_RANGE, "tail", tail="NaN"), id="logs-tail=NaN"),
    pytest.param(
        logs("offset must be an integer >= 0", "offset", offset="Infinity"),
        id="logs-offset=Infinity",
    ),
    pytest.param(
        logs("offset must be an integer >= 0", "offset", offset="0" * 5000 + "1"),
        id="logs-offset-5000-digits",
    ),
    pytest.param(
        logs("follow must be true or false", "follow", follow="maybe"), id="logs-follow=maybe"
    ),
]


def strict_json(text: bytes | str) -> Any:
    """JSON as a browser's JSON.parse reads it: NaN and Infinity are errors."""

    def refuse(constant: str) -> Any:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


async def _job_ids(api: Any) -> list[str]:
    """The ids on the first page of the list, which must be strict JSON."""
    response = await api.raw("GET", "jobs", limit=200)
    assert response.code == 200, response.body
    return [j["id"] for j in strict_json(response.body)["jobs"]]


def _files(jobs_app: Any) -> set[str]:
    """Every path under the data directory (a refused request must add none)."""
    root = Path(jobs_app.data_dir)
    return {str(path.relative_to(root)) for path in root.rglob("*")}


async def _finished_job(api: Any) -> str:
    created = await api.submit("echo x")
    done = await api.wait(created["id"])
    assert done["status"] == SUCCEEDED, done
    return created["id"]  # type: ignore[no-any-return]


def _secret_job(jobs_app: Any) -> str:
    jobs_app.store.insert(secret_job(SECRET_JOB))
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
    files = _files(jobs_app)

    response = await api.raw(case.method, path, case.body, **case.params)

    summary = f"{case.method} {path[:80]} -> {response.code} {response.body[:300]!r}"
    assert response.code == case.status, summary
    error = _error(response)
    assert case.phrase.lower() in error["message"].lower(), summary
    if case.field is not UNSET:
        assert error.get("field") == case.field, summary
    # Long ids and values are not echoed back whole.
    assert len(error["message"]) <= 300 and len(error.get("field") or "") <= 64, summary
    assert jobs_app.store.count() == count, "a bad request stored a job"
    assert await _job_ids(api) == listed
    # (A subset: the finished job's own files may still be being cleaned up.)
    assert _files(jobs_app) <= files, "a bad request left files behind"


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
        if message.startswith(("You are not a member of group", "No job with id")):
            # The message quotes the value exactly (no %-escaping leaking through).
            assert repr(text) in message, summary
    assert jobs_app.store.count() == count


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e999"])
async def test_non_finite_parameters_are_refused_and_the_list_stays_json(
    api: Any, jobs_app: Any, jp_root_dir: Path, value: str
) -> None:
    """A notebook job's parameters are stored as given: a NaN there made every later list
    of the group unreadable to the browser (JSON.parse refuses NaN)."""
    nbformat = pytest.importorskip("nbformat")
    nbformat.write(nbformat.v4.new_notebook(), jp_root_dir / "ok.ipynb")
    body = {**without("command"), "notebook": "ok.ipynb"}
    text = json.dumps(body)[:-1] + f', "parameters": {{"rate": {value}}}}}'

    response = await api.raw("POST", "jobs", raw_json(text))

    assert await _job_ids(api) == [], "the list must stay strict JSON (and empty)"
    assert response.code == 400, response.body
    error = _error(response)
    assert error["field"] == "parameters" and "parameters.rate" in error["message"], error
    assert jobs_app.store.count() == 0


async def test_an_unknown_group_is_answered_like_a_group_you_are_not_in(api: Any) -> None:
    """POST and GET alike: the same status, message and field for a group that exists
    (`secret`, alice is not in it) and one that does not, so group names do not leak."""
    answers = []
    for group in ("secret", "no-such"):
        for response in (
            await api.raw("POST", "jobs", job(group=group)),
            await api.raw("GET", "jobs", group=group),
        ):
            body = _error(response)
            answers.append((response.code, body["message"].replace(group, "G"), body["field"]))
    assert answers == [(403, "You are not a member of group 'G'", "group")] * 4


async def test_a_stored_non_finite_parameter_is_listed_as_null(api: Any, jobs_app: Any) -> None:
    """A record written before NaN was refused does not break its group's list."""
    jobs_app.store.insert(
        make_job(
            id="01dnan0000000000",
            name="old notebook run",
            status=SUCCEEDED,
            notebook="old.ipynb",
            parameters='{"a": NaN, "b": Infinity, "c": 1e999, "d": 1.5}',
        )
    )
    listed = await api.raw("GET", "jobs")
    (shown,) = strict_json(listed.body)["jobs"]
    assert shown["parameters"] == {"a": None, "b": None, "c": None, "d": 1.5}
    one = await api.raw("GET", "jobs/01dnan0000000000")
    assert strict_json(one.body)["parameters"] == shown["parameters"]


# The fields that change while a job runs: they may differ between two requests.
RUN_STATE = {"status", "message", "started_at", "finished_at", "duration_seconds", "exit_code"}


def _without_run_state(job: dict[str, Any]) -> dict[str, Any]:
    return {field: value for field, value in job.items() if field not in RUN_STATE}


def _base64_contents(cursor: str) -> bytes:
    return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))


async def test_cursor_is_opaque_and_bound_to_its_list(api: Any, jobs_app: Any) -> None:
    """The cursor does not show the global sequence (other groups' activity); a cursor
    that was tampered with, or is used with other filters, is a 400 naming `cursor`."""
    for _ in range(3):
        await api.submit("true")
    await api.submit("true", group="ops")
    first = await api.call("GET", "jobs", limit=1, group="research")
    cursor = first["next_cursor"]
    (last,) = [job for job in jobs_app.store.page(["research"], limit=1)[0]]
    assert not re.fullmatch(r"s?\d+", cursor), cursor
    assert f"s{last.seq}".encode() not in _base64_contents(cursor), cursor

    # The same list continues where the first page ended.
    second = await api.call("GET", "jobs", limit=1, group="research", cursor=cursor)
    assert second["jobs"][0]["id"] != first["jobs"][0]["id"]
    assert second["jobs"][0]["created_at"] <= first["jobs"][0]["created_at"]
    again = await api.call("GET", "jobs", limit=2, group="research", cursor=cursor)
    assert _without_run_state(again["jobs"][0]) == _without_run_state(second["jobs"][0]), (
        "the page size may change between pages"
    )

    middle = len(cursor) // 2
    tampered = cursor[:middle] + ("A" if cursor[middle] != "A" else "B") + cursor[middle + 1 :]
    for params in (
        {"group": "research", "cursor": tampered},
        {"group": "research", "cursor": cursor + "A"},
        {"cursor": cursor},  # all of alice's groups: another list
        {"group": "ops", "cursor": cursor},
        {"group": "research", "mine": "true", "cursor": cursor},
        {"group": "research", "status": "Succeeded", "cursor": cursor},
        {"group": "research", "q": "job", "cursor": cursor},
    ):
        response = await api.raw("GET", "jobs", limit=1, **params)
        assert response.code == 400, (params, response.body)
        assert _error(response)["field"] == "cursor", response.body


def test_cursor_key_is_kept_in_the_data_dir(tmp_path: Path) -> None:
    """Servers sharing a data_dir (and a restarted server) accept each other's cursors."""
    first = CursorCodec(load_cursor_key(tmp_path))
    cursor = first.encode("s42", "scope")
    assert CursorCodec(load_cursor_key(tmp_path)).decode(cursor, "scope") == "s42"
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == [KEY_FILE]
    with pytest.raises(InvalidInput):
        CursorCodec(b"k" * 32).decode(cursor, "scope")


MISSING_PREFIX = "/nonexistent/prefix"


@pytest.mark.parametrize(
    "jobs_settings",
    [{"JobsApp": {"images": [{"name": "base"}, {"name": "python", "prefix": MISSING_PREFIX}]}}],
)
async def test_an_image_whose_environment_is_missing_is_refused(api: Any, jobs_app: Any) -> None:
    """Not run with the prefix's `bin` on PATH (found nowhere) as if all were well."""
    files = _files(jobs_app)
    response = await api.raw("POST", "jobs", job(image="python", instance_type="cpu-1"))
    assert response.code == 400
    error = _error(response)
    assert error["field"] == "image"
    assert error["message"] == (
        f"The environment of image 'python' is missing on this server ({MISSING_PREFIX}/bin "
        "does not exist); ask your administrator"
    )
    assert jobs_app.store.count() == 0 and _files(jobs_app) <= files
    assert (await api.submit("true"))["image"] == "base"  # the other image still runs


async def test_a_dataset_whose_directory_is_missing_is_refused(
    api: Any, jobs_app: Any, tmp_path: Path
) -> None:
    """Not run with a dangling link at $HOME/datasets/mnist; the answer names the dataset,
    not where it is on the server."""
    dataset = tmp_path / "datasets-src" / "mnist"  # the test catalog's (server_process.py)
    (dataset / "README").unlink()
    dataset.rmdir()
    response = await api.raw("POST", "jobs", job())
    assert response.code == 400
    error = _error(response)
    assert error["field"] == "group"
    assert "Dataset 'mnist' of this group is missing" in error["message"]
    assert str(tmp_path) not in error["message"]
    assert jobs_app.store.count() == 0
    # A group without the dataset is not affected.
    assert (await api.submit("true", group="ops"))["group"] == "ops"


def test_missing_image_environments_and_datasets_are_logged_at_start_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from jupyterlab_jobs.backends.local import LocalBackend
    from jupyterlab_jobs.catalog import Catalog

    present = tmp_path / "present"
    (present / "bin").mkdir(parents=True)
    catalog = Catalog.model_validate(
        {
            "images": [
                {"name": "here", "prefix": str(present)},
                {"name": "gone", "prefix": str(tmp_path / "gone")},
                {"name": "system"},
            ],
            "datasets": [
                {"name": "kept", "path": str(present)},
                {"name": "lost", "path": str(tmp_path / "lost")},
            ],
        }
    )
    backend = LocalBackend(data_dir=str(tmp_path / "data"), gpus=[])
    with caplog.at_level(logging.WARNING):
        backend.check_catalog(catalog)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"The environment of image 'gone' is missing: {tmp_path}/gone/bin does not exist",
        f"The directory of dataset 'lost' is missing: {tmp_path}/lost does not exist",
    ]

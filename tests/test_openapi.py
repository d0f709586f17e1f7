"""The OpenAPI document in the package is checked against the handlers and real responses.

Adding a route or a method without documenting it fails here, and so does a response
field the document does not describe (response schemas are validated strictly: every
property a real response has must be in the document, and every required one present).
"""

from __future__ import annotations

import datetime
import json
import re
from typing import Any

import pytest
from factories import make_job
from jsonschema import Draft4Validator, FormatChecker

from jupyterlab_jobs.cursors import MAX_CURSOR_LENGTH
from jupyterlab_jobs.errors import InvalidInput
from jupyterlab_jobs.handlers import BASE, MAX_TAIL_LINES, OPENAPI, ROUTES, JobsHandler
from jupyterlab_jobs.models import STATUSES
from jupyterlab_jobs.validation import MAX_JSON_DEPTH, JobRequest, job_request

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# The contract: which status codes each operation documents (design.md, "REST API").
EXPECTED_CODES = {
    ("get", "/jupyterlab-jobs/options"): {"200", "403"},
    ("get", "/jupyterlab-jobs/jobs"): {"200", "400", "403"},
    ("post", "/jupyterlab-jobs/jobs"): {"201", "400", "403", "413"},
    ("get", "/jupyterlab-jobs/jobs/{job_id}"): {"200", "403", "404"},
    ("post", "/jupyterlab-jobs/jobs/{job_id}/cancel"): {"200", "403", "404", "409"},
    ("post", "/jupyterlab-jobs/jobs/{job_id}/rerun"): {"201", "400", "403", "404"},
    ("get", "/jupyterlab-jobs/jobs/{job_id}/logs"): {"200", "400", "403", "404", "409", "410"},
    ("get", "/jupyterlab-jobs/jobs/{job_id}/artifacts"): {"200", "403", "404", "410"},
    ("get", "/jupyterlab-jobs/jobs/{job_id}/artifacts/{path}"): {"200", "400", "403", "404", "410"},
    ("get", "/jupyterlab-jobs/jobs/{job_id}/usage"): {"200", "403", "404", "410"},
    ("get", "/jupyterlab-jobs/openapi.json"): {"200", "403"},
    ("get", "/jupyterlab-jobs/schedules"): {"200", "400", "403"},
    ("post", "/jupyterlab-jobs/schedules"): {"201", "400", "403", "413"},
    ("post", "/jupyterlab-jobs/schedules/preview"): {"200", "400", "403"},
    ("get", "/jupyterlab-jobs/schedules/{schedule_id}"): {"200", "403", "404"},
    ("patch", "/jupyterlab-jobs/schedules/{schedule_id}"): {"200", "400", "403", "404", "413"},
    ("delete", "/jupyterlab-jobs/schedules/{schedule_id}"): {"204", "403", "404"},
    ("post", "/jupyterlab-jobs/schedules/{schedule_id}/pause"): {"200", "403", "404"},
    ("post", "/jupyterlab-jobs/schedules/{schedule_id}/resume"): {"200", "403", "404"},
    ("post", "/jupyterlab-jobs/schedules/{schedule_id}/run"): {"201", "400", "403", "404"},
    ("get", "/jupyterlab-jobs/schedules/{schedule_id}/runs"): {"200", "400", "403", "404"},
}


def load_spec() -> dict[str, Any]:
    return json.loads(OPENAPI.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def spec_path(route: str) -> str:
    """``/jobs/(?P<job_id>[^/]+)/logs`` -> ``/jupyterlab-jobs/jobs/{job_id}/logs``."""
    path = BASE + re.sub(r"\(\?P<(\w+)>[^)]*\)", r"{\1}", route)
    assert re.fullmatch(r"[/\w.{}-]+", path), f"cannot turn route {route!r} into a path"
    return path


def handler_methods(handler: type[JobsHandler]) -> set[str]:
    """The HTTP methods the handler implements itself (not tornado's 405 defaults)."""
    return {
        method
        for method in HTTP_METHODS
        if any(method in vars(cls) for cls in handler.__mro__ if issubclass(cls, JobsHandler))
    }


def routed_operations() -> set[tuple[str, str]]:
    return {
        (method, spec_path(route))
        for route, handler in ROUTES
        for method in handler_methods(handler)
    }


def documented_operations(spec: dict[str, Any]) -> set[tuple[str, str]]:
    return {
        (method, path)
        for path, item in spec["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def resolve(spec: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        assert node["$ref"].startswith("#/"), node
        target: Any = spec
        for part in node["$ref"][2:].split("/"):
            target = target[part]
        node = target
    return node


# -- OpenAPI 3.0 schema objects -> JSON Schema (draft 4, which they are based on) ---------
def json_schema(node: dict[str, Any], strict: bool) -> dict[str, Any]:
    """Translate ``nullable``; with ``strict``, objects allow only documented properties."""
    if "$ref" in node:
        return dict(node)
    out = {k: v for k, v in node.items() if k not in ("nullable", "example")}
    if "properties" in out:
        out["properties"] = {k: json_schema(v, strict) for k, v in out["properties"].items()}
        if strict:
            out.setdefault("additionalProperties", False)
    for key in ("items", "not"):
        if key in out:
            out[key] = json_schema(out[key], strict)
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = json_schema(out["additionalProperties"], strict)
    for key in ("allOf", "anyOf", "oneOf"):
        if key in out:
            out[key] = [json_schema(s, strict) for s in out[key]]
    if node.get("nullable"):
        if "type" in out:
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        if "type" not in out:  # a nullable allOf (of a $ref)
            out = {"anyOf": [out, {"type": "null"}]}
    return out


FORMATS = FormatChecker(formats=())


def _is_utc_timestamp(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not value.endswith("Z"):
        raise ValueError(f"{value!r} is not UTC with a Z suffix")
    datetime.datetime.fromisoformat(value[:-1] + "+00:00")
    return True


FORMATS.checks("date-time", raises=ValueError)(_is_utc_timestamp)


def validator(spec: dict[str, Any], schema: dict[str, Any], strict: bool = True) -> Draft4Validator:
    schemas = {name: json_schema(s, strict) for name, s in spec["components"]["schemas"].items()}
    root = {**json_schema(schema, strict), "definitions": schemas}
    text = json.dumps(root).replace('"#/components/schemas/', '"#/definitions/')
    return Draft4Validator(json.loads(text), format_checker=FORMATS)


def validate(spec: dict[str, Any], name: str, instance: Any) -> None:
    errors = sorted(
        validator(spec, {"$ref": f"#/components/schemas/{name}"}).iter_errors(instance),
        key=str,
    )
    assert not errors, f"{name}: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors
    )


def response_schema(
    spec: dict[str, Any], method: str, path: str, code: int, media: str = "application/json"
) -> dict[str, Any]:
    responses = spec["paths"][path][method]["responses"]
    assert str(code) in responses, f"{method.upper()} {path} does not document {code}"
    return resolve(spec, responses[str(code)])["content"][media]["schema"]  # type: ignore[no-any-return]


def check_response(spec: dict[str, Any], method: str, path: str, response: Any) -> Any:
    """Assert the response's code is documented for the operation and its body fits."""
    schema = response_schema(spec, method, path, response.code)
    body = json.loads(response.body)
    errors = sorted(validator(spec, schema).iter_errors(body), key=str)
    assert not errors, f"{method.upper()} {path} {response.code}: " + "; ".join(
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors
    )
    return body


# -- (a) routes and methods --------------------------------------------------------------
def test_every_route_and_method_is_documented() -> None:
    missing = routed_operations() - documented_operations(load_spec())
    assert not missing, f"handlers without documentation in openapi.json: {sorted(missing)}"


def test_every_documented_operation_has_a_handler() -> None:
    extra = documented_operations(load_spec()) - routed_operations()
    assert not extra, f"openapi.json documents operations no handler serves: {sorted(extra)}"


def test_each_operation_documents_its_status_codes() -> None:
    spec = load_spec()
    documented = {
        (method, path): set(spec["paths"][path][method]["responses"])
        for method, path in documented_operations(spec)
    }
    assert documented == EXPECTED_CODES


# -- the document itself -----------------------------------------------------------------
def test_spec_is_valid_openapi() -> None:
    validation = pytest.importorskip("openapi_spec_validator")
    validation.validate(load_spec())


def test_spec_structure() -> None:
    """What openapi-spec-validator would catch for this document, and a bit more."""
    spec = load_spec()
    assert spec["openapi"] == "3.0.3"
    assert spec["info"]["title"] and spec["info"]["version"] and spec["info"]["description"]

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if "$ref" in node else []
            return found + [r for value in node.values() for r in refs(value)]
        if isinstance(node, list):
            return [r for value in node for r in refs(value)]
        return []

    for target in refs(spec):
        assert resolve(spec, {"$ref": target}) is not None, target

    operation_ids = []
    for path, item in spec["paths"].items():
        assert path.startswith(BASE + "/"), path
        templated = set(re.findall(r"{(\w+)}", path))
        for method in (m for m in item if m in HTTP_METHODS):
            operation = item[method]
            operation_ids.append(operation["operationId"])
            assert operation["summary"] and operation["description"], (method, path)
            parameters = [
                resolve(spec, p)
                for p in item.get("parameters", []) + operation.get("parameters", [])
            ]
            in_path = {p["name"] for p in parameters if p["in"] == "path"}
            assert in_path == templated, (method, path, in_path)
            assert all(p["required"] for p in parameters if p["in"] == "path")
            assert all(p.get("description") for p in parameters), (method, path)
            for code, response in operation["responses"].items():
                response = resolve(spec, response)
                assert response["description"], (method, path, code)
                if code.startswith(("4", "5")):
                    schema = response["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, code)
            if method == "post" and "requestBody" not in operation:
                assert "body" in operation["description"].lower(), (method, path)
    assert len(operation_ids) == len(set(operation_ids)), operation_ids

    for name, schema in spec["components"]["schemas"].items():
        Draft4Validator.check_schema(json_schema(schema, strict=False))
        assert schema.get("description"), name


# -- (b) schemas against the code --------------------------------------------------------
def test_job_schema_has_exactly_the_fields_of_job_to_json() -> None:
    schema = load_spec()["components"]["schemas"]["Job"]
    fields = make_job().to_json()
    assert set(schema["properties"]) == set(fields)
    assert set(schema["required"]) == set(fields)
    assert load_spec()["components"]["schemas"]["Status"]["enum"] == list(STATUSES)


def test_job_request_schema_matches_the_model() -> None:
    schema = load_spec()["components"]["schemas"]["JobRequest"]
    assert set(schema["properties"]) == set(JobRequest.model_fields)
    assert set(schema["required"]) == {
        name for name, field in JobRequest.model_fields.items() if field.is_required()
    }
    assert schema["additionalProperties"] is False
    for name, field in JobRequest.model_fields.items():
        limits = {
            key: getattr(meta, key)
            for meta in field.metadata
            for key in ("min_length", "max_length")
            if hasattr(meta, key)
        }
        documented = schema["properties"][name]
        assert documented.get("minLength") == limits.get("min_length"), name
        assert documented.get("maxLength") == limits.get("max_length"), name


@pytest.mark.parametrize(
    ("changes", "accepted"),
    [
        pytest.param({}, True, id="valid"),
        pytest.param(
            {"command": "for i in 1 2; do\n\techo $i\ndone"}, True, id="multiline-command"
        ),
        pytest.param({"name": "two\nlines"}, False, id="newline-in-name"),
        pytest.param({"command": "echo \x00"}, False, id="nul-in-command"),
        pytest.param({"extra": 1}, False, id="extra-field"),
        pytest.param({"name": 3}, False, id="number-name"),
        # `command` and `notebook` exclude each other; `parameters` go with `notebook`.
        pytest.param({"command": "", "notebook": "a.ipynb"}, True, id="notebook"),
        pytest.param(
            {"command": "", "notebook": "a.ipynb", "parameters": {"x": 1}},
            True,
            id="notebook-with-parameters",
        ),
        pytest.param({"notebook": "a.ipynb"}, False, id="command-and-notebook"),
        pytest.param({"command": ""}, False, id="neither-command-nor-notebook"),
        pytest.param({"parameters": {"x": 1}}, False, id="parameters-without-notebook"),
    ],
)
def test_job_request_schema_agrees_with_the_model(changes: dict[str, Any], accepted: bool) -> None:
    spec = load_spec()
    body = {"name": "n", "group": "g", "instance_type": "i", "image": "m", "command": "c"}
    body.update(changes)
    schema = validator(spec, {"$ref": "#/components/schemas/JobRequest"}, strict=False)
    assert schema.is_valid(body) is accepted
    try:
        job_request(body)
    except InvalidInput:
        assert not accepted
    else:
        assert accepted


def test_spec_states_the_limits_the_server_enforces() -> None:
    """The cursor is documented as opaque, `tail` and `offset` with their maximum, and the
    body's limits (finite numbers, nesting) in the JobRequest's description."""
    spec = load_spec()
    listing = {p["name"]: p for p in spec["paths"][f"{BASE}/jobs"]["get"]["parameters"]}
    assert "opaque" in listing["cursor"]["description"]
    assert listing["cursor"]["schema"] == {"type": "string", "maxLength": MAX_CURSOR_LENGTH}
    next_cursor = spec["components"]["schemas"]["JobList"]["properties"]["next_cursor"]
    assert "opaque" in next_cursor["description"]
    logs_operation = spec["paths"][f"{BASE}/jobs/{{job_id}}/logs"]["get"]
    logs = {p["name"]: p for p in logs_operation["parameters"]}
    assert logs["tail"]["schema"]["maximum"] == MAX_TAIL_LINES
    assert logs["offset"]["schema"]["maximum"] == 10**15 - 1  # 15 digits
    request = spec["components"]["schemas"]["JobRequest"]
    assert f"nested more than {MAX_JSON_DEPTH} levels" in request["description"]
    assert "NaN" in request["description"]
    assert len(request["oneOf"]) == 2


# -- (c) the live server -----------------------------------------------------------------
async def test_served_spec_equals_the_file(api: Any) -> None:
    response = await api.raw("GET", "openapi.json")
    assert response.code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert json.loads(response.body) == load_spec()
    assert response.body.decode("utf-8") == OPENAPI.read_text(encoding="utf-8")


async def test_real_responses_match_the_schemas(api: Any) -> None:
    spec = load_spec()
    jobs = f"{BASE}/jobs"
    job_path = f"{BASE}/jobs/{{job_id}}"

    options = check_response(spec, "get", f"{BASE}/options", await api.raw("GET", "options"))
    assert options["user"] == "alice"

    created = await api.raw("POST", "jobs", _body("echo hi"))
    job = check_response(spec, "post", jobs, created)
    assert created.code == 201

    page = check_response(spec, "get", jobs, await api.raw("GET", "jobs"))
    assert [j["id"] for j in page["jobs"]] == [job["id"]]

    done = await api.wait(job["id"])
    final = check_response(spec, "get", job_path, await api.raw("GET", f"jobs/{job['id']}"))
    assert final == done
    assert final["status"] == "Succeeded" and final["exit_code"] == 0
    assert final["started_at"] and final["finished_at"] and final["duration_seconds"] is not None

    rerun = await api.raw("POST", f"jobs/{job['id']}/rerun")
    again = check_response(spec, "post", f"{job_path}/rerun", rerun)
    assert rerun.code == 201 and again["rerun_of"] == job["id"]

    paged = check_response(spec, "get", jobs, await api.raw("GET", "jobs", limit=1))
    assert len(paged["jobs"]) == 1 and isinstance(paged["next_cursor"], str)

    logs = await api.raw("GET", f"jobs/{job['id']}/logs")
    assert logs.code == 200
    assert logs.headers["Content-Type"].startswith("text/plain")
    assert logs.body == b"hi\n"
    assert int(logs.headers["X-Log-Offset"]) == len(logs.body)
    assert logs.headers["X-Job-Status"] in STATUSES
    documented = spec["paths"][f"{job_path}/logs"]["get"]["responses"]["200"]["headers"]
    assert set(documented) == {"X-Log-Offset", "X-Job-Status"}

    slow = check_response(spec, "post", jobs, await api.raw("POST", "jobs", _body("sleep 30")))
    await api.wait(slow["id"], {"Running"})
    cancelled = await api.raw("POST", f"jobs/{slow['id']}/cancel")
    assert cancelled.code == 200
    check_response(spec, "post", f"{job_path}/cancel", cancelled)
    stopped = await api.wait(slow["id"])
    assert stopped["status"] == "Cancelled"
    validate(spec, "Job", stopped)

    # Errors have the documented shape too.
    conflict = await api.raw("POST", f"jobs/{job['id']}/cancel")
    assert conflict.code == 409
    check_response(spec, "post", f"{job_path}/cancel", conflict)
    unknown = await api.raw("GET", "jobs/no-such-job")
    assert unknown.code == 404
    check_response(spec, "get", job_path, unknown)
    invalid = await api.raw("POST", "jobs", {**_body("echo"), "name": ""})
    assert invalid.code == 400
    assert check_response(spec, "post", jobs, invalid)["field"] == "name"
    bad_limit = await api.raw("GET", "jobs", limit="x")
    assert bad_limit.code == 400
    check_response(spec, "get", jobs, bad_limit)


def _body(command: str) -> dict[str, Any]:
    return {
        "name": "schema check",
        "group": "research",
        "instance_type": "cpu-half",
        "image": "base",
        "command": command,
    }

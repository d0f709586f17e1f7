"""Request validation: the body of POST jobs, and the notebook a request names.

Everything here turns hostile input into an ``InvalidInput`` naming the field at fault:
bodies that are not JSON objects, numbers JSON cannot carry (NaN, Infinity), nesting deep
enough to exhaust the stack, and notebook paths the file system refuses.
"""

from __future__ import annotations

import json
import keyword
import math
import os
import unicodedata
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .errors import MAX_QUOTED_LENGTH, InvalidInput, quoted

MAX_NAME_LENGTH = 200
MAX_COMMAND_LENGTH = 64 * 1024
MAX_PARAMETERS_BYTES = 64 * 1024
MAX_NOTEBOOK_BYTES = 32 * 1024 * 1024
# Deep enough for any real parameters, shallow enough that no recursive code (pydantic,
# json.dumps, papermill) that later walks the value can exhaust the stack.
MAX_JSON_DEPTH = 32


def parse_body(raw: bytes) -> Any:
    """A request body as JSON (an empty body is ``{}``), checked by ``check_json_value``."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("The request body is not UTF-8 text") from None
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except RecursionError:
        raise InvalidInput(
            f"The request body is nested more than {MAX_JSON_DEPTH} levels deep"
        ) from None
    except ValueError as error:
        raise InvalidInput(f"The request body is not valid JSON: {error}") from None
    check_json_value(value)
    return value


def _location(path: Sequence[str]) -> tuple[str, str | None]:
    """Words for where a value is (``parameters.x``) and the top-level field it is in."""
    if not path:
        return "the request body", None
    dotted = ".".join(path)
    if len(dotted) > MAX_QUOTED_LENGTH:
        dotted = dotted[:MAX_QUOTED_LENGTH] + "..."
    return dotted, path[0][:MAX_QUOTED_LENGTH]


def check_json_value(value: Any) -> None:
    """Refuse NaN, Infinity and -Infinity (Python's json reads them, and ``1e999`` as
    infinity, but they are not JSON: stored, they would make every later response that
    shows them invalid) and nesting deeper than ``MAX_JSON_DEPTH``. Iterative, so a deep
    value cannot exhaust the stack here either."""
    stack: list[tuple[Any, tuple[str, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if len(path) > MAX_JSON_DEPTH:
            where, field = _location(path[:1])
            raise InvalidInput(f"{where} is nested more than {MAX_JSON_DEPTH} levels deep", field)
        if isinstance(node, float) and not math.isfinite(node):
            where, field = _location(path)
            raise InvalidInput(
                f"{where} must be a finite number (NaN and Infinity are not JSON)", field
            )
        if isinstance(node, dict):
            stack.extend((item, (*path, str(key))) for key, item in node.items())
        elif isinstance(node, list | tuple):
            stack.extend((item, (*path, str(index))) for index, item in enumerate(node))


def _no_control_characters(value: str, *, allow_newlines: bool) -> str:
    allowed = "\n\t\r" if allow_newlines else ""
    if "\x00" in value or any(unicodedata.category(c) == "Cc" and c not in allowed for c in value):
        raise ValueError("must not contain control characters")
    return value


class JobRequest(BaseModel):
    """The body of POST jobs. Unknown fields and wrong types are rejected.

    A job runs either ``command`` or, for a notebook job, ``notebook`` (a path under the
    Jupyter root directory) with optional ``parameters``.
    """

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    group: str = Field(min_length=1, max_length=200)
    instance_type: str = Field(min_length=1, max_length=200)
    image: str = Field(min_length=1, max_length=200)
    command: str = Field(default="", max_length=MAX_COMMAND_LENGTH)
    notebook: str | None = Field(default=None, min_length=1, max_length=1024)
    # The notebook itself, for a server that cannot see the user's files (the hub service).
    notebook_content: str | None = Field(default=None, max_length=MAX_NOTEBOOK_BYTES)
    parameters: dict[str, Any] | None = None

    @field_validator("name", "group", "instance_type", "image", "notebook")
    @classmethod
    def _single_line(cls, value: str | None) -> str | None:
        return None if value is None else _no_control_characters(value, allow_newlines=False)

    @field_validator("command")
    @classmethod
    def _command_text(cls, value: str) -> str:
        # Pasted from Windows (CRLF) or old Mac (CR) text: bash would take the CR as part
        # of the line (`echo hi\r`, `cd dir\r` fails).
        text = _no_control_characters(value, allow_newlines=True)
        return text.replace("\r\n", "\n").replace("\r", "\n")

    @field_validator("parameters")
    @classmethod
    def _parameters_are_names(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        for name in value:
            if not name.isidentifier() or keyword.iskeyword(name):
                raise ValueError(f"{quoted(name)} is not a valid Python variable name")
        if len(json.dumps(value, allow_nan=False)) > MAX_PARAMETERS_BYTES:
            raise ValueError(f"must be at most {MAX_PARAMETERS_BYTES} bytes as JSON")
        return value

    def check_kind(self) -> None:
        """A job runs a command or a notebook: exactly one of them."""
        if self.notebook is None and "command" not in self.model_fields_set:
            raise InvalidInput("command is required", field="command")
        if self.notebook is None and not self.command:
            raise InvalidInput("command must not be empty", field="command")
        if self.notebook is not None and self.command:
            raise InvalidInput("give either a command or a notebook, not both", field="notebook")
        if self.notebook is None and self.notebook_content is not None:
            raise InvalidInput("notebook_content needs notebook (its path)", field="notebook")
        if self.notebook is None and self.parameters is not None:
            raise InvalidInput("parameters are only for notebook jobs", field="parameters")


def job_request(body: Any) -> JobRequest:
    """The body of POST jobs, validated; the first problem as an ``InvalidInput``."""
    check_json_value(body)
    try:
        request = JobRequest.model_validate(body)
    except ValidationError as error:
        raise _describe(error) from None
    request.check_kind()
    return request


def _describe(error: ValidationError) -> InvalidInput:
    """The first problem of a pydantic error, in words, naming the field."""
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"])[:MAX_QUOTED_LENGTH] or None
    kind = first["type"]
    context = first.get("ctx", {})
    if kind == "missing":
        text = f"{field} is required"
    elif kind == "extra_forbidden":
        text = f"unknown field {quoted(first['loc'][-1])}"
    elif kind == "string_too_short":
        text = f"{field} must not be empty"
    elif kind == "string_too_long":
        text = f"{field} must be at most {context.get('max_length')} characters"
    elif kind == "dict_type":
        text = f"{field} must be a JSON object"
    elif kind in ("string_type", "model_type"):
        text = f"{field} must be a string" if field else "the body must be a JSON object"
    else:
        text = f"{field}: {first['msg']}" if field else first["msg"]
    return InvalidInput(text.replace("Value error, ", ""), field=field)


def read_notebook(root: Path | None, notebook: str) -> bytes:
    """The bytes of ``notebook``, a path under the Jupyter ``root``, checked to be one.

    Any path the file system refuses (a symlink loop, a name over 255 bytes, a component
    that is not a directory) is a 400 naming ``notebook``, never a 500.
    """
    if root is None:
        raise InvalidInput("This server has no notebook directory", field="notebook")
    # The submitted name itself must be a notebook's: `ok.ipynb/x/..` resolves to
    # ok.ipynb, but its name (`..`) would name the snapshot.
    if PurePosixPath(notebook).suffix != ".ipynb":
        raise InvalidInput("notebook must be a .ipynb file", field="notebook")
    try:
        resolved_root = root.resolve()
        path = (resolved_root / notebook.lstrip("/")).resolve()
        if not path.is_relative_to(resolved_root):
            raise InvalidInput(
                "notebook must be inside the Jupyter root directory", field="notebook"
            )
        if path.suffix != ".ipynb":
            raise InvalidInput("notebook must be a .ipynb file", field="notebook")
        if not path.is_file():
            raise InvalidInput(f"No notebook at {quoted(notebook)}", field="notebook")
        with path.open("rb") as file:
            content = file.read(MAX_NOTEBOOK_BYTES + 1)
    except OSError as error:
        reason = error.strerror or os.strerror(error.errno or 0)
        raise InvalidInput(
            f"notebook {quoted(notebook)} cannot be read: {reason}", field="notebook"
        ) from None
    except RuntimeError:  # pathlib's "Symlink loop" before Python 3.13 (its text has paths)
        raise InvalidInput(
            f"notebook {quoted(notebook)} cannot be read: a loop of symbolic links",
            field="notebook",
        ) from None
    return checked_notebook(notebook, content)


def checked_notebook(notebook: str, content: bytes) -> bytes:
    """``content`` if it is a notebook (nbformat 4) of at most ``MAX_NOTEBOOK_BYTES``,
    named ``*.ipynb``."""
    import nbformat

    if PurePosixPath(notebook).suffix != ".ipynb":
        raise InvalidInput("notebook must be a .ipynb file", field="notebook")
    if len(content) > MAX_NOTEBOOK_BYTES:
        raise InvalidInput(
            f"notebook is larger than {MAX_NOTEBOOK_BYTES // 2**20} MiB", field="notebook"
        )
    try:
        nbformat.reads(content.decode("utf-8"), as_version=4)  # type: ignore[no-untyped-call]
    except Exception as error:
        problem = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        raise InvalidInput(
            f"{quoted(notebook)} is not a valid notebook: {problem}", field="notebook"
        ) from None
    return content

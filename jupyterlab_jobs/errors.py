"""Errors the service raises; handlers turn them into HTTP status codes.

The core never imports tornado: each error carries the HTTP status that fits it so the
REST layer, the CLI and a future hub service map them the same way.
"""

from __future__ import annotations


class JobsError(Exception):
    """Base class: a problem the user can act on. ``message`` is shown to them."""

    status = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field  # the request field the problem is about, if one


class InvalidInput(JobsError):
    """The request is malformed or a field is invalid (names the field)."""

    status = 400


class Forbidden(JobsError):
    """The user is not a member of the group they asked to act in."""

    status = 403


class NotFound(JobsError):
    """Unknown job, or a job the user may not see (never reveal which)."""

    status = 404


class Conflict(JobsError):
    """The job is in the wrong state for the request (e.g. cancel of a finished job)."""

    status = 409


class Unavailable(JobsError):
    """Something the answer depends on (the hub's API) could not be reached."""

    status = 503


class LogsGone(JobsError):
    """The job's logs were removed by the retention policy."""

    status = 410


MAX_QUOTED_LENGTH = 64


def quoted(value: object) -> str:
    """``value`` as ``repr`` for an error message, cut to ~64 characters.

    Errors name the value at fault so the user sees what was wrong, but never echo a long
    one back (a 10 kB id or a field name stuffed with text).
    """
    text = str(value)
    if len(text) > MAX_QUOTED_LENGTH:
        return repr(text[:MAX_QUOTED_LENGTH]) + f"... ({len(text)} characters)"
    return repr(text)

"""ScheduleService: who may do what with schedules, their validation, preview and history.

Blocking, thread-safe, no web framework (like ``JobService``, whose rules it follows):
members of a schedule's group see it and may run it now; only its owner edits, pauses,
resumes and deletes it. A schedule of a group the user is not in is unknown (404).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from ..errors import Forbidden, InvalidInput, NotFound, quoted
from ..models import MANUAL, Job, Origin, iso
from ..service import MAX_PAGE_SIZE, JobService, not_a_member
from ..store.schedules import ScheduleStore
from ..validation import MAX_NAME_LENGTH, _describe
from .cron import MAX_PREVIEW_RUNS, Recurrence
from .model import CONCURRENCY_POLICIES, FORBID, MISFIRE_POLICIES, RUN_ONCE, Schedule

UTC = timezone.utc
MAX_DEADLINE_SECONDS = 7 * 86400
MAX_HISTORY = 200
POLICIES = {"concurrency_policy": CONCURRENCY_POLICIES, "misfire_policy": MISFIRE_POLICIES}


class ScheduleRequest(BaseModel):
    """The body of POST schedules (every field) and PATCH schedules/{id} (some)."""

    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)
    group: str = Field(min_length=1, max_length=200)
    cron: str = Field(min_length=1, max_length=200)
    timezone: str = Field(default="UTC", min_length=1, max_length=100)
    job: dict[str, Any]
    enabled: bool = True
    concurrency_policy: str = FORBID
    misfire_policy: str = RUN_ONCE
    starting_deadline_seconds: int = Field(default=60, ge=0, le=MAX_DEADLINE_SECONDS)
    start_at: str | None = None
    end_at: str | None = None

    @field_validator("concurrency_policy", "misfire_policy")
    @classmethod
    def _known_policy(cls, value: str, info: ValidationInfo) -> str:
        policies = POLICIES[str(info.field_name)]
        if value not in policies:
            raise ValueError(f"must be one of {', '.join(policies)}")
        return value


def parse_time(value: str | None, field: str) -> float | None:
    """An ISO-8601 time (with a zone, or UTC) as a Unix timestamp; 400 naming ``field``."""
    if value is None or value == "":
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{field} must be an ISO-8601 time such as 2027-01-31T09:00:00Z", field=field
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


class ScheduleService:
    def __init__(
        self,
        *,
        jobs: JobService,
        store: ScheduleStore,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.jobs = jobs
        self.store = store
        self.clock = clock
        # Called (from any thread) after a change that may move the next due tick.
        self.on_change: list[Callable[[], None]] = []

    def _changed(self) -> None:
        for callback in self.on_change:
            callback()

    # -- reading -----------------------------------------------------------------------
    def get(self, user: str, schedule_id: str) -> Schedule:
        schedule = self.store.get(schedule_id) if len(schedule_id) <= 64 else None
        if schedule is None or schedule.group not in self.jobs.groups_of(user):
            raise NotFound(f"No schedule with id {quoted(schedule_id)}")
        return schedule

    def _owned(self, user: str, schedule_id: str) -> Schedule:
        schedule = self.get(user, schedule_id)
        if schedule.user != user:
            raise Forbidden(
                f"Only {schedule.user}, who owns schedule {quoted(schedule.name)}, may change it"
            )
        return schedule

    def render(self, schedule: Schedule) -> dict[str, Any]:
        return schedule.to_json(self.store.last_run(schedule.id))

    def list_schedules(
        self,
        user: str,
        *,
        group: str | None = None,
        mine: bool = False,
        q: str = "",
        limit: int = 50,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        groups = self.jobs.groups_of(user)
        if group is not None:
            if group not in groups:
                raise not_a_member(group)
            groups = [group]
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise InvalidInput(f"limit must be between 1 and {MAX_PAGE_SIZE}", field="limit")
        if len(q) > MAX_NAME_LENGTH:
            raise InvalidInput(f"q must be at most {MAX_NAME_LENGTH} characters", field="q")
        # Sealed and bound to this list, as the job list's cursors are.
        scope = json.dumps(["schedules", user, group, mine, q])
        page, position = self.store.page(
            groups,
            user=user if mine else None,
            name_contains=q,
            limit=limit,
            cursor=self.jobs.cursors.decode(cursor, scope) if cursor else None,
        )
        next_cursor = self.jobs.cursors.encode(position, scope) if position else None
        return {"schedules": [self.render(s) for s in page], "next_cursor": next_cursor}

    def runs(self, user: str, schedule_id: str, limit: int = 50) -> dict[str, Any]:
        """Its jobs and its skipped ticks (with the reason), newest first."""
        schedule = self.get(user, schedule_id)
        limit = max(1, min(limit, MAX_HISTORY))
        entries: list[tuple[float, dict[str, Any]]] = []
        for job in self.store.runs(schedule.id, limit):
            moment = job.scheduled_for if job.scheduled_for is not None else job.created_at
            entries.append(
                (
                    moment,
                    {
                        "scheduled_for": iso(job.scheduled_for),
                        "reason": None,
                        "message": "",
                        "job": job.to_json(),
                    },
                )
            )
        for tick in self.store.skipped_ticks(schedule.id, limit):
            entries.append(
                (
                    tick.scheduled_for,
                    {
                        "scheduled_for": iso(tick.scheduled_for),
                        "reason": tick.reason,
                        "message": tick.message,
                        "job": None,
                    },
                )
            )
        entries.sort(key=lambda entry: entry[0], reverse=True)
        return {"runs": [entry for _, entry in entries[:limit]]}

    # -- preview -----------------------------------------------------------------------
    def preview(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise InvalidInput("the body must be a JSON object")
        unknown = set(body) - {"cron", "timezone", "after", "count"}
        if unknown:
            name = sorted(unknown)[0]
            raise InvalidInput(f"unknown field {quoted(name)}", field=name[:64])
        if "cron" not in body:
            raise InvalidInput("cron is required", field="cron")
        count = body.get("count", 5)
        if (
            not isinstance(count, int)
            or isinstance(count, bool)
            or not 1 <= count <= MAX_PREVIEW_RUNS
        ):
            raise InvalidInput(
                f"count must be an integer from 1 to {MAX_PREVIEW_RUNS}", field="count"
            )
        after_text = body.get("after")
        if after_text is not None and not isinstance(after_text, str):
            raise InvalidInput("after must be an ISO-8601 time", field="after")
        after_ts = parse_time(after_text, "after")
        recurrence = Recurrence.parse(body["cron"], body.get("timezone", "UTC"))
        after = datetime.fromtimestamp(self.clock() if after_ts is None else after_ts, UTC)
        return {
            "description": recurrence.description,
            "next_runs": [iso(t.timestamp()) for t in recurrence.runs(after, count)],
            "warnings": recurrence.warnings(after),
        }

    # -- changing ----------------------------------------------------------------------
    def _validated(self, user: str, body: Any) -> tuple[ScheduleRequest, Recurrence]:
        try:
            request = ScheduleRequest.model_validate(body)
        except ValidationError as error:
            raise _describe(error) from None
        recurrence = Recurrence.parse(request.cron, request.timezone)
        if not isinstance(request.job, dict) or {"name", "group"} & set(request.job):
            raise InvalidInput(
                "job takes the run's instance_type, image, command or notebook and "
                "parameters (its name and group are the schedule's)",
                field="job",
            )
        job_body = {"name": request.name, "group": request.group, **request.job}
        self.jobs.check_request(user, job_body)
        start_at = parse_time(request.start_at, "start_at")
        end_at = parse_time(request.end_at, "end_at")
        if start_at is not None and end_at is not None and end_at <= start_at:
            raise InvalidInput("end_at must be after start_at", field="end_at")
        return request, recurrence

    def next_tick(
        self, recurrence: Recurrence, after: float, start_at: float | None, end_at: float | None
    ) -> float | None:
        """The first tick after ``after`` within [start_at, end_at], or None."""
        if start_at is not None and after < start_at:
            after = start_at - 1e-6
        moment = recurrence.next_after(datetime.fromtimestamp(after, UTC))
        if moment is None or (end_at is not None and moment.timestamp() > end_at):
            return None
        return moment.timestamp()

    @staticmethod
    def _settings(
        request: ScheduleRequest,
        recurrence: Recurrence,
        start_at: float | None,
        end_at: float | None,
        next_run_at: float | None,
        now: float,
    ) -> dict[str, Any]:
        """The fields a create or an edit sets from a checked request."""
        return {
            "name": request.name,
            "group": request.group,
            "cron": recurrence.cron,
            "timezone": request.timezone,
            "job": request.job,
            "enabled": request.enabled,
            "concurrency_policy": request.concurrency_policy,
            "misfire_policy": request.misfire_policy,
            "starting_deadline_seconds": request.starting_deadline_seconds,
            "start_at": start_at,
            "end_at": end_at,
            "next_run_at": next_run_at if request.enabled else None,
            "updated_at": now,
        }

    def create(self, user: str, body: Any) -> Schedule:
        request, recurrence = self._validated(user, body)
        now = self.clock()
        start_at = parse_time(request.start_at, "start_at")
        end_at = parse_time(request.end_at, "end_at")
        next_run_at = self.next_tick(recurrence, now, start_at, end_at)
        if next_run_at is None:
            raise InvalidInput("The schedule ends before it would ever run", field="end_at")
        schedule = Schedule(
            id=secrets.token_hex(8),
            user=user,
            created_at=now,
            **self._settings(request, recurrence, start_at, end_at, next_run_at, now),
        )
        self.store.insert(schedule)
        self._changed()
        return schedule

    def update(self, user: str, schedule_id: str, body: Any) -> Schedule:
        schedule = self._owned(user, schedule_id)
        if not isinstance(body, dict):
            raise InvalidInput("the body must be a JSON object")
        current = {
            "name": schedule.name,
            "group": schedule.group,
            "cron": schedule.cron,
            "timezone": schedule.timezone,
            "job": schedule.job,
            "enabled": schedule.enabled,
            "concurrency_policy": schedule.concurrency_policy,
            "misfire_policy": schedule.misfire_policy,
            "starting_deadline_seconds": schedule.starting_deadline_seconds,
            "start_at": iso(schedule.start_at),
            "end_at": iso(schedule.end_at),
        }
        request, recurrence = self._validated(user, {**current, **body})
        now = self.clock()
        start_at = parse_time(request.start_at, "start_at")
        end_at = parse_time(request.end_at, "end_at")
        timing = (recurrence.cron, request.timezone, start_at, end_at, request.enabled)
        before = (
            schedule.cron,
            schedule.timezone,
            schedule.start_at,
            schedule.end_at,
            schedule.enabled,
        )
        next_run_at = schedule.next_run_at
        if timing != before or next_run_at is None:
            # From now on: a change never fires the ticks it passed over.
            next_run_at = self.next_tick(recurrence, now, start_at, end_at)
        self.store.update(
            schedule.id,
            invalid_reason=None,
            **self._settings(request, recurrence, start_at, end_at, next_run_at, now),
        )
        self._changed()
        return self.get(user, schedule.id)

    def set_enabled(self, user: str, schedule_id: str, enabled: bool) -> Schedule:
        """Pause, or resume from now on (the ticks missed while paused do not run)."""
        schedule = self._owned(user, schedule_id)
        now = self.clock()
        next_run_at = None
        if enabled:
            recurrence = Recurrence.parse(schedule.cron, schedule.timezone)
            next_run_at = self.next_tick(recurrence, now, schedule.start_at, schedule.end_at)
        self.store.update(schedule.id, enabled=enabled, next_run_at=next_run_at, updated_at=now)
        self._changed()
        return self.get(user, schedule.id)

    def delete(self, user: str, schedule_id: str) -> None:
        """The schedule goes; its jobs stay and still name it."""
        schedule = self._owned(user, schedule_id)
        self.store.delete(schedule.id)
        self._changed()

    def run_now(self, user: str, schedule_id: str) -> Job:
        """A run started by a member, linked to the schedule (it counts for overlap)."""
        schedule = self.get(user, schedule_id)
        return self.jobs.create(
            user,
            self.job_body(schedule),
            origin=Origin(MANUAL, schedule.id, schedule.name),
        )

    @staticmethod
    def job_body(schedule: Schedule) -> dict[str, Any]:
        return {"name": schedule.name, "group": schedule.group, **schedule.job}

"""Schedule records and their ticks, on the job store's engine and transactions.

A tick is claimed by inserting its (schedule_id, scheduled_for) row: the unique key lets
exactly one server (or one attempt, across a restart) handle it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from ..models import ACTIVE_STATUSES, PENDING, Job
from ..scheduling.model import Schedule
from .core import (
    _SELECT,
    Store,
    _row_to_job,
    contains_pattern,
    decode_cursor,
    encode_cursor,
    name_contains_clause,
)
from .schema import UNRECORDED_TICK, jobs, schedule_ticks, schedules

_COLUMNS = {f.name: ("grp" if f.name == "group" else f.name) for f in dataclasses.fields(Schedule)}
_SELECT_SCHEDULES = sa.select(*(schedules.c[column] for column in _COLUMNS.values()))


def _row_to_schedule(row: Sequence[Any]) -> Schedule:
    values = dict(zip(_COLUMNS, row, strict=True))
    values["enabled"] = bool(values["enabled"])
    values["job"] = json.loads(values["job"])
    return Schedule(**values)


def _columns(fields: dict[str, Any]) -> dict[str, Any]:
    unknown = set(fields) - set(_COLUMNS)
    if unknown:
        raise ValueError(f"unknown schedule fields {sorted(unknown)}")
    return {
        _COLUMNS[name]: json.dumps(value) if name == "job" else value
        for name, value in fields.items()
    }


@dataclasses.dataclass
class Tick:
    """A handled tick: the run it started (``job_id``) or why it started none."""

    schedule_id: str
    scheduled_for: float
    job_id: str | None
    reason: str | None
    message: str
    recorded_at: float


class ScheduleStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    # -- schedules ---------------------------------------------------------------------
    def insert(self, schedule: Schedule) -> Schedule:
        values = _columns({k: v for k, v in dataclasses.asdict(schedule).items() if k != "seq"})
        with self.store._connection() as db:
            result = db.execute(sa.insert(schedules).values(values))
            (schedule.seq,) = result.inserted_primary_key or (0,)
        return schedule

    def get(self, schedule_id: str) -> Schedule | None:
        with self.store._connection() as db:
            row = db.execute(_SELECT_SCHEDULES.where(schedules.c.id == schedule_id)).first()
        return _row_to_schedule(row) if row else None

    def page(
        self,
        groups: Iterable[str],
        *,
        user: str | None = None,
        name_contains: str = "",
        limit: int = 50,
        cursor: str | None = None,
    ) -> tuple[list[Schedule], str | None]:
        """Newest first, keyset-paginated on ``seq``."""
        query = _SELECT_SCHEDULES.where(schedules.c.grp.in_(sorted(set(groups))))
        if user is not None:
            query = query.where(schedules.c.user == user)
        if name_contains:
            folded = self.store.folds(name_contains)
            pattern = contains_pattern(name_contains, folded)
            query = query.where(name_contains_clause(schedules.c.name, pattern, folded))
        if cursor:
            query = query.where(schedules.c.seq < decode_cursor(cursor))
        query = query.order_by(schedules.c.seq.desc()).limit(limit + 1)
        with self.store._connection() as db:
            found = [_row_to_schedule(row) for row in db.execute(query)]
        page = found[:limit]
        return page, encode_cursor(page[-1].seq) if len(found) > limit else None

    def update(self, schedule_id: str, **fields: Any) -> bool:
        statement = (
            sa.update(schedules).where(schedules.c.id == schedule_id).values(_columns(fields))
        )
        with self.store._connection() as db:
            return db.execute(statement).rowcount == 1

    def advance(self, schedule_id: str, expected_next: float, **fields: Any) -> bool:
        """Move the schedule on from the tick ``expected_next`` (compare-and-set: a server
        that handled the same ticks moves it to the same place)."""
        statement = (
            sa.update(schedules)
            .where(schedules.c.id == schedule_id, schedules.c.next_run_at == expected_next)
            .values(_columns(fields))
        )
        with self.store._connection() as db:
            return db.execute(statement).rowcount == 1

    def delete(self, schedule_id: str) -> None:
        """The schedule and its tick records; its jobs stay (they name it)."""
        with self.store.transaction() as db:
            db.execute(sa.delete(schedule_ticks).where(schedule_ticks.c.schedule_id == schedule_id))
            db.execute(sa.delete(schedules).where(schedules.c.id == schedule_id))

    def due(self, now: float, limit: int = 200) -> list[Schedule]:
        """Enabled schedules whose next tick is at or before ``now``, earliest first."""
        query = (
            _SELECT_SCHEDULES.where(
                schedules.c.enabled == sa.true(),
                schedules.c.next_run_at.is_not(None),
                schedules.c.next_run_at <= now,
            )
            .order_by(schedules.c.next_run_at)
            .limit(limit)
        )
        with self.store._connection() as db:
            return [_row_to_schedule(row) for row in db.execute(query)]

    def next_due_at(self) -> float | None:
        query = sa.select(sa.func.min(schedules.c.next_run_at)).where(
            schedules.c.enabled == sa.true(), schedules.c.next_run_at.is_not(None)
        )
        with self.store._connection() as db:
            value = db.execute(query).scalar_one_or_none()
        return float(value) if value is not None else None

    # -- ticks -------------------------------------------------------------------------
    def claim_tick(self, schedule_id: str, scheduled_for: float, now: float) -> bool:
        """Insert the tick's row; False when another server (or attempt) has it."""
        try:
            with self.store.transaction() as db:
                db.execute(
                    sa.insert(schedule_ticks).values(
                        schedule_id=schedule_id,
                        scheduled_for=scheduled_for,
                        recorded_at=now,
                        message="",
                    )
                )
        except IntegrityError:
            return False
        return True

    def record_tick(
        self,
        schedule_id: str,
        scheduled_for: float,
        *,
        job_id: str | None = None,
        reason: str | None = None,
        message: str = "",
        if_unrecorded: bool = False,
    ) -> None:
        """The tick's run (``job_id``) or why it started none; with ``if_unrecorded``,
        only if nothing is recorded yet (the claiming server may still record it)."""
        statement = (
            sa.update(schedule_ticks)
            .where(
                schedule_ticks.c.schedule_id == schedule_id,
                schedule_ticks.c.scheduled_for == scheduled_for,
                UNRECORDED_TICK if if_unrecorded else sa.true(),
            )
            .values(job_id=job_id, reason=reason, message=message)
        )
        with self.store._connection() as db:
            db.execute(statement)

    def unrecorded_claims(self, claimed_before: float, limit: int) -> list[tuple[str, float]]:
        """(schedule id, tick) of the claims made before ``claimed_before`` that recorded
        neither a run nor a reason: the server that claimed them stopped in between."""
        query = (
            sa.select(schedule_ticks.c.schedule_id, schedule_ticks.c.scheduled_for)
            .where(UNRECORDED_TICK, schedule_ticks.c.recorded_at < claimed_before)
            .order_by(schedule_ticks.c.recorded_at)
            .limit(limit)
        )
        with self.store._connection() as db:
            return [(str(row[0]), float(row[1])) for row in db.execute(query)]

    def run_for_tick(self, schedule_id: str, scheduled_for: float) -> Job | None:
        """The job a schedule started for the tick, if it started one."""
        query = _SELECT.where(
            jobs.c.schedule_id == schedule_id, jobs.c.scheduled_for == scheduled_for
        ).limit(1)
        with self.store._connection() as db:
            row = db.execute(query).first()
        return _row_to_job(row) if row is not None else None

    def skipped_ticks(self, schedule_id: str, limit: int) -> list[Tick]:
        """The ticks that started no run, newest first."""
        query = (
            sa.select(
                schedule_ticks.c.schedule_id,
                schedule_ticks.c.scheduled_for,
                schedule_ticks.c.job_id,
                schedule_ticks.c.reason,
                schedule_ticks.c.message,
                schedule_ticks.c.recorded_at,
            )
            .where(
                schedule_ticks.c.schedule_id == schedule_id,
                schedule_ticks.c.reason.is_not(None),
            )
            .order_by(schedule_ticks.c.seq.desc())
            .limit(limit)
        )
        with self.store._connection() as db:
            return [Tick(*row) for row in db.execute(query)]

    # -- the schedule's jobs -----------------------------------------------------------
    def runs(self, schedule_id: str, limit: int) -> list[Job]:
        query = _SELECT.where(jobs.c.schedule_id == schedule_id)
        with self.store._connection() as db:
            rows = db.execute(query.order_by(jobs.c.seq.desc()).limit(limit))
            return [_row_to_job(row) for row in rows]

    def active_runs(self, schedule_id: str) -> list[Job]:
        query = _SELECT.where(
            jobs.c.schedule_id == schedule_id,
            jobs.c.status.in_((PENDING, *ACTIVE_STATUSES)),
        )
        with self.store._connection() as db:
            return [_row_to_job(row) for row in db.execute(query)]

    def last_run(self, schedule_id: str) -> Job | None:
        found = self.runs(schedule_id, 1)
        return found[0] if found else None

"""Cron expressions in a time zone: validation, next times, words and warnings.

Cron is evaluated on the zone's wall clock (cronsim, which follows Debian cron: names,
ranges, lists, steps, and the day-of-month/day-of-week OR rule when both are restricted).
Each matching wall-clock time then becomes one instant by one documented rule:

- a wall-clock time that does not exist (the clocks jump over it) runs at the first valid
  time after it, the moment the jump ends (02:30 on New York's spring-forward day runs at
  03:00); several skipped times that land there run once;
- a wall-clock time that happens twice (the clocks fall back) runs once, at its first
  occurrence.

cronsim was chosen over croniter 7: it gives "runs once" for repeated times, rejects
never-firing expressions such as ``0 0 31 2 *`` when parsed, and the wall-clock mapping
above is ours, so the rule holds whatever either library does with aware datetimes.
cronsim rejects the ``@daily``-style macros: they are expanded here.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cron_descriptor import ExpressionDescriptor, Options  # type: ignore[import-untyped]
from cronsim import CronSim, CronSimError

from ..errors import InvalidInput, quoted

UTC = timezone.utc
MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MAX_CRON_LENGTH = 200
MAX_PREVIEW_RUNS = 50
# How far ahead the preview looks for daylight-saving changes and short months.
WARNING_HORIZON = timedelta(days=366)


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; a 400 naming ``timezone`` when there is none."""
    if not isinstance(name, str) or not name or len(name) > 100 or name.startswith("/"):
        raise InvalidInput("timezone must be an IANA time zone name", field="timezone")
    try:
        return _zone(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidInput(
            f"Unknown time zone {quoted(name)}; use an IANA name such as Europe/Berlin",
            field="timezone",
        ) from None


@functools.lru_cache(maxsize=512)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def expand(cron: str) -> str:
    """The 5-field form of ``cron`` (macros expanded, blanks normalized); 400 if it has not
    five fields."""
    if not isinstance(cron, str) or not cron.strip():
        raise InvalidInput("cron must not be empty", field="cron")
    if len(cron) > MAX_CRON_LENGTH:
        raise InvalidInput(f"cron must be at most {MAX_CRON_LENGTH} characters", field="cron")
    text = cron.strip()
    if text.startswith("@"):
        expanded = MACROS.get(text.lower())
        if expanded is None:
            raise InvalidInput(
                f"Unknown cron macro {quoted(text)}; use one of "
                "@hourly, @daily, @weekly, @monthly, @yearly",
                field="cron",
            )
        return expanded
    fields = text.split()
    if len(fields) != 5:
        raise InvalidInput(
            f"cron needs 5 fields (minute hour day-of-month month day-of-week); got {len(fields)}",
            field="cron",
        )
    return " ".join(fields)


@dataclasses.dataclass(frozen=True)
class Recurrence:
    """A validated cron expression in a zone. Build it with ``Recurrence.parse``."""

    cron: str  # as the user wrote it
    expression: str  # 5 fields
    timezone: str
    tz: ZoneInfo

    @classmethod
    def parse(cls, cron: str, timezone_name: str) -> Recurrence:
        """Validate by computing: an expression that cannot be parsed or never fires is a
        400 naming ``cron``; an unknown zone one naming ``timezone``."""
        tz = zone(timezone_name)
        expression = expand(cron)
        try:
            first = next(CronSim(expression, datetime(2000, 1, 1)))
        except CronSimError as error:
            raise InvalidInput(
                f"{quoted(cron.strip())} is not a valid cron expression: {error}"
                + (" (it never fires)" if "day-of-month" in str(error) else ""),
                field="cron",
            ) from None
        except StopIteration:
            first = None
        if first is None:
            raise InvalidInput(f"{quoted(cron.strip())} never fires", field="cron")
        return cls(cron.strip(), expression, timezone_name, tz)

    # -- when --------------------------------------------------------------------------
    def _wall_times(self, after_wall: datetime) -> Iterator[datetime]:
        try:
            yield from CronSim(self.expression, after_wall)
        except CronSimError:  # pragma: no cover - parse() already computed a time
            return

    def instant(self, wall: datetime) -> datetime:
        """The UTC instant of the naive wall-clock time ``wall`` by the module's rule."""
        first = wall.replace(tzinfo=self.tz, fold=0)
        utc = first.astimezone(UTC)
        if utc.astimezone(self.tz).replace(tzinfo=None) == wall:
            return utc
        # Nonexistent: the jump ends between the instants of the two offsets; find the
        # first instant whose wall clock is past ``wall``.
        low = wall.replace(tzinfo=self.tz, fold=1).astimezone(UTC)
        high = utc
        if low > high:
            low, high = high, low
        while high - low > timedelta(seconds=1):
            middle = low + (high - low) / 2
            if middle.astimezone(self.tz).replace(tzinfo=None) > wall:
                high = middle
            else:
                low = middle
        return high.replace(microsecond=0)

    def times_after(self, after: datetime) -> Iterator[datetime]:
        """The run instants (UTC, aware) strictly after ``after``, each once."""
        # Start a little before: in a repeated hour the wall clock of ``after`` may be
        # past times whose first occurrence is still ahead. Never yield a time twice.
        start = after.astimezone(self.tz).replace(tzinfo=None) - timedelta(hours=3)
        last = after
        for wall in self._wall_times(start.replace(second=0, microsecond=0)):
            moment = self.instant(wall)
            if moment > last:
                last = moment
                yield moment

    def next_after(self, after: datetime) -> datetime | None:
        return next(self.times_after(after), None)

    def runs(self, after: datetime, count: int) -> list[datetime]:
        found = []
        for moment in self.times_after(after):
            found.append(moment)
            if len(found) >= count:
                break
        return found

    # -- words -------------------------------------------------------------------------
    @property
    def description(self) -> str:
        return describe(self.expression)

    def warnings(self, after: datetime) -> list[str]:
        """What a user should know before saving: months the schedule skips, and runs
        that daylight-saving changes move or merge in the coming year."""
        found = [*self._short_month_warnings(), *self._dst_warnings(after)]
        return list(dict.fromkeys(found))

    def _short_month_warnings(self) -> list[str]:
        _minute, _hour, dom, _month, dow = self.expression.split()
        if dom.startswith("*") or not dow.startswith("*"):
            return []  # with a day of the week, cron runs on either (the OR rule)
        days = [day for day in _numbers(dom) if day >= 29]
        if not days:
            return []
        day = min(days)
        months = "February in common years" if day == 29 else "February"
        if day == 31:
            months = "February, April, June, September and November"
        elif day == 30:
            months = "February"
        return [f"Day {day} does not exist in every month: no run on it in {months}."]

    def _dst_warnings(self, after: datetime) -> list[str]:
        warnings = []
        for change, before, offset_after in _transitions(self.tz, after, WARNING_HORIZON):
            shift = offset_after - before
            wall_before = (change + before).replace(tzinfo=None)
            wall_after = (change + offset_after).replace(tzinfo=None)
            if shift > timedelta(0):
                # Wall times in [wall_before, wall_after) do not exist that day.
                start = wall_before - timedelta(minutes=1)
                for wall in self._wall_times(start):
                    if wall >= wall_after:
                        break
                    moved = self.instant(wall).astimezone(self.tz)
                    warnings.append(
                        f"{wall:%Y-%m-%d %H:%M} does not exist in {self.timezone} (clocks "
                        f"move forward): that run starts at {moved:%H:%M}."
                    )
            else:
                start = wall_after - timedelta(minutes=1)
                for wall in self._wall_times(start):
                    if wall >= wall_before:
                        break
                    warnings.append(
                        f"{wall:%Y-%m-%d %H:%M} happens twice in {self.timezone} (clocks move "
                        "back): it runs once, at the first."
                    )
        return warnings


def _numbers(field: str) -> list[int]:
    """The plain day numbers a day-of-month field names (ranges by their ends)."""
    found = []
    for part in field.split(","):
        for bound in part.split("/")[0].split("-"):
            if bound.isdigit():
                found.append(int(bound))
    return found


def _transitions(
    tz: ZoneInfo, after: datetime, horizon: timedelta
) -> Iterator[tuple[datetime, timedelta, timedelta]]:
    """(UTC instant, offset before, offset after) of each offset change in the horizon."""
    step = timedelta(hours=1)
    moment = after.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    end = moment + horizon
    offset = moment.astimezone(tz).utcoffset()
    while moment < end:
        following = moment + step
        new_offset = following.astimezone(tz).utcoffset()
        if new_offset != offset:
            assert offset is not None and new_offset is not None
            low, high = moment, following
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                if middle.astimezone(tz).utcoffset() == offset:
                    low = middle
                else:
                    high = middle
            yield high.replace(microsecond=0), offset, new_offset
            offset = new_offset
        moment = following


@functools.lru_cache(maxsize=4096)
def describe(expression: str) -> str:
    """Words for a 5-field expression: "At 04:00, Monday through Friday"."""
    options = Options()
    options.use_24hour_time_format = True
    options.verbose = False
    try:
        return str(ExpressionDescriptor(expression, options).get_description())
    except Exception:  # the describer is stricter than cronsim for a few extensions
        return expression

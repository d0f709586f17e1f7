"""What to do with the ticks that are due: pure decisions, no I/O.

A tick is *on time* while no more than ``starting_deadline_seconds`` have passed since
it; later it counts as *missed* (nothing could fire it: the server was down or busy).
``misfire_policy`` decides about the missed ones:

- ``run_once``: one run for all of them (the latest due tick), like systemd's
  ``Persistent=true``; the others are recorded as missed;
- ``skip``: none run; each is recorded as missed (an on-time tick still runs);
- ``run_all``: each runs, at most ``MAX_CATCH_UP_RUNS`` (the latest ones); the rest are
  recorded as missed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from .model import RUN_ALL, RUN_ONCE

MAX_CATCH_UP_RUNS = 10


@dataclasses.dataclass(frozen=True)
class Plan:
    run: list[float]
    missed: list[float]


def plan(due: Sequence[float], now: float, misfire_policy: str, deadline_seconds: float) -> Plan:
    """Split the due ticks (oldest first) into those to run and those recorded as missed."""
    on_time = [tick for tick in due if now - tick <= deadline_seconds]
    late = [tick for tick in due if now - tick > deadline_seconds]
    if not late:
        return Plan(run=list(on_time), missed=[])
    if misfire_policy == RUN_ONCE:
        # One run for the whole gap: for the latest due tick (on time or not).
        return Plan(run=[due[-1]], missed=list(due[:-1]))
    if misfire_policy == RUN_ALL:
        run = list(due[-MAX_CATCH_UP_RUNS:])
        return Plan(run=run, missed=list(due[: len(due) - len(run)]))
    return Plan(run=on_time, missed=late)

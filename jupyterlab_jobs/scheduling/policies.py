"""What to do with the ticks that are due: pure decisions, no I/O.

Only the latest due tick can be *on time*: a pass that finds several ticks due was kept
from firing them (the server was down or busy), and firing them all would be a burst. The
latest is on time while no more than ``starting_deadline_seconds`` have passed since it;
every other due tick is *missed*. ``misfire_policy`` decides about missed ticks:

- ``run_once`` (default): one run for all of them, for the latest due tick (like
  systemd's ``Persistent=true``); the others are recorded as missed;
- ``skip``: none runs (the latest still runs if on time); each is recorded as missed;
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
    if not due:
        return Plan(run=[], missed=[])
    latest_on_time = now - due[-1] <= deadline_seconds
    if misfire_policy == RUN_ALL:
        run = list(due[-MAX_CATCH_UP_RUNS:])
    elif misfire_policy == RUN_ONCE or latest_on_time:
        run = [due[-1]]
    else:
        run = []
    return Plan(run=run, missed=list(due[: len(due) - len(run)]))

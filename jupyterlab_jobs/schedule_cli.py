"""`jupyter jobs schedules list|create|show|pause|resume|run|delete` (the REST API's
schedules, for cli.py)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .cli import Client


def add_parser(verbs: Any) -> None:
    schedules = verbs.add_parser("schedules", help="recurring jobs")
    actions = schedules.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="schedules of your groups, newest first")
    listing.add_argument("--group")
    listing.add_argument("--mine", action="store_true", help="only schedules you own")
    listing.add_argument("--search", help="part of the schedule name")
    listing.add_argument("--limit", type=int, default=50)
    create = actions.add_parser("create", help="create a schedule")
    create.add_argument("--name", required=True)
    create.add_argument("--group", required=True)
    create.add_argument("--cron", required=True, help="5 fields, or @hourly ... @yearly")
    create.add_argument("--timezone", default="UTC", help="an IANA zone (default UTC)")
    create.add_argument("--instance-type", required=True)
    create.add_argument("--image", required=True)
    what = create.add_mutually_exclusive_group(required=True)
    what.add_argument("--command")
    what.add_argument("--notebook", help="path relative to the Jupyter root directory")
    create.add_argument("-p", "--parameter", action="append", default=[], metavar="NAME=VALUE")
    create.add_argument("--concurrency-policy", choices=("forbid", "allow", "replace"))
    create.add_argument("--misfire-policy", choices=("run_once", "skip", "run_all"))
    create.add_argument("--paused", action="store_true", help="create it paused")
    for action, text in [
        ("show", "one schedule and its recent runs"),
        ("pause", "stop firing ticks"),
        ("resume", "fire ticks again, from now on"),
        ("run", "run it now (a job linked to it)"),
        ("delete", "delete it (its jobs stay)"),
    ]:
        actions.add_parser(action, help=text).add_argument("schedule_id")


def table(schedules: Sequence[dict[str, Any]]) -> str:
    rows = [("ID", "STATE", "NAME", "GROUP", "OWNER", "NEXT RUN", "RECURRENCE")]
    for schedule in schedules:
        state = "Paused" if not schedule["enabled"] else "Active"
        if schedule["invalid_reason"]:
            state = "Invalid"
        rows.append(
            (
                schedule["id"],
                state,
                schedule["name"][:40],
                schedule["group"],
                schedule["user"],
                schedule["next_run_at"] or "-",
                f"{schedule['description']} ({schedule['timezone']})",
            )
        )
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def run(client: Client, args: argparse.Namespace) -> int:
    from .cli import parse_parameters
    from .cli import table as jobs_table

    action = args.action
    if action == "list":
        page = client.json(
            "GET",
            "schedules",
            group=args.group,
            mine="true" if args.mine else None,
            q=args.search,
            limit=args.limit,
        )
        print(json.dumps(page, indent=2) if args.json else table(page["schedules"]))
    elif action == "create":
        job: dict[str, Any] = {"instance_type": args.instance_type, "image": args.image}
        if args.notebook:
            job.update(notebook=args.notebook, parameters=parse_parameters(args.parameter))
        else:
            job["command"] = args.command
        body: dict[str, Any] = {
            "name": args.name,
            "group": args.group,
            "cron": args.cron,
            "timezone": args.timezone,
            "job": job,
            "enabled": not args.paused,
        }
        for option in ("concurrency_policy", "misfire_policy"):
            if getattr(args, option):
                body[option] = getattr(args, option)
        schedule = client.json("POST", "schedules", body)
        print(
            json.dumps(schedule, indent=2)
            if args.json
            else f"Created schedule {schedule['id']}: {schedule['description']}, "
            f"next run {schedule['next_run_at'] or '-'}"
        )
    elif action == "show":
        schedule = client.json("GET", f"schedules/{args.schedule_id}")
        runs = client.json("GET", f"schedules/{args.schedule_id}/runs", limit=10)["runs"]
        if args.json:
            print(json.dumps({**schedule, "runs": runs}, indent=2))
        else:
            print(table([schedule]))
            jobs = [run["job"] for run in runs if run["job"]]
            if jobs:
                print("\n" + jobs_table(jobs))
            for skipped in (run for run in runs if not run["job"]):
                print(
                    f"skipped {skipped['scheduled_for']}: {skipped['reason']}: {skipped['message']}"
                )
    elif action in ("pause", "resume"):
        schedule = client.json("POST", f"schedules/{args.schedule_id}/{action}")
        print(json.dumps(schedule, indent=2) if args.json else table([schedule]))
    elif action == "run":
        job = client.json("POST", f"schedules/{args.schedule_id}/run")
        print(json.dumps(job, indent=2) if args.json else f"Submitted job {job['id']}")
    elif action == "delete":
        with client.open("DELETE", f"schedules/{args.schedule_id}"):
            pass
        print(f"Deleted schedule {args.schedule_id}; its jobs stay")
    return 0

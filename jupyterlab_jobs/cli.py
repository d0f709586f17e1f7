"""`jupyter jobs ...`: the command line speaks the same REST API as JupyterLab.

The server is found from the JUPYTERLAB_JOBS_URL and JUPYTER_TOKEN environment variables,
``--url``/``--token``, or else the newest running Jupyter server of this user.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import schedule_cli

FINAL = ("Succeeded", "Failed", "Cancelled")


class ApiError(Exception):
    """An error answer of the server: its status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class Client:
    def __init__(self, url: str, token: str) -> None:
        self.base = url.rstrip("/") + "/jupyterlab-jobs/"
        self.token = token

    def open(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        params = {k: v for k, v in query.items() if v not in (None, False, "")}
        url = self.base + path + ("?" + urllib.parse.urlencode(params) if params else "")
        data = (
            json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
        )
        headers = {"Authorization": f"token {self.token}"} if self.token else {}
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            return urllib.request.urlopen(request, timeout=None if query.get("follow") else 60)
        except urllib.error.HTTPError as error:
            try:
                message = json.loads(error.read()).get("message") or error.reason
            except ValueError:
                message = error.reason
            raise ApiError(error.code, str(message)) from None
        except urllib.error.URLError as error:
            raise ApiError(0, f"Cannot reach the Jupyter server at {url}: {error.reason}") from None

    def json(self, method: str, path: str, body: Any = None, **query: Any) -> Any:
        with self.open(method, path, body, **query) as response:
            return json.load(response)


def find_server() -> tuple[str, str]:
    """The URL and token of this user's newest running Jupyter server."""
    from jupyter_server.serverapp import list_running_servers

    servers = sorted(list_running_servers(), key=lambda s: s.get("pid", 0))
    if not servers:
        raise ApiError(0, "No running Jupyter server found; start JupyterLab or pass --url")
    return str(servers[-1]["url"]), str(servers[-1].get("token", ""))


def table(jobs: Sequence[dict[str, Any]]) -> str:
    rows = [("ID", "STATUS", "NAME", "USER", "GROUP", "DURATION", "MESSAGE")]
    for job in jobs:
        duration = job["duration_seconds"]
        rows.append(
            (
                job["id"],
                job["status"],
                job["name"][:40],
                job["user"],
                job["group"],
                "-" if duration is None else f"{duration:.1f}s",
                (job["message"] or "")[:60],
            )
        )
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def parse_parameters(items: Sequence[str]) -> dict[str, Any]:
    """``name=value`` pairs; a value that parses as JSON is taken as JSON, else as text."""
    parameters: dict[str, Any] = {}
    for item in items:
        name, separator, value = item.partition("=")
        if not separator:
            raise ApiError(0, f"parameter {item!r} is not name=value")
        try:
            parameters[name.strip()] = json.loads(value)
        except ValueError:
            parameters[name.strip()] = value
    return parameters


def follow_logs(client: Client, job_id: str, tail: int | None) -> None:
    with client.open("GET", f"jobs/{job_id}/logs", follow=1, tail=tail) as response:
        while chunk := response.read1(65536):
            sys.stdout.buffer.write(chunk)
            sys.stdout.buffer.flush()


def wait(client: Client, job_id: str) -> dict[str, Any]:
    while True:
        job: dict[str, Any] = client.json("GET", f"jobs/{job_id}")
        if job["status"] in FINAL:
            return job
        time.sleep(0.5)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="jupyter jobs", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("JUPYTERLAB_JOBS_URL"))
    parser.add_argument("--token", default=os.environ.get("JUPYTER_TOKEN", ""))
    parser.add_argument("--json", action="store_true", help="print the server's JSON")
    verbs = parser.add_subparsers(dest="verb", required=True)
    verbs.add_parser("options", help="your groups and what they allow")
    listing = verbs.add_parser("list", help="jobs of your groups, newest first")
    listing.add_argument("--group")
    listing.add_argument("--mine", action="store_true", help="only jobs you submitted")
    listing.add_argument("--status", help="comma-separated statuses")
    listing.add_argument("--search", help="part of the job name")
    listing.add_argument("--limit", type=int, default=25)
    submit = verbs.add_parser("submit", help="submit a command or a notebook as a job")
    submit.add_argument("--group", required=True)
    submit.add_argument("--instance-type", required=True)
    submit.add_argument("--image", required=True)
    submit.add_argument("--name")
    what = submit.add_mutually_exclusive_group(required=True)
    what.add_argument("--command")
    what.add_argument("--notebook", help="path relative to the Jupyter root directory")
    submit.add_argument("-p", "--parameter", action="append", default=[], metavar="NAME=VALUE")
    submit.add_argument("--follow", action="store_true", help="stream the log until it ends")
    for verb, text in [
        ("show", "one job"),
        ("cancel", "stop a job"),
        ("rerun", "run a job again"),
        ("logs", "a job's log"),
    ]:
        command = verbs.add_parser(verb, help=text)
        command.add_argument("job_id")
        if verb == "logs":
            command.add_argument("-f", "--follow", action="store_true")
            command.add_argument("--tail", type=int)
    schedule_cli.add_parser(verbs)
    upgrade = verbs.add_parser(
        "upgrade-db",
        help="upgrade the jobs database's schema (servers also do it when they start)",
    )
    upgrade.add_argument(
        "--db-url", help="the database (default: c.JobsApp.db_url from the Jupyter config)"
    )
    return parser


def configured_db_url() -> str:
    """c.JobsApp.db_url (or its SQLite default under data_dir) from the Jupyter config files."""
    from .app import JobsApp
    from .store import sqlite_url

    # The extension's settings live in the server's config files (c.JobsApp.*).
    app = JobsApp(config_file_name="jupyter_server_config")
    app.load_config_file()
    return app.db_url or sqlite_url(Path(app.data_dir) / "jobs.sqlite")


def upgrade_db(db_url: str | None) -> int:
    """Like `jupyterhub upgrade-db`: migrate the schema to this release's, say what happened."""
    from .store import DatabaseError, migrate
    from .store.engine import create_engine, parse_url, shown

    try:
        url = parse_url(db_url or configured_db_url())
        engine = create_engine(url, pool_size=1)
        try:
            before, after = migrate.upgrade(engine)
        finally:
            engine.dispose()
    except DatabaseError as error:
        raise ApiError(0, str(error)) from None
    if before == after:
        print(f"The jobs database {shown(url)} is up to date (revision {after})")
    else:
        # No revision yet: a new database, or one of a release before alembic (schema v3).
        print(f"Upgraded the jobs database {shown(url)} from {before or 'no revision'} to {after}")
    return 0


def run(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.verb == "upgrade-db":
        return upgrade_db(args.db_url)
    url, token = (args.url, args.token) if args.url else find_server()
    client = Client(url, token or args.token)
    if args.verb == "options":
        print(json.dumps(client.json("GET", "options"), indent=2))
    elif args.verb == "list":
        page = client.json(
            "GET",
            "jobs",
            group=args.group,
            mine="true" if args.mine else None,
            status=args.status,
            q=args.search,
            limit=args.limit,
        )
        print(json.dumps(page, indent=2) if args.json else table(page["jobs"]))
    elif args.verb == "submit":
        body: dict[str, Any] = {
            "group": args.group,
            "instance_type": args.instance_type,
            "image": args.image,
            "name": args.name or (args.notebook or args.command).splitlines()[0][:80],
        }
        if args.notebook:
            body.update(notebook=args.notebook, parameters=parse_parameters(args.parameter))
        else:
            body["command"] = args.command
        job = client.json("POST", "jobs", body)
        print(json.dumps(job, indent=2) if args.json else f"Submitted job {job['id']}")
        if args.follow:
            follow_logs(client, job["id"], None)
            return 0 if wait(client, job["id"])["status"] == "Succeeded" else 1
    elif args.verb in ("show", "cancel", "rerun"):
        method = "GET" if args.verb == "show" else "POST"
        path = f"jobs/{args.job_id}" + ("" if args.verb == "show" else f"/{args.verb}")
        job = client.json(method, path)
        print(json.dumps(job, indent=2) if args.json or args.verb == "show" else table([job]))
    elif args.verb == "schedules":
        return schedule_cli.run(client, args)
    elif args.verb == "logs":
        if args.follow:
            follow_logs(client, args.job_id, args.tail)
        else:
            with client.open("GET", f"jobs/{args.job_id}/logs", tail=args.tail) as response:
                shutil.copyfileobj(response, sys.stdout.buffer)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return run(argv)
    except ApiError as error:
        print(f"jupyter jobs: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

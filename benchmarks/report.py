"""The run's context (machine, commit) and its results as JSON and as a Markdown section."""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from .harness import REPO
from .suites import PEERS, Result


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    except OSError:
        pass
    return {
        "arch": platform.machine(),
        "cpu": model or platform.processor() or "unknown",
        "cores": os.cpu_count(),
        "cores_usable": len(os.sched_getaffinity(0)),
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def git_commit() -> dict[str, Any]:
    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return ""

    return {
        "commit": git("rev-parse", "HEAD"),
        "dirty": bool(git("status", "--porcelain", "--untracked-files=no")),
    }


def to_json(results: list[Result], context: dict[str, Any]) -> dict[str, Any]:
    return {
        **context,
        "passed": all(r.passed for r in results),
        "benchmarks": {r.name: dataclasses.asdict(r) for r in results},
        "peers": PEERS,
    }


def _value(value: float, unit: str) -> str:
    return f"{value:g} {unit}"


def to_markdown(results: list[Result], context: dict[str, Any]) -> str:
    m = context["machine"]
    commit = context["git"]["commit"][:12] or "unknown"
    if context["git"]["dirty"]:
        commit += " (with uncommitted changes)"
    passed = all(r.passed for r in results)
    lines = [
        f"## {context['date']} ({context['mode']}): {'PASS' if passed else 'FAIL'}",
        "",
        f"- Machine: {m['arch']}, {m['cpu']}, {m['cores']} cores ({m['cores_usable']} usable), "
        f"{m['memory_gib']} GiB memory, Linux {m['kernel']}, Python {m['python']}",
        f"- Commit: {commit}",
        f"- Duration: {context['seconds']:.0f} s; client and server share the machine; load "
        f"average (1, 5, 15 min) before {context['load_average_before']}, after "
        f"{context['load_average_after']}",
        "",
        "| benchmark | metric | measured | goal | result | jupyter-scheduler (issue) |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        if r.error:
            lines.append(f"| {r.name} | (did not complete) | {r.error[:200]} | | FAIL | |")
        for metric in r.metrics:
            verdict = {True: "PASS", False: "**FAIL**", None: "reference"}[metric.passed]
            goal = f"{metric.goal} {metric.unit}" if metric.goal else ""
            lines.append(
                f"| {r.name} | {metric.name} | {_value(metric.value, metric.unit)} | {goal} | "
                f"{verdict} | {metric.peer} |"
            )
    lines += [
        "",
        f"Peers, from the issue (not measured here): {PEERS['tool'].split(' (')[0]}: "
        f"create -> running {PEERS['create_to_running']}, list {PEERS['list_p95']}, "
        f"{PEERS['throughput']}, {PEERS['memory_per_running_job']} per running job, "
        f"queue: {PEERS['queue']}.",
    ]
    for r in results:
        if "side_by_side" in r.details:
            lines += ["", *side_by_side_table(r.details["side_by_side"])]
    notes = [f"{r.name}: {note}" for r in results for note in r.notes]
    if notes:
        lines += ["", *[f"- {note}" for note in notes]]
    lines.append("")
    return "\n".join(lines)


def side_by_side_table(measured: dict[str, Any]) -> list[str]:
    """Both products' numbers and the ratio, measured in this run (see side_by_side.py)."""
    lines = [
        f"Side by side, measured in this run: jupyterlab-jobs vs {measured['peer']} "
        "(ratio = theirs / ours: how many times less time or memory we use)",
        "",
        f"| workload | metric | jupyterlab-jobs | {measured['peer']} | ratio |",
        "|---|---|---|---|---|",
    ]
    for row in measured["rows"]:
        ours, peer = (
            "n/a" if v is None else _value(v, row["unit"]) for v in (row["ours"], row["peer"])
        )
        ratio = f"{row['ratio']:g}x" if row["ratio"] is not None else ""
        lines.append(f"| {row['group']} | {row['metric']} | {ours} | {peer} | {ratio} |")
    return lines


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def context(mode: str, seconds: float, load_before: list[float]) -> dict[str, Any]:
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "mode": mode,
        "seconds": round(seconds, 1),
        "machine": machine(),
        "load_average_before": load_before,
        "load_average_after": load_average(),
        "git": git_commit(),
        "command": " ".join(["python -m benchmarks", *sys.argv[1:]]),
    }


def write(results: list[Result], ctx: dict[str, Any], json_path: Path, md_path: Path) -> None:
    json_path.parent.mkdir(parents=True, exist_ok=True)
    json_path.write_text(json.dumps(to_json(results, ctx), indent=2) + "\n")
    section = to_markdown(results, ctx)
    if not md_path.exists():
        md_path.write_text(
            "# Benchmark results\n\nOne section per recorded run, newest last; written by "
            "`python -m benchmarks` (see README.md). `results.json` holds the latest run.\n\n"
        )
    with md_path.open("a") as handle:
        handle.write(section + "\n")

"""``python -m benchmarks [--quick] [--only NAME ...]``: run, report, exit 1 if a goal fails.

A full run records its results in benchmarks/results.md (appended) and results.json
(replaced). A --quick or --only run is a smoke run: its results go to
benchmarks/.work/ (git-ignored) unless --record is given.
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from pathlib import Path

from . import report
from .side_by_side import bench_side_by_side, draw_chart
from .suites import BENCHMARKS as OWN_BENCHMARKS
from .suites import Result, Settings

BENCHMARKS = {**OWN_BENCHMARKS, "side_by_side": bench_side_by_side}

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="few samples: a smoke run")
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="NAME",
        help=f"run only these (repeat or comma-separate): {', '.join(BENCHMARKS)}",
    )
    parser.add_argument(
        "--record", action="store_true", help="record a --quick/--only run in results.*"
    )
    parser.add_argument("--keep", action="store_true", help="keep the work directories")
    args = parser.parse_args(argv)
    names = [n for raw in args.only for n in raw.split(",") if n] or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark {unknown[0]!r}; choose from {', '.join(BENCHMARKS)}")
    settings = Settings(quick=args.quick, keep=args.keep)
    partial = args.quick or bool(args.only)
    mode = ("quick" if args.quick else "full") + (f", only {', '.join(names)}" if args.only else "")

    load_before = report.load_average()
    begin = time.perf_counter()
    results: list[Result] = []
    for name in names:
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        try:
            result = BENCHMARKS[name](settings)
        except Exception as error:
            traceback.print_exc()
            result = Result(name, name, error=f"{type(error).__name__}: {error}")
        result.seconds = round(time.perf_counter() - started, 1)
        results.append(result)
        for metric in result.metrics:
            verdict = {True: "PASS", False: "FAIL", None: "    "}[metric.passed]
            goal = f"(goal {metric.goal} {metric.unit})" if metric.goal else ""
            print(f"   {verdict}  {metric.name}: {metric.value:g} {metric.unit} {goal}")
        if result.error:
            print(f"   FAIL  did not complete: {result.error}")
        print(f"   ({result.seconds:g} s)", flush=True)

    settings.databases.stop()
    ctx = report.context(mode, time.perf_counter() - begin, load_before)
    if partial and not args.record:
        target = HERE / ".work"
        json_path, md_path = target / "results-latest.json", target / "results-latest.md"
        md_path.unlink(missing_ok=True)
    else:
        json_path, md_path = HERE / "results.json", HERE / "results.md"
    report.write(results, ctx, json_path, md_path)
    if any(r.name == "side_by_side" and not r.error for r in results):
        draw_chart(json_path, partial and not args.record)
    passed = all(r.passed for r in results)
    print(f"\n{'PASS' if passed else 'FAIL'}: results in {md_path.relative_to(HERE.parent)}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())

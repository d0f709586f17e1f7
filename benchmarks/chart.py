"""``python chart.py RESULTS_JSON OUT_PNG``: the side-by-side numbers as a bar chart.

Run with the peer venv's Python (it has matplotlib), so the project needs no plotting
library; reads only the JSON that ``python -m benchmarks`` wrote.
"""

from __future__ import annotations

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

OURS_COLOUR = "#1f77b4"
PEER_COLOUR = "#bbbbbb"
PANELS = [
    ("Notebook job, one at a time (ms)", lambda r: r["group"].startswith("one notebook")),
    ("Burst of notebook jobs", lambda r: r["group"].startswith("burst") and r["unit"] != "jobs"),
    ("Listing jobs, p95 (ms)", lambda r: r["group"].startswith("listing") and "p95" in r["metric"]),
    ("Server RSS (MiB)", lambda r: r["group"] == "server"),
]


def main(results_json: str, out_png: str) -> None:
    with open(results_json, encoding="utf-8") as handle:
        results = json.load(handle)
    details = results["benchmarks"]["side_by_side"]["details"]["side_by_side"]
    rows = details["rows"]
    figure, axes = plt.subplots(len(PANELS), 1, figsize=(9, 11))
    for axis, (title, wanted) in zip(axes, PANELS, strict=True):
        chosen = [r for r in rows if wanted(r) and r["ours"] is not None]
        labels = [_label(r) for r in chosen]
        positions = range(len(chosen))
        height = 0.38
        ours = [r["ours"] for r in chosen]
        peer = [r["peer"] or 0 for r in chosen]
        axis.barh(
            [p - height / 2 for p in positions],
            ours,
            height,
            color=OURS_COLOUR,
            label="jupyterlab-jobs",
        )
        axis.barh(
            [p + height / 2 for p in positions],
            peer,
            height,
            color=PEER_COLOUR,
            label=details["peer"],
        )
        for p, r in zip(positions, chosen, strict=True):
            axis.text(r["ours"], p - height / 2, f" {_number(r['ours'])}", va="center", fontsize=8)
            if r["peer"] is not None:
                ratio = f"  ({r['ratio']:g}x ours)" if r["ratio"] else ""
                axis.text(
                    r["peer"],
                    p + height / 2,
                    f" {_number(r['peer'])}{ratio}",
                    va="center",
                    fontsize=8,
                )
        axis.set_yticks(list(positions), labels, fontsize=8)
        axis.invert_yaxis()
        axis.set_title(title, fontsize=10, loc="left")
        axis.set_xlim(0, max(ours + peer) * 1.4 or 1)
        axis.tick_params(axis="x", labelsize=8)
    axes[0].legend(fontsize=8, loc="upper right")
    figure.suptitle(
        f"jupyterlab-jobs vs {details['peer']}, one run on one machine ({results['date']})",
        fontsize=11,
    )
    figure.text(0.01, 0.005, "Lower is better everywhere.", fontsize=8)
    figure.tight_layout(rect=(0, 0.015, 1, 0.98))
    figure.savefig(out_png, dpi=110)


def _number(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def _label(row: dict) -> str:  # type: ignore[type-arg]
    unit = f" ({row['unit']})" if row["group"].startswith("burst") else ""
    prefix = (
        row["group"].split(", ")[-1].replace(" in the store", "") + ": "
        if (row["group"].startswith("listing"))
        else ""
    )
    return f"{prefix}{row['metric']}{unit}"


if __name__ == "__main__":
    main(*sys.argv[1:3])

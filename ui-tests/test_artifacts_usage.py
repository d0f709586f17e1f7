"""The job detail's resource charts (live, then the peak against the limit) and its
artifact list (sizes, image preview, download), in the light and dark themes."""

from __future__ import annotations

import base64
import struct
import zlib
from pathlib import Path

from helpers import PANEL, open_panel, row, screenshot, set_theme
from playwright.sync_api import Page, expect


def tiny_png() -> bytes:
    """A 2x2 RGB PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    pixels = b"\0\xff\0\0\0\xff\0" + b"\0\0\0\xff\xff\xff\xff"
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(pixels))
        + chunk(b"IEND", b"")
    )


PNG = tiny_png()
SCRIPT = (
    "import base64, pathlib, time\n"
    "out = pathlib.Path.home() / 'artifacts'\n"
    "(out / 'plots').mkdir(parents=True)\n"
    f"png = base64.b64decode({base64.b64encode(PNG).decode()!r})\n"
    "(out / 'plots' / 'tiny.png').write_bytes(png)\n"
    "(out / 'metrics.csv').write_text('epoch,loss\\n1,0.5\\n2,0.25\\n')\n"
    "block = b'x' * (200 * 1024 * 1024)\n"
    "start = time.time()\n"
    "while time.time() - start < 12: pass\n"
    "print('done', len(block))\n"
)


def test_usage_charts_and_artifacts(page: Page, lab) -> None:
    script = lab.notebooks / "projects" / "research" / "train.py"
    script.parent.mkdir(parents=True, exist_ok=True)
    script.write_text(SCRIPT)
    panel = open_panel(page)
    job = lab.submit(
        "usage and artifacts",
        "python research/train.py",
        instance_type="cpu-1",
        image="python",
    )
    row(page, job["id"]).locator(".jp-Jobs-name").click()
    status = panel.locator(".jp-Jobs-detailTitle .jp-Jobs-status")
    expect(status).to_have_text("Running", timeout=30000)
    charts = panel.locator(".jp-Jobs-usageChart")
    expect(charts).to_have_count(2)
    # Live: the CPU chart gets a line while the job runs.
    cpu_line = panel.locator('.jp-Jobs-usageChart[data-metric="cpu"] polyline')
    expect(cpu_line).to_have_count(1, timeout=20000)
    expect(status).to_have_text("Running")
    expect(status).to_have_text("Succeeded", timeout=60000)
    summary = panel.locator(".jp-Jobs-usageSummary")
    expect(summary).to_contain_text("of 1 GiB")
    expect(summary).to_contain_text("CPU time:")
    text = summary.inner_text()
    assert "peak 2" in text, text  # about 200 MiB
    points = cpu_line.get_attribute("points") or ""
    assert len(points.split()) >= 3, points
    stroke = page.evaluate("el => getComputedStyle(el).stroke", cpu_line.element_handle())
    assert stroke not in ("", "none"), stroke

    artifacts = panel.locator(".jp-Jobs-artifactTable tr")
    expect(artifacts).to_have_count(2)
    expect(artifacts.nth(0)).to_contain_text("metrics.csv")
    expect(artifacts.nth(0)).to_contain_text("24 B")
    expect(artifacts.nth(1)).to_contain_text("plots/tiny.png")
    artifacts.nth(1).locator(".jp-Jobs-artifactShow").click()
    image = panel.locator(".jp-Jobs-artifactPreview img")
    expect(image).to_be_visible()
    assert page.evaluate("img => img.naturalWidth", image.element_handle()) == 2
    with page.expect_download() as download:
        artifacts.nth(0).locator(".jp-Jobs-artifactDownload").click()
    assert download.value.suggested_filename == "metrics.csv"
    saved = download.value.path()
    assert saved is not None
    assert Path(saved).read_text() == "epoch,loss\n1,0.5\n2,0.25\n"

    section = page.locator(f"{PANEL} .jp-Jobs-detail")
    screenshot(page, "usage-artifacts-light", section)
    set_theme(page, "JupyterLab Dark")
    try:
        # The chart follows the theme: its background is the dark layout colour.
        background = page.evaluate(
            "el => getComputedStyle(el).backgroundColor",
            panel.locator(".jp-Jobs-usageChart svg").first.element_handle(),
        )
        assert background != "rgb(238, 238, 238)", background
        screenshot(page, "usage-artifacts-dark", section)
    finally:
        set_theme(page, "JupyterLab Light")
    assert page.errors == []  # type: ignore[attr-defined]

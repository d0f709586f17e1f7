"""The built wheel, installed into a fresh venv with no Node.js, works with no config at all.

This is what a new user does: `pip install jupyterlab-jobs`, then `jupyter server` (or
lab). The wheel must carry the prebuilt labextension and the config that enables the
server extension, and the server must offer its default setup, through which a job runs.

The wheel is built from this checkout (`make build` has built the labextension, so
hatch-jupyter-builder skips npm). Its dependencies are not downloaded again: the fresh
venv sees this environment's site-packages through a .pth file written after the wheel
is installed, so the wheel's own files (package, labextension, server config) are the
fresh venv's and everything else is shared.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
import venv
from pathlib import Path
from typing import Any

import pytest
from server_process import REPO, free_port

LABEXTENSION = REPO / "jupyterlab_jobs" / "labextension"
FINAL = {"Succeeded", "Failed", "Cancelled"}


def run(*command: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    result = subprocess.run(
        [str(part) for part in command],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 0, f"{command}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def fresh_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (LABEXTENSION / "static" / "style.js").exists():
        pytest.fail("the labextension is not built: run `make build` first")
    root = tmp_path_factory.mktemp("wheel")
    run(
        sys.executable, "-m", "pip", "wheel", REPO, "--no-deps", "--no-build-isolation",
        "--quiet", "-w", root / "dist",
    )  # fmt: skip
    (wheel,) = (root / "dist").glob("jupyterlab_jobs-*.whl")
    prefix = root / "venv"
    venv.create(prefix, with_pip=True)
    python = prefix / "bin" / "python"
    run(python, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", wheel)
    purelib = Path(
        run(python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))").strip()
    )
    shared = [sysconfig.get_path("purelib"), *site.getsitepackages()]
    (purelib / "zz_shared_dependencies.pth").write_text("\n".join(dict.fromkeys(shared)) + "\n")
    return prefix


def test_the_wheel_installs_without_node_and_runs_a_job_with_no_config(
    fresh_venv: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    path = str(fresh_venv / "bin")
    assert shutil.which("node", path=path) is None
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("JUPYTER", "PYTHON", "VIRTUAL_ENV"))
    }
    env.update(HOME=str(home), PATH=path)
    python = fresh_venv / "bin" / "python"

    # Run from the fresh home: the checkout's own package must not be on the path.
    where = run(
        python, "-c", "import jupyterlab_jobs; print(jupyterlab_jobs.__file__)", env=env, cwd=home
    )
    assert Path(where.strip()).is_relative_to(fresh_venv), where
    extensions = subprocess.run(
        [python, "-m", "jupyterlab.labextensions", "list"],
        env=env, cwd=home, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    listed = extensions.stdout + extensions.stderr
    assert str(fresh_venv / "share" / "jupyter" / "labextensions") in listed, listed
    assert "jupyterlab-jobs v" in listed and "enabled" in listed and "OK" in listed, listed

    port = free_port()
    allow_root = ["--allow-root"] if os.getuid() == 0 else []
    log = (tmp_path / "server.log").open("wb")
    server = subprocess.Popen(
        [python, "-m", "jupyter_server", "--no-browser", f"--port={port}", *allow_root],
        env=env, cwd=home, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        token = wait_for_token(home, server, tmp_path / "server.log")
        base = f"http://127.0.0.1:{port}/jupyterlab-jobs/"

        def call(method: str, path: str, body: Any = None) -> Any:
            request = urllib.request.Request(
                base + path,
                data=None if body is None else json.dumps(body).encode(),
                method=method,
                headers={"Authorization": f"token {token}"},
            )
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                return json.loads(raw) if "json" in response.headers["Content-Type"] else raw

        options = call("GET", "options")
        assert options["default_setup"] is True
        (group,) = options["groups"]
        job = call(
            "POST",
            "jobs",
            {
                "name": "first job",
                "group": group["name"],
                "instance_type": group["instance_types"][0],
                "image": group["images"][0],
                "command": 'python -c "import sys; print(sys.prefix)"',
            },
        )
        end = time.monotonic() + 60
        while job["status"] not in FINAL:
            assert time.monotonic() < end, job
            time.sleep(0.2)
            job = call("GET", f"jobs/{job['id']}")
        assert job["status"] == "Succeeded", job
        assert call("GET", f"jobs/{job['id']}/logs").decode().strip() == str(fresh_venv)
        data_dir = home / ".local" / "share" / "jupyter" / "jupyterlab-jobs"
        assert (data_dir / "projects" / group["name"]).is_dir()
    finally:
        server.terminate()
        server.wait(30)
        log.close()


def wait_for_token(home: Path, server: subprocess.Popen[bytes], log: Path) -> str:
    """The token the server wrote to its runtime file (nothing was configured)."""
    runtime = home / ".local" / "share" / "jupyter" / "runtime"
    end = time.monotonic() + 90
    while True:
        for info in runtime.glob("jpserver-*.json"):
            try:
                return str(json.loads(info.read_text())["token"])
            except ValueError:
                pass  # being written
        assert server.poll() is None and time.monotonic() < end, log.read_text()[-4000:]
        time.sleep(0.2)

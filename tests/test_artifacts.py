"""Artifacts: what a job leaves in $HOME/artifacts is listed and downloaded, on both
backends (Kubernetes: the fake cluster, with a temporary directory standing in for the
artifacts volume that the pods and the server both mount)."""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from factories import secret_job
from fake_k8s import FakeCluster
from test_backend_contract import api, backend_name, cluster, jobs_settings  # noqa: F401

from jupyterlab_jobs.backends.collect import collect
from jupyterlab_jobs.models import SUCCEEDED

NUMBERS = "".join(f"{i}\n" for i in range(1, 20001)).encode()
BINARY = bytes(range(256)) * 1200  # 307200 bytes
WRITE_ARTIFACTS = (
    "mkdir -p artifacts/nested/deeper && cd artifacts"
    " && printf hello > a.txt"
    " && seq 1 20000 > nested/deeper/numbers.txt"
    " && python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(256)) * 1200)' > big.bin"
    " && ln -s /etc/passwd passwd-link && ln -s .. up && ln -s nested nested-link"
    " && mkfifo pipe"
)


@pytest.fixture
def extra_settings(cluster: FakeCluster | None) -> dict[str, dict[str, Any]]:  # noqa: F811
    settings: dict[str, dict[str, Any]] = {"Backend": {"max_artifact_bytes": 200_000}}
    if cluster is not None:
        settings["KubernetesBackend"] = {
            "artifacts_pvc": "artifacts",
            "artifacts_root": str(cluster.pvc_dir("artifacts")),
        }
    return settings


async def _raw_get(
    http_server_client: Any, jp_base_url: str, jp_auth_header: dict[str, str], path: str
) -> Any:
    """GET a path exactly as written (jp_fetch would escape ``%2F`` and ``..``)."""
    return await http_server_client.fetch(
        f"{jp_base_url.rstrip('/')}/jupyterlab-jobs/{path}",
        headers=jp_auth_header,
        raise_error=False,
    )


async def test_artifacts_are_listed_and_downloaded(
    api: Any,  # noqa: F811
    jobs_app: Any,
    backend_name: str,  # noqa: F811
    http_server_client: Any,
    jp_base_url: str,
    jp_auth_header: dict[str, str],
) -> None:
    job = await api.submit(WRITE_ARTIFACTS, image="python")
    done = await api.wait(job["id"])
    assert done["status"] == SUCCEEDED, done
    listing = await api.call("GET", f"jobs/{job['id']}/artifacts")
    listed = {entry["path"]: entry["size"] for entry in listing["artifacts"]}
    assert listing["available"] is True
    for entry in listing["artifacts"]:
        assert abs(entry["modified"] - time.time()) < 120
    if backend_name == "local":  # the supervisor applies the limit as it keeps them
        assert listed == {"a.txt": 5, "nested/deeper/numbers.txt": len(NUMBERS)}
        omitted = {entry["path"]: entry["reason"] for entry in listing["omitted"]}
        assert omitted == {
            "big.bin": "over the size limit",
            "nested-link": "a symbolic link",
            "passwd-link": "a symbolic link",
            "pipe": "not a regular file",
            "up": "a symbolic link",
        }
        assert listing["truncated"] is True
        assert listing["message"].startswith("5 file(s) were not kept")
        assert "200000 bytes" in listing["message"]
    else:  # on the volume: the links and the FIFO are there, but never listed or served;
        # the limit applies to what is listed and served.
        assert listed == {"a.txt": 5, "nested/deeper/numbers.txt": len(NUMBERS)}
        assert listing["omitted"] == [
            {"path": "big.bin", "size": len(BINARY), "reason": "over the size limit"}
        ]
        assert listing["truncated"] is True
        assert listing["message"].startswith("1 file(s) were not kept")
        big = await api.call("GET", f"jobs/{job['id']}/artifacts/big.bin", expect=404)
        assert "over the size limit of 200000 bytes" in big["message"]
    for path, content in (("a.txt", b"hello"), ("nested/deeper/numbers.txt", NUMBERS)):
        response = await api.raw("GET", f"jobs/{job['id']}/artifacts/{path}")
        assert response.code == 200, response.body
        assert response.body == content, path
        assert response.headers["Content-Type"] == "application/octet-stream"
        name = path.rsplit("/", 1)[-1]
        assert response.headers["Content-Disposition"] == f"attachment; filename*=UTF-8''{name}"

    async def status(path: str) -> tuple[int, str]:
        response = await _raw_get(
            http_server_client, jp_base_url, jp_auth_header, f"jobs/{job['id']}/artifacts/{path}"
        )
        return response.code, json.loads(response.body)["message"]

    # Escapes: dot parts and absolute paths are refused as such; links are not followed.
    for path in ("..%2F..%2Fspec.json", "nested/..%2F..%2Foutput.log", "%2Fetc%2Fpasswd"):
        code, message = await status(path)
        assert code == 400 and "must be relative" in message, (path, code, message)
    for path in (
        "passwd-link",
        "up/output.log",
        "nested-link/deeper/numbers.txt",
        "pipe",
        "nested",
    ):
        code, message = await status(path)
        assert code == 404 and "no artifact" in message, (path, code, message)
    for path in ("../output.log", "nested/../../output.log"):  # raw dots in the URL
        code, _ = await status(path)
        assert code in (400, 404), (path, code)
    # Retention removes them with the logs: 410, and the files are gone.
    artifacts_dir = jobs_app.backend.artifacts_dir(jobs_app.store.get(job["id"]))
    assert artifacts_dir.is_dir()
    await asyncio.to_thread(jobs_app.service.apply_retention, time.time() + 10**7)
    assert not artifacts_dir.exists()
    for path in ("artifacts", "artifacts/a.txt"):
        gone = await api.call("GET", f"jobs/{job['id']}/{path}", expect=410)
        assert "removed with its logs" in gone["message"]


async def test_other_groups_jobs_have_no_artifacts_or_usage(api: Any, jobs_app: Any) -> None:  # noqa: F811
    jobs_app.store.insert(secret_job("secret-job"))
    for path in ("artifacts", "artifacts/a.txt", "usage"):
        answer = await api.call("GET", f"jobs/secret-job/{path}", expect=404)
        assert "No job with id" in answer["message"]


@pytest.mark.parametrize("backend_name", ["kubernetes"])
@pytest.mark.parametrize("extra_settings", [{"KubernetesBackend": {"usage_interval_seconds": 0.2}}])
async def test_without_a_volume_kubernetes_says_artifacts_are_not_kept(api: Any) -> None:  # noqa: F811
    job = await api.submit("mkdir artifacts && echo x > artifacts/x")
    await api.wait(job["id"])
    listing = await api.call("GET", f"jobs/{job['id']}/artifacts")
    assert listing["available"] is False and listing["artifacts"] == []
    assert listing["message"] == "Artifacts are not kept on this installation"
    missing = await api.call("GET", f"jobs/{job['id']}/artifacts/x", expect=404)
    assert missing["message"] == "Artifacts are not kept on this installation"
    usage = await api.call("GET", f"jobs/{job['id']}/usage")
    assert usage["available"] is False and "not recorded" in usage["message"]


def test_the_artifacts_volume_is_mounted_with_the_jobs_subpath() -> None:
    from test_k8s_manifests import spec as spec_for  # the manifest tests' job spec

    from jupyterlab_jobs.backends.kubernetes import manifests

    spec = spec_for()
    manifest = manifests.job_manifest(spec, manifests.ManifestSettings(artifacts_pvc="keep"))
    pod = manifest["spec"]["template"]["spec"]
    assert {"name": "artifacts", "persistentVolumeClaim": {"claimName": "keep"}} in pod["volumes"]
    mounts = pod["containers"][0]["volumeMounts"]
    assert {
        "name": "artifacts",
        "mountPath": "/home/jovyan/artifacts",
        "subPath": spec.job.id,
    } in mounts
    plain = manifests.job_manifest(spec, manifests.ManifestSettings())
    assert "artifacts" not in json.dumps(plain["spec"]["template"]["spec"]["volumes"])


@pytest.mark.parametrize("backend_name", ["local"])
async def test_folders_nested_too_deep_are_not_kept(api: Any) -> None:  # noqa: F811
    deep = "/".join(["d"] * 40)
    job = await api.submit(f"mkdir -p artifacts/{deep} && echo x > artifacts/{deep}/f")
    done = await api.wait(job["id"])
    assert done["status"] == SUCCEEDED, done
    listing = await api.call("GET", f"jobs/{job['id']}/artifacts")
    assert listing["artifacts"] == []
    (omitted,) = listing["omitted"]
    assert omitted["reason"] == "nested too deep"
    assert omitted["path"] == "/".join(["d"] * 33)  # the 33rd level and below


def _job_home(root: Path) -> Path:
    """A finished job's home: files, a nested folder, links, a FIFO, a big file."""
    home = root / "home"
    (home / "artifacts" / "nested" / "deeper").mkdir(parents=True)
    (home / "artifacts" / "a.txt").write_bytes(b"hello")
    (home / "artifacts" / "big.bin").write_bytes(BINARY)
    (home / "artifacts" / "nested" / "deeper" / "numbers.txt").write_bytes(NUMBERS)
    (home / "artifacts" / "passwd-link").symlink_to("/etc/passwd")
    (home / "artifacts" / "up").symlink_to("..")
    os.mkfifo(home / "artifacts" / "pipe")
    return home


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file() and not path.is_symlink()
    }


def test_artifacts_from_a_home_on_another_file_system_are_copied_alike(tmp_path: Path) -> None:
    moved = collect(str(_job_home(tmp_path / "same")), str(tmp_path / "kept-moved"), 200_000)
    with tempfile.TemporaryDirectory(dir="/dev/shm") as other:
        home = _job_home(Path(other))
        assert os.stat(home).st_dev != os.stat(tmp_path).st_dev, "not another file system"
        copied = collect(str(home), str(tmp_path / "kept-copied"), 200_000)
    assert copied == moved
    assert {entry["path"] for entry in copied["omitted"]} == {
        "big.bin",
        "passwd-link",
        "pipe",
        "up",
    }
    kept = _tree(tmp_path / "kept-copied")
    assert kept == _tree(tmp_path / "kept-moved")
    assert kept == {"a.txt": b"hello", "nested/deeper/numbers.txt": NUMBERS}
    assert not any(path.is_symlink() for path in (tmp_path / "kept-copied").rglob("*"))

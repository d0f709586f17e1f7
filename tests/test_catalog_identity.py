"""The catalog's validation and the group providers."""

from __future__ import annotations

import getpass
import grp
import json
import pwd
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from jupyterlab_jobs.catalog import Catalog, parse_memory
from jupyterlab_jobs.identity import (
    JupyterHubGroupsProvider,
    StaticGroupsProvider,
    UnixGroupsProvider,
)
from jupyterlab_jobs.models import human_duration

EMPTY: dict[str, list[dict[str, Any]]] = {
    "groups": [],
    "instance_types": [],
    "images": [],
    "datasets": [],
}


@pytest.mark.parametrize(
    ("quantity", "expected"),
    [("512Mi", 512 * 2**20), ("2Gi", 2 * 2**30), ("1G", 10**9), ("1.5Gi", 3 * 2**29), (1024, 1024)],
)
def test_parse_memory(quantity: str | int, expected: int) -> None:
    assert parse_memory(quantity) == expected


@pytest.mark.parametrize("quantity", ["64 gigs", "", "-1Gi", "0", "Gi", True])
def test_parse_memory_rejects_nonsense(quantity: Any) -> None:
    with pytest.raises(ValueError):
        parse_memory(quantity)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (604800, "7 days"),  # the default log retention
        (86400, "1 day"),
        (129600, "1 day 12h"),
        (90061, "1 day 1h1m1s"),
        (172830, "2 days 30s"),
        (86399, "23h59m59s"),
        (90, "1m30s"),
        (2, "2s"),
        (0, "0s"),
        (3600, "1h"),
    ],
)
def test_human_duration(seconds: int, text: str) -> None:
    assert human_duration(seconds) == text


def test_catalog_from_config_and_file(tmp_path: Path) -> None:
    extra = tmp_path / "catalog.yaml"
    extra.write_text("images:\n  - name: extra\n    description: from the file\n")
    catalog = Catalog.load(
        groups=[{"name": "team", "instance_types": ["small"], "images": ["base", "extra"]}],
        instance_types=[{"name": "small", "cpu": 0.5, "memory": "256Mi"}],
        images=[{"name": "base"}],
        datasets=[],
        catalog_file=str(extra),
    )
    assert [i.name for i in catalog.images] == ["base", "extra"]
    team = catalog.group("team")
    assert team is not None and team.display_name == "team"
    small = catalog.instance_type("small")
    assert small is not None and small.memory_bytes == 256 * 2**20 and small.cpu_slots == 1


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"groups": [{"name": "g", "images": ["nope"]}]}, "unknown images"),
        ({"images": [{"name": "a"}, {"name": "a"}]}, "duplicate names"),
        ({"instance_types": [{"name": "x", "memory": "lots"}]}, "not a quantity"),
        ({"instance_types": [{"name": "x", "cpu": 0}]}, "greater than 0"),
        ({"groups": [{"name": "bad name!"}]}, "should match pattern"),
        ({"images": [{"name": "a", "colour": "red"}]}, "Extra inputs"),
    ],
)
def test_catalog_mistakes_are_clear_startup_errors(data: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        Catalog.load(**{**EMPTY, **data})


def test_static_provider_merges_mapping_wildcard_and_catalog_users() -> None:
    provider = StaticGroupsProvider(user_groups={"ann": ["a"], "*": ["everyone"]})
    provider.catalog_users = {"b": ["ann"], "c": ["*"], "d": ["ben"]}
    assert provider.groups_for("ann") == ["a", "b", "c", "everyone"]
    assert provider.groups_for("zed") == ["c", "everyone"]


def test_unix_provider_reads_the_user_groups() -> None:
    user = getpass.getuser()
    primary = grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name
    assert primary in UnixGroupsProvider().groups_for(user)
    assert UnixGroupsProvider().groups_for("no-such-user-here") == []


@pytest.fixture
def fake_hub() -> Iterator[str]:
    class Hub(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.headers.get("Authorization") != "token secret":
                self.send_response(403)
                self.end_headers()
                return
            if self.path == "/hub/api/users/ann":
                body = json.dumps({"name": "ann", "groups": ["b", "a"]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_response(404)
                self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hub/api"
    server.shutdown()
    server.server_close()


def test_jupyterhub_provider_asks_the_hub(fake_hub: str) -> None:
    provider = JupyterHubGroupsProvider(hub_api_url=fake_hub, api_token="secret")
    assert provider.groups_for("ann") == ["a", "b"]
    assert provider.groups_for("unknown") == []
    assert JupyterHubGroupsProvider(hub_api_url=fake_hub, api_token="wrong").groups_for("ann") == []
    assert JupyterHubGroupsProvider(hub_api_url="").groups_for("ann") == []

"""Which groups a caller administers, from the scopes the hub reports for their token;
what a tick learns of its owner's groups when the hub cannot be asked."""

from __future__ import annotations

import pytest
from server_process import free_port

from jupyterlab_jobs.errors import Unavailable
from jupyterlab_jobs.hub.identity import HubGroupsProvider, admin_groups


def test_admin_groups_come_from_the_custom_scope_and_its_group_filters() -> None:
    scopes = [
        "access:services!service=jobs",
        "custom:jobs:admin!group=research",
        "custom:jobs:admin!group=ops",
        "custom:jobs:administrator!group=secret",  # another scope, not a filter of ours
        "custom:jobs:admin!user=secret",  # a filter that names no group
        "read:users:groups!group=secret",
    ]
    assert admin_groups(scopes) == ["ops", "research"]
    assert admin_groups(["custom:jobs:admin"]) == ["*"]
    assert admin_groups(["self", "access:services"]) == []


def test_a_tick_with_the_hub_unreachable_gets_a_clear_error_not_stale_groups() -> None:
    provider = HubGroupsProvider(
        hub_api_url=f"http://127.0.0.1:{free_port()}/hub/api", api_token="service-token"
    )
    provider.record("alice", ["research"], [])
    with pytest.raises(Unavailable, match="Could not read the groups of 'alice' from JupyterHub"):
        provider.current_groups_for("alice")
    assert provider.groups_for("alice") == ["research"]  # requests keep their own answer
    assert provider.current_groups_for("service:other") == []  # a service is in no group

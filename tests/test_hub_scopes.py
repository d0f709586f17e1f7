"""Which groups a caller administers, from the scopes the hub reports for their token."""

from __future__ import annotations

from jupyterlab_jobs.hub.identity import admin_groups


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

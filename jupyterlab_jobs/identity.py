"""Who the user is, and which groups they belong to.

A provider answers ``groups_for(user)``; the service intersects the answer with the
catalog, so a group a user is in but no administrator configured is simply not offered.
"""

from __future__ import annotations

import getpass
import grp
import json
import os
import pwd
import urllib.parse
import urllib.request
from typing import Any

from traitlets import Dict, List, Unicode
from traitlets.config import LoggingConfigurable

from .errors import Unavailable, quoted


def default_user() -> str:
    """The job owner when the server is not under JupyterHub: the OS user."""
    return os.environ.get("JUPYTERHUB_USER") or getpass.getuser()


class GroupsProvider(LoggingConfigurable):
    """Base class: return the names of the groups ``user`` belongs to."""

    def groups_for(self, user: str) -> list[str]:
        raise NotImplementedError

    def admin_groups_for(self, user: str) -> list[str]:
        """Groups whose every job ``user`` may see and cancel without being a member."""
        return []

    def current_groups_for(self, user: str) -> list[str]:
        """The groups ``user`` is in now, for work done without a request of theirs (a
        schedule's tick). Providers that answer from a request's identity ask again."""
        return self.groups_for(user)


class StaticGroupsProvider(GroupsProvider):
    """Groups from configuration: ``user_groups`` plus each catalog group's ``users``."""

    user_groups = Dict(
        key_trait=Unicode(),
        value_trait=List(Unicode()),
        default_value={},
        help=(
            "Mapping of user name to the groups they belong to. The key '*' lists groups "
            "every user belongs to. Each catalog group's own `users` list is added."
        ),
    ).tag(config=True)

    catalog_users = Dict(
        help="Filled by JobsApp from the catalog: group name -> users listed on it."
    )

    def groups_for(self, user: str) -> list[str]:
        names = list(self.user_groups.get(user, [])) + list(self.user_groups.get("*", []))
        for group, users in self.catalog_users.items():
            if user in users or "*" in users:
                names.append(group)
        return sorted(set(names))


class UnixGroupsProvider(GroupsProvider):
    """Groups from the operating system: the user's Unix groups (primary and secondary)."""

    def groups_for(self, user: str) -> list[str]:
        try:
            primary = grp.getgrgid(pwd.getpwnam(user).pw_gid).gr_name
        except KeyError:
            return []
        names = {primary}
        names.update(g.gr_name for g in grp.getgrall() if user in g.gr_mem)
        return sorted(names)


class JupyterHubGroupsProvider(GroupsProvider):
    """Groups from JupyterHub's REST API, using the single-user server's API token.

    Needs the token to have the ``read:users:groups`` scope for the user (JupyterHub's
    default for a user's own server).
    """

    hub_api_url = Unicode(
        os.environ.get("JUPYTERHUB_API_URL", ""),
        help="JupyterHub API URL; defaults to $JUPYTERHUB_API_URL.",
    ).tag(config=True)

    api_token = Unicode(
        os.environ.get("JUPYTERHUB_API_TOKEN", ""),
        help="Token for JupyterHub's API; defaults to $JUPYTERHUB_API_TOKEN.",
    ).tag(config=True)

    def groups_for(self, user: str) -> list[str]:
        try:
            return self.ask_hub(user)
        except Unavailable as error:
            self.log.warning("%s; %s has no groups", error.message, user)
            return []

    def ask_hub(self, user: str) -> list[str]:
        """The hub's current answer for ``user``'s groups; ``Unavailable`` if none."""
        if not self.hub_api_url:
            raise Unavailable("No JupyterHub API URL is configured ($JUPYTERHUB_API_URL)")
        url = f"{self.hub_api_url.rstrip('/')}/users/{urllib.parse.quote(user)}"
        request = urllib.request.Request(url, headers={"Authorization": f"token {self.api_token}"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                body: dict[str, Any] = json.load(response)
        except (OSError, ValueError) as error:
            raise Unavailable(
                f"Could not read the groups of {quoted(user)} from JupyterHub: {error}"
            ) from error
        return sorted(str(name) for name in body.get("groups", []))

"""Who calls the jobs service: the hub's answer for the caller's own token.

Nothing in a request but its token is trusted: the user's name, groups and scopes come
from the hub (``HubAuth``), answers are cached per token for ``cache_max_age`` seconds,
and requests that change something (every POST: create, cancel, rerun) ask the hub again,
so a user removed from a group cannot act in it a moment longer.
"""

from __future__ import annotations

import threading
from typing import Any

from jupyter_server.auth.identity import IdentityProvider, User
from jupyterhub.services.auth import HubAuth, check_scopes
from tornado import web
from traitlets import Instance, List, Unicode

from ..identity import JupyterHubGroupsProvider

ADMIN_SCOPE = "custom:jobs:admin"
ALL_GROUPS = "*"
# Requests that only read may use the hub's cached answer; all others ask again.
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# A service acts under a name no user can have (hub user names have no ':').
SERVICE_PREFIX = "service:"


def admin_groups(scopes: list[str]) -> list[str]:
    """The groups a caller administers: ``custom:jobs:admin`` (every group, ``*``) or
    ``custom:jobs:admin!group=<name>`` (that group)."""
    groups = set()
    for scope in scopes:
        if scope == ADMIN_SCOPE:
            groups.add(ALL_GROUPS)
        elif scope.startswith(f"{ADMIN_SCOPE}!group="):
            groups.add(scope.split("=", 1)[1])
    return sorted(groups)


class HubGroupsProvider(JupyterHubGroupsProvider):
    """Each user's groups as the hub last said for one of their requests.

    The identity provider records every answer before the request is handled, so the
    JobService always acts on the groups of the request it serves. Work done without a
    request (a schedule's tick) asks the hub's API with the service's own token, which
    needs the ``read:users:groups`` scope.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._groups: dict[str, tuple[list[str], list[str]]] = {}
        self._lock = threading.Lock()

    def record(self, user: str, groups: list[str], administered: list[str]) -> None:
        with self._lock:
            self._groups[user] = (sorted(groups), administered)

    def groups_for(self, user: str) -> list[str]:
        with self._lock:
            return list(self._groups.get(user, ([], []))[0])

    def admin_groups_for(self, user: str) -> list[str]:
        with self._lock:
            return list(self._groups.get(user, ([], []))[1])

    def current_groups_for(self, user: str) -> list[str]:
        if user.startswith(SERVICE_PREFIX):  # a service is in no group
            return []
        groups = self.ask_hub(user)
        self.record(user, groups, self.admin_groups_for(user))
        return groups


class HubUser(User):
    """A jupyter_server user, as the hub identified it."""


class HubServiceIdentityProvider(IdentityProvider):
    """Identifies each request with the hub, from its token only (no cookies)."""

    hub_auth = Instance(HubAuth, help="Asks the hub whose token a request carries.")
    groups = Instance(HubGroupsProvider, help="Where each user's hub groups are recorded.")
    allowed_services = List(
        Unicode(),
        help="Hub services whose own tokens may call the jobs service. They act under "
        "their service name, in no group: they see and cancel only the jobs of the groups "
        "a custom:jobs:admin scope gives them. Other services' tokens get 403.",
    ).tag(config=True)

    def is_token_authenticated(self, handler: web.RequestHandler) -> bool:
        # Only tokens are accepted (never cookies), so there is no XSRF to check.
        return True

    async def get_user(self, handler: web.RequestHandler) -> User | None:
        token = self.hub_auth.get_token(handler, in_cookie=False)
        if not token:
            raise web.HTTPError(401, "A JupyterHub token is required (Authorization: token ...)")
        fresh = handler.request.method not in READ_METHODS
        model: dict[str, Any] | None = await self.hub_auth.user_for_token(
            token, use_cache=not fresh, sync=False
        )
        if not model:
            raise web.HTTPError(401, "The token is not valid (unknown, expired or revoked)")
        if not check_scopes(self.hub_auth.access_scopes, set(model.get("scopes", []))):
            raise web.HTTPError(
                403, f"The token does not grant {', '.join(sorted(self.hub_auth.access_scopes))}"
            )
        kind = model.get("kind", "user")
        name = str(model.get("name", ""))
        if not name or (kind != "user" and name not in self.allowed_services):
            raise web.HTTPError(403, f"A token of a {kind} may not use the jobs service")
        groups = [str(g) for g in model.get("groups", [])] if kind == "user" else []
        username = name if kind == "user" else f"{SERVICE_PREFIX}{name}"
        self.groups.record(username, groups, admin_groups(list(model.get("scopes", []))))
        return HubUser(username=username)

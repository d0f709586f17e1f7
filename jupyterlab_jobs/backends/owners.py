"""Jobs as their owners' Unix accounts: the local backend under a root jobs service.

Opt-in (``c.LocalBackend.run_as_owner``). A service running as root then runs each job as
the owner's account (``owner_account_template``) with its group's Unix group only
(``group_unix_groups``), in a home of its own outside the service's data directory. Group
directories belong to root and that Unix group, mode 2770: its members' jobs share them,
nobody else enters. The supervisor, its state files and the logs stay root's: the job
gets its log as an open descriptor, never a path it could open.
"""

from __future__ import annotations

import grp
import os
import pwd
import stat
from dataclasses import dataclass
from pathlib import Path

from traitlets import Bool, Dict, Unicode
from traitlets.config import LoggingConfigurable

from .base import BackendError

GROUP_DIR_MODE = 0o2770
HOMES_MODE = 0o711  # enter a home by its (unguessable) name; list none


@dataclass(frozen=True)
class Account:
    """Who a job runs as."""

    name: str
    uid: int
    gid: int


class OwnerAccounts(LoggingConfigurable):
    """The settings and the account lookup; LocalBackend's ``c.LocalBackend.*``."""

    run_as_owner = Bool(
        False,
        help="Run each job as its owner's Unix account, with its group's Unix group "
        "(needs a service running as root). Off: jobs run as the server's own account.",
    ).tag(config=True)

    owner_account_template = Unicode(
        "{user}",
        help="The Unix account of a job's owner: {user} is the JupyterHub user name. "
        "The Littlest JupyterHub creates accounts named jupyter-{user}.",
    ).tag(config=True)

    group_unix_groups = Dict(
        key_trait=Unicode(),
        value_trait=Unicode(),
        help="Catalog group -> the Unix group its jobs run with and its directory belongs "
        "to. A group not listed uses the Unix group of the same name.",
    ).tag(config=True)

    homes_root = Unicode(
        help="With run_as_owner: where jobs' homes are made (root's, mode 0711: a job "
        "enters only its own). Defaults to <data_dir>-homes.",
    ).tag(config=True)

    def account_for(self, user: str, group: str) -> Account:
        """The account and Unix group a job of ``user`` in ``group`` runs with."""
        name = self.owner_account_template.format(user=user)
        unix_group = self.group_unix_groups.get(group, group)
        try:
            uid = pwd.getpwnam(name).pw_uid
        except KeyError:
            raise BackendError(f"There is no Unix account {name!r} for user {user!r}") from None
        try:
            gid = grp.getgrnam(unix_group).gr_gid
        except KeyError:
            raise BackendError(
                f"There is no Unix group {unix_group!r} for group {group!r}"
            ) from None
        if uid == 0 or gid == 0:
            raise BackendError(f"Jobs never run as root ({name!r}, {unix_group!r})")
        return Account(name, uid, gid)


def share_group_dir(path: Path, gid: int) -> None:
    """Give the group directory to root and the job's Unix group, mode 2770 (not
    following a symlink: the caller checked it is a real directory)."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        info = os.fstat(fd)
        if (info.st_uid, info.st_gid) != (0, gid):
            os.fchown(fd, 0, gid)
        if stat.S_IMODE(info.st_mode) != GROUP_DIR_MODE:
            os.fchmod(fd, GROUP_DIR_MODE)
    finally:
        os.close(fd)


def make_homes_root(path: Path) -> None:
    """The directory of jobs' homes: root's, 0711, never a symlink."""
    path.mkdir(parents=True, exist_ok=True)
    info = os.lstat(path)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise BackendError(f"{path} (homes_root) must be a directory of this service's account")
    if stat.S_IMODE(info.st_mode) != HOMES_MODE:
        os.chmod(path, HOMES_MODE)

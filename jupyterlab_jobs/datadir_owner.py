"""A standalone data_dir belongs to one OS user: refuse one that another OS user owns.

In standalone mode every job runs as the server's OS user, and so can read and change
everything that user can, including the whole data_dir (the job database, other groups'
logs and directories). Servers of different OS users on one data_dir would give each
user's jobs the other's data; such a setup needs the JupyterHub service mode, where jobs
run as their owners' accounts.
"""

from __future__ import annotations

import os
import pwd
from pathlib import Path

# The entries whose owner tells which OS user's servers use the data_dir: the directory
# (created by the first server, mode 0700) and the job database.
OWNED = ("", "jobs.sqlite")


class DataDirOfAnotherUser(RuntimeError):
    """The data_dir (or its job database) belongs to another OS user than the server's."""


def _describe(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def check_data_dir_owner(data_dir: Path) -> None:
    """Raise DataDirOfAnotherUser unless the server's OS user owns the data_dir."""
    uid = os.geteuid()
    for name in OWNED:
        path = data_dir / name if name else data_dir
        try:
            owner = path.stat(follow_symlinks=not name).st_uid
        except FileNotFoundError:
            continue
        if owner != uid:
            raise DataDirOfAnotherUser(
                f"{path} belongs to {_describe(owner)}, but this server runs as "
                f"{_describe(uid)}. In standalone mode every job runs as the server's OS user "
                "and can read everything in the data_dir, so a data_dir serves one OS user "
                "(one person or a trusted team) only. Give this server a data_dir of its own "
                "(c.JobsApp.data_dir); groups of different OS users need the JupyterHub "
                "service mode, where jobs run as their owners' accounts (see the README's "
                "Security section)."
            )

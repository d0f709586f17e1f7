"""The job store: SQLAlchemy Core over SQLite (default) or PostgreSQL, migrated by alembic.

- ``schema``: the table and its indexes;
- ``engine``: connecting (SQLite pragmas, WAL, network filesystems, hidden passwords);
- ``migrate``: alembic migrations (``migrations/``), at start-up and by ``upgrade-db``;
- ``core``: the ``Store`` and its queries.
"""

from . import migrate
from .core import Store, decode_cursor, encode_cursor, sqlite_url
from .engine import DatabaseError

__all__ = ["DatabaseError", "Store", "decode_cursor", "encode_cursor", "migrate", "sqlite_url"]

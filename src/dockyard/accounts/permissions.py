"""Permissions: `service.action` codenames that services declare in code and the database stores.

`Permission` itself lives in core.services (it is part of what a service declares).

Declared permissions are upserted at startup (`sync`); groups hold them; superusers pass every check.
"""

from __future__ import annotations

from collections.abc import Iterable

from dockyard.accounts.auth import ACCOUNTS_ADMIN as ACCOUNTS_ADMIN
from dockyard.core.db import Connection
from dockyard.core.services import Permission

SYNC = """
INSERT INTO accounts.permissions (codename, description)
SELECT * FROM unnest($1::text[], $2::text[])
ON CONFLICT (codename) DO UPDATE SET description = excluded.description
WHERE accounts.permissions.description IS DISTINCT FROM excluded.description
"""


async def sync(conn: Connection, permissions: Iterable[Permission]) -> int:
    """Upsert declared permissions (never deletes: grants of a service not mounted here stay)."""
    declared = {permission.codename: permission.description for permission in permissions}
    if declared:
        await conn.execute(SYNC, list(declared), list(declared.values()))
    return len(declared)

"""The gateway's permissions, the scope codenames of API tokens, and the admin caller type."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from dockyard.accounts.auth import Principal, require
from dockyard.core.services import Permission
from dockyard.gateway.rights import SCOPE_CODENAMES, Level

ADMIN = Permission("gateway.admin", "Manage gateway grants and read the gateway's audit log")
CREATE_FEED = Permission("gateway.create_feed", "Create Lbasedb feeds (the creator gets admin on each)")
# An API token whose scope lists none of these has no data rights; one listing them is capped at the
# highest. Accounts lets a token carry only permissions its owner holds: give these to the groups
# whose members should be able to narrow tokens this way (superusers always can).
SCOPES = (
    Permission(SCOPE_CODENAMES[Level.READ], "API-token scope: gateway data rights up to read"),
    Permission(SCOPE_CODENAMES[Level.APPEND], "API-token scope: gateway data rights up to append"),
    Permission(SCOPE_CODENAMES[Level.WRITE], "API-token scope: gateway data rights up to write"),
    Permission(SCOPE_CODENAMES[Level.ADMIN], "API-token scope: gateway data rights up to admin"),
)

Admin = Annotated[Principal, Depends(require(ADMIN.codename))]

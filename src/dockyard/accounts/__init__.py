"""accounts: users, email verification, JWT sessions, groups and permissions, API tokens.

Every service authenticates through this package: `current_user`, `optional_user` and
`require("service.action")` in `dockyard.accounts.auth`. Routes live under /accounts/v1.
"""

from __future__ import annotations

from dockyard.accounts import routes
from dockyard.accounts.auth import ACCOUNTS_ADMIN
from dockyard.accounts.commands import group_app, mail_app, user_app
from dockyard.core.services import Link, Service

service = Service(
    name="accounts",
    title="Accounts",
    description="Users, email verification, sessions, groups, permissions and API tokens for every service.",
    router=routes.router,
    prefix="/accounts",
    links=(Link("API", "/docs#/accounts"),),
    permissions=(ACCOUNTS_ADMIN,),
    commands={"user": user_app, "group": group_app, "mail": mail_app},
)

__all__ = ["service"]

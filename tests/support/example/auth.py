"""What the example service lets people do, and the caller types its routes declare."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from dockyard.accounts.auth import Principal, require
from dockyard.core.services import Permission

VIEW = Permission("example.view", "See the groups")

Viewer = Annotated[Principal, Depends(require(VIEW.codename))]

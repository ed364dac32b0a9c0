"""/accounts/v1: identity (registration, login, passwords), the caller's account, administration."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from dockyard.accounts.routes import admin, identity, me
from dockyard.accounts.routes.context import no_store

router = APIRouter(dependencies=[Depends(no_store)])
router.include_router(identity.router)
router.include_router(me.router)
router.include_router(admin.router)

__all__ = ["router"]

"""/accounts/v1: identity (registration, login, passwords), the caller's account, administration."""

from __future__ import annotations

from fastapi import APIRouter

from dockyard.accounts.routes import admin, identity, me

router = APIRouter()
router.include_router(identity.router)
router.include_router(me.router)
router.include_router(admin.router)

__all__ = ["router"]

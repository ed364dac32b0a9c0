"""The mentorship API, served identically at /mentorship/ and /mentorship/v1/."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.routing import APIRoute

from dockyard.mentorship.routes import account, admin, relations, tasks, users

api = APIRouter()
for module in (account, users, relations, tasks, admin):
    api.include_router(module.router)


def _unversioned_id(route: APIRoute) -> str:
    return f"mentorship_{route.name}_{'_'.join(sorted(route.methods or ())).lower()}"


def _v1_id(route: APIRoute) -> str:
    return f"mentorship_v1_{route.name}_{'_'.join(sorted(route.methods or ())).lower()}"


router = APIRouter()
router.include_router(api, tags=["mentorship"], generate_unique_id_function=_unversioned_id)
router.include_router(api, prefix="/v1", tags=["mentorship v1"], generate_unique_id_function=_v1_id)

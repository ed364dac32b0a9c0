"""example: the smallest service built on the template (docs/ADDING_A_SERVICE.md).

It greets the caller and lists accounts' groups. Its test, tests/core/test_example_service.py, mounts
it the way `app.create_app` mounts a real one.
"""

from __future__ import annotations

from dockyard.core.services import Link, Service
from tests.support.example import routes
from tests.support.example.auth import VIEW
from tests.support.example.commands import example_app
from tests.support.example.settings import ExampleSettings

service = Service(
    name="example",
    title="Example",
    description="The smallest Dockyard service: a greeting and the list of groups.",
    router=routes.router,
    prefix="/example",
    links=(Link("API", "/docs#/example"),),
    permissions=(VIEW,),
    settings=ExampleSettings,
    commands={"example": example_app},
)

__all__ = ["service"]

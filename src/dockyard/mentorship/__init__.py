"""mentorship: the AnitaB.org mentorship-backend API on Dockyard accounts (docs/mentorship.md).

Served at /mentorship/ and, identically, /mentorship/v1/. Users are accounts users with a
mentorship profile; errors are `{"message": ...}`; the daily jobs run once per slot across workers.
"""

from __future__ import annotations

from dockyard.core.services import Link, Service
from dockyard.mentorship import jobs, routes, seed
from dockyard.mentorship.commands import mentorship_app
from dockyard.mentorship.errors import MESSAGE_STYLE
from dockyard.mentorship.settings import MentorshipSettings

service = Service(
    name="mentorship",
    title="Mentorship",
    description="The mentorship programme: users, relations, tasks, comments and admins.",
    router=routes.router,
    prefix="/mentorship",
    links=(Link("API", "/docs#/mentorship"),),
    error_style=MESSAGE_STYLE,
    lifespan=jobs.lifespan,
    seeder=seed.seed,
    settings=MentorshipSettings,
    commands={"mentorship": mentorship_app},
)

__all__ = ["service"]

"""`dockyard mentorship …`: run the daily jobs by hand (from cron, or to catch up)."""

from __future__ import annotations

import asyncpg
import typer

from dockyard.core.commands import print_json, run_with_database_url
from dockyard.mentorship import jobs
from dockyard.mentorship.settings import MentorshipSettings

mentorship_app = typer.Typer(help="The mentorship programme.", no_args_is_help=True)


@mentorship_app.callback()
def mentorship() -> None:
    """The mentorship programme's commands."""


@mentorship_app.command("jobs")
def run_jobs() -> None:
    """Run the daily jobs whose latest slot has not run yet (once across every worker and replica)."""

    async def work(url: str) -> dict[str, int]:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        try:
            return await jobs.run_due(pool, MentorshipSettings())
        finally:
            await pool.close()

    ran = run_with_database_url(work)
    print_json({"ran": ran})

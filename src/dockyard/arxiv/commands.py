"""`dockyard arxiv …`: search from the command line (with a progress bar), load legacy data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import asyncpg
import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from dockyard.arxiv import jobs
from dockyard.arxiv.client import ArxivClient
from dockyard.arxiv.legacy import load_legacy
from dockyard.arxiv.models import SearchCreate
from dockyard.arxiv.settings import ArxivSettings
from dockyard.arxiv.syntax import QuerySyntaxError
from dockyard.core.commands import CommandError, fail, print_json, run_on_database, run_with_database_url
from dockyard.core.config import get_settings
from dockyard.core.db import open_database
from dockyard.core.errors import DockyardError

arxiv_app = typer.Typer(help="arXiv: search and record, load legacy data.", no_args_is_help=True)
err = Console(stderr=True)

FIELD_OPTIONS = {
    "title": "ti",
    "author": "au",
    "abstract": "abs",
    "comment": "co",
    "journal": "jr",
    "category": "cat",
    "report": "rn",
    "any_field": "all",
}


@arxiv_app.callback()
def arxiv() -> None:
    """The arxiv service."""


@arxiv_app.command("search")
def search(
    title: Annotated[str | None, typer.Option(help="Words of the title (all must appear).")] = None,
    author: Annotated[str | None, typer.Option(help="An author's name.")] = None,
    abstract: Annotated[str | None, typer.Option(help="Words of the abstract.")] = None,
    comment: Annotated[str | None, typer.Option(help="Words of the comment.")] = None,
    journal: Annotated[str | None, typer.Option(help="Words of the journal reference.")] = None,
    category: Annotated[str | None, typer.Option(help="An arXiv category, e.g. hep-th.")] = None,
    report: Annotated[str | None, typer.Option(help="A report number.")] = None,
    any_field: Annotated[str | None, typer.Option("--all", help="Words of any field.")] = None,
    query: Annotated[
        str | None,
        typer.Option(help="A raw query in arXiv's syntax, e.g. 'au:bengio AND ti:\"deep learning\"'."),
    ] = None,
    arxiv_id: Annotated[
        list[str] | None, typer.Option("--id", help="An arXiv id (repeat for several).")
    ] = None,
    start: Annotated[int, typer.Option(min=0, help="0-based index of the first result.")] = 0,
    max_results: Annotated[int | None, typer.Option(min=1, help="Results to fetch (default 10).")] = None,
    sort_by: Annotated[str, typer.Option(help="relevance, lastUpdatedDate or submittedDate.")] = "relevance",
    sort_order: Annotated[str, typer.Option(help="ascending or descending.")] = "descending",
    as_json: Annotated[bool, typer.Option("--json", help="Print the finished job as JSON.")] = False,
) -> None:
    """Search arXiv now and record the query and its papers; a progress bar follows each slice."""
    fields = {
        "title": title,
        "author": author,
        "abstract": abstract,
        "comment": comment,
        "journal": journal,
        "category": category,
        "report": report,
        "any_field": any_field,
    }
    terms = [{"field": FIELD_OPTIONS[name], "value": value} for name, value in fields.items() if value]
    if terms and query:
        raise fail("give field options (--title, --author, …) or --query, not both")
    body: dict[str, object] = {
        "id_list": arxiv_id or [],
        "start": start,
        "max_results": max_results,
        "sort_by": sort_by,
        "sort_order": sort_order,
    }
    if terms:
        body["query"] = {"op": "AND", "items": terms}
    elif query:
        body["search_query"] = query
    try:
        request = SearchCreate.model_validate(body).request()
    except ValidationError as exc:
        problems = (f"{'.'.join(map(str, error['loc']))}: {error['msg']}" for error in exc.errors())
        raise fail("; ".join(problems), 2) from exc
    except QuerySyntaxError as exc:
        raise fail(str(exc), 2) from exc
    settings = ArxivSettings()
    err.print(f"[bold]search[/] {request.canonical()}", highlight=False)

    async def work(url: str) -> dict[str, object]:
        database = await open_database(url, get_settings())
        client = ArxivClient(settings, database.primary)
        worker = jobs.worker_name()
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
        try:
            async with database.primary.acquire() as conn:
                job_id = await jobs.create(
                    conn, request=request, user_id=None, page_size=settings.page_size, worker=worker
                )
            with Progress(*columns, console=err) as bar:
                task = bar.add_task(f"job {job_id}", total=len(request.slices(settings.page_size)))

                def show(progress: jobs.Progress) -> None:
                    total = "?" if progress.total_results is None else f"{progress.total_results:,}"
                    bar.update(
                        task,
                        completed=progress.slices_done,
                        total=progress.slices_total,
                        description=f"job {job_id}: {progress.entries_done:,} of {total} results",
                    )

                try:
                    stored = await jobs.execute(
                        database.primary,
                        client,
                        jobs.Job(job_id, None, request),
                        worker=worker,
                        page_size=settings.page_size,
                        on_progress=show,
                    )
                except DockyardError as exc:
                    raise CommandError(f"job {job_id} failed (HTTP {exc.status}): {exc.detail}") from exc
            await jobs.fill_text_index(database.primary)
            return {
                "job_id": job_id,
                "query_id": stored.id,
                "total_results": stored.total_results,
                "entries": stored.entries,
            }
        finally:
            await client.aclose()
            await database.close()

    done = run_with_database_url(work)
    if as_json:
        print_json(done)
    else:
        typer.echo(
            f"query {done['query_id']}: {done['entries']} papers stored of {done['total_results']} "
            f"matching (job {done['job_id']})"
        )


@arxiv_app.command("load-legacy")
def load(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="INSERT statements into queries/results.")
    ],
) -> None:
    """Load the legacy system's queries and results (its INSERT statements) into schema arxiv."""
    sql = file.read_text(encoding="utf-8")

    async def work(conn: asyncpg.Connection) -> tuple[int, int]:
        loaded = await load_legacy(conn, sql)
        return loaded.queries, loaded.results

    queries, results = run_on_database(work)
    typer.echo(f"loaded {queries} queries and {results} results")

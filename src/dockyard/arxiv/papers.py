"""The arxiv service's SQL for papers: browse with filters, one paper, a query's papers, exports.

Browsing is ordered by publication time then id, both ways stable; a page comes with a cursor
(`next_cursor`: the last row's publication time in microseconds and its id) that continues in one
index probe, and with the exact total when asked (`count`: a pass over every match, so opt-in).
Text search uses the `search_text` tsvector (titles weigh more than abstracts) and authors the
`author_text` one, both under GIN. `search_text` is filled after a search commits; until then a
paper's tsvector is computed on the fly (such rows are few and listed by a partial index).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from dockyard.arxiv.queries import Filters, utc
from dockyard.arxiv.store import SEARCH_TEXT
from dockyard.core.db import Connection
from dockyard.core.errors import BadInput

PAPER_FIELDS = f"""
    'id', p.id, 'arxiv_id', p.arxiv_id, 'version', p.version, 'title', p.title, 'abstract', p.abstract,
    'authors', p.authors, 'categories', p.categories, 'primary_category', p.primary_category,
    'doi', p.doi, 'journal_ref', p.journal_ref, 'comment', p.comment,
    'published', {utc("p.published")}, 'updated', {utc("p.updated")},
    'abs_url', p.abs_url, 'pdf_url', p.pdf_url, 'doi_url', p.doi_url,
    'first_seen_at', {utc("p.first_seen_at")}"""
PAPER_JSON = f"json_build_object({PAPER_FIELDS})"

# Papers whose tsvector is stored, and papers stored since whose tsvector is not yet.
TEXT_MATCH = (
    "(p.search_text @@ websearch_to_tsquery('english', {0}) OR (p.search_text IS NULL AND ("
    + SEARCH_TEXT.format(p="p.")
    + ") @@ websearch_to_tsquery('english', {0})))"
)

CURSOR = re.compile(r"(-?\d{1,18})\.(\d{1,19})")


class PaperOrder(StrEnum):
    """How papers are ordered: newest first (default), oldest first, or a query's rank."""

    newest = "-published"
    oldest = "published"
    rank = "rank"


ORDER_INNER = {
    PaperOrder.newest: "p.published DESC, p.id DESC",
    PaperOrder.oldest: "p.published, p.id",
    PaperOrder.rank: "qr.rank",
}
ORDER_OUTER = {**ORDER_INNER, PaperOrder.rank: "p.rank"}
PAPER_COLUMNS = (
    "p.id, p.arxiv_id, p.version, p.title, p.abstract, p.authors, p.categories, p.primary_category, "
    "p.doi, p.journal_ref, p.comment, p.published, p.updated, p.abs_url, p.pdf_url, p.doi_url, "
    "p.first_seen_at, p.author_names"
)


@dataclass(frozen=True)
class PaperFilter:
    """Which stored papers to list."""

    query_id: int | None = None
    author: str | None = None
    category: str | None = None
    text: str | None = None
    published_from: datetime | None = None
    published_to: datetime | None = None
    updated_from: datetime | None = None
    updated_to: datetime | None = None

    def filters(self) -> Filters:
        found = Filters()
        if self.query_id is not None:
            found.add("qr.query_id = {}", self.query_id)
        if self.author is not None:
            found.add("p.author_text @@ plainto_tsquery('simple', {})", self.author)
        if self.category is not None:
            found.add("p.categories @> ARRAY[{}]::text[]", self.category)
        if self.text is not None:
            found.add(TEXT_MATCH, self.text)
        if self.published_from is not None:
            found.add("p.published >= {}", self.published_from)
        if self.published_to is not None:
            found.add("p.published < {}", self.published_to)
        if self.updated_from is not None:
            found.add("p.updated >= {}", self.updated_from)
        if self.updated_to is not None:
            found.add("p.updated < {}", self.updated_to)
        return found

    def source(self) -> str:
        """The FROM clause: a query's ranks joined when filtering by query."""
        if self.query_id is None:
            return "arxiv.papers p"
        return "arxiv.query_results qr JOIN arxiv.papers p ON p.id = qr.paper_id"


def parse_cursor(cursor: str) -> tuple[int, int]:
    """(publication time in µs since the epoch, id) of a `next_cursor`."""
    found = CURSOR.fullmatch(cursor)
    if found is None:
        raise BadInput(
            "`cursor` must be a `next_cursor` value from a previous page, like 1690000000000000.42"
        )
    return int(found.group(1)), int(found.group(2))


async def papers_json(
    conn: Connection,
    papers: PaperFilter,
    *,
    order: PaperOrder,
    limit: int,
    offset: int,
    cursor: str | None,
    with_count: bool,
) -> str:
    """One page of papers as JSON `{count, next_cursor, results}` (a count or a cursor, as asked)."""
    if order is PaperOrder.rank and papers.query_id is None:
        raise BadInput("`order=rank` needs `query` (a rank is a position in one query's results)")
    if cursor is not None and order is PaperOrder.rank:
        raise BadInput("`cursor` pages by publication time; with `order=rank` use `offset`")
    found = papers.filters()
    counted = with_count and cursor is None
    count_sql = f"(SELECT count(*) FROM {papers.source()} WHERE {found.where()})" if counted else "NULL"
    page = Filters(list(found.clauses), list(found.values))
    if cursor is not None:
        micros, last_id = parse_cursor(cursor)
        comparison = "<" if order is PaperOrder.newest else ">"
        page.add(
            f"(p.published, p.id) {comparison} (timestamptz 'epoch' + {{}} * interval '1 microsecond', {{}})",
            micros,
            last_id,
        )
        offset = 0
    rank = "qr.rank" if papers.query_id is not None else "NULL::int"
    fetch_at, offset_at, size_at = page.next(), f"${len(page.values) + 2}", f"${len(page.values) + 3}"
    with_cursor = "false" if order is PaperOrder.rank else "true"
    sql = f"""
    SELECT json_build_object(
        'count', {count_sql},
        'next_cursor', CASE WHEN {with_cursor} AND count(*) > {size_at}
                            THEN (array_agg(cursor ORDER BY n))[{size_at}] END,
        'results', coalesce(json_agg(item ORDER BY n) FILTER (WHERE n <= {size_at}), '[]'))::text
    FROM (
        SELECT json_build_object({PAPER_FIELDS}, 'rank', p.rank) AS item,
               (extract(epoch FROM p.published) * 1000000)::bigint || '.' || p.id AS cursor,
               row_number() OVER (ORDER BY {ORDER_OUTER[order]}) AS n
        FROM (SELECT {PAPER_COLUMNS}, {rank} AS rank FROM {papers.source()} WHERE {page.where()}
              ORDER BY {ORDER_INNER[order]} LIMIT {fetch_at} OFFSET {offset_at}) p
    ) rows"""
    text: str = await conn.fetchval(sql, *page.values, limit + 1, offset, limit)
    return text


PAPER_BY_ID = f"""
SELECT ({PAPER_JSON}::jsonb || jsonb_build_object(
    'versions', ARRAY(SELECT v.version FROM arxiv.papers v WHERE v.arxiv_id = p.arxiv_id ORDER BY v.version),
    'queries', coalesce((
        SELECT json_agg(json_build_object('id', q.id, 'searched_at', {utc("to_timestamp(q.timestamp)")},
                                          'query', q.query, 'rank', qr.rank) ORDER BY q.id DESC)
        FROM (SELECT * FROM arxiv.query_results qr WHERE qr.paper_id = p.id
              ORDER BY qr.query_id DESC LIMIT 100) qr
        JOIN arxiv.queries q ON q.id = qr.query_id), '[]')))::text
FROM arxiv.papers p
WHERE p.arxiv_id = $1 AND ($2::int IS NULL OR p.version = $2)
ORDER BY p.version DESC LIMIT 1
"""


async def paper_json(conn: Connection, *, arxiv_id: str, version: int | None) -> str | None:
    """One paper (a version, or the latest stored) with its stored versions and the queries that found it."""
    text: str | None = await conn.fetchval(PAPER_BY_ID, arxiv_id, version)
    return text


EXPORT_COLUMNS = """
p.arxiv_id, p.version, p.title, p.author_names AS authors,
(SELECT string_agg(DISTINCT aff, '; ') FROM jsonb_array_elements(p.authors) a,
        jsonb_array_elements_text(a -> 'affiliations') aff) AS affiliations,
p.primary_category, array_to_string(p.categories, ' ') AS categories,
{published} AS published, {updated} AS updated,
p.doi, p.journal_ref, p.comment, p.abs_url, p.pdf_url, p.abstract
""".format(published=utc("p.published"), updated=utc("p.updated"))


def export_sql(papers: PaperFilter, *, order: PaperOrder) -> tuple[str, list[object]]:
    """The statement (and its values) selecting the export columns of the filtered papers, in order."""
    if order is PaperOrder.rank and papers.query_id is None:
        raise BadInput("`order=rank` needs `query` (a rank is a position in one query's results)")
    found = papers.filters()
    rank = "qr.rank, " if papers.query_id is not None else ""
    sql = (
        f"SELECT {rank}{EXPORT_COLUMNS} FROM {papers.source()} WHERE {found.where()} "
        f"ORDER BY {ORDER_INNER[order]}"
    )
    return sql, found.values


async def export_rows(
    conn: Connection, papers: PaperFilter, *, order: PaperOrder, batch: int = 500
) -> AsyncIterator[list[dict[str, object]]]:
    """The export rows of the filtered papers, in batches read through a server-side cursor."""
    sql, values = export_sql(papers, order=order)
    async with conn.transaction():
        cursor = await conn.cursor(sql, *values)
        while rows := await cursor.fetch(batch):
            yield [dict(row) for row in rows]

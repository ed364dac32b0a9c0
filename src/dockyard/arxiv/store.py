"""Storing one search: its query row, its papers, its ranks and its legacy result rows, together.

The caller holds the transaction: all of a search is stored or none of it. Entries travel to
PostgreSQL as one JSON document read by `jsonb_to_recordset`, so a 2,000-entry page is three
statements, not thousands. Papers are keyed by (arXiv id, version); a paper already stored is
rewritten only when arXiv changed something (a journal reference or DOI added later).

A paper's English tsvector (`search_text`) is not computed here: it was most of the cost of storing
new papers. It stays NULL until `fill_search_text` computes it after the commit, and text filters
compute it on the fly for such rows meanwhile (`papers.PaperFilter`), so nothing is missed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from dockyard.arxiv.atom import Entry
from dockyard.arxiv.syntax import Request
from dockyard.core.db import Connection

INSERT_QUERY = """
INSERT INTO arxiv.queries (timestamp, status, num_results, num_entries, query, user_id, search_query,
                           id_list, sort_by, sort_order, start, max_results, from_cache, duration_ms)
VALUES (extract(epoch FROM now())::bigint, $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
RETURNING id, query_id, timestamp
"""

ENTRY_COLUMNS = """
    rank int, arxiv_id text, version int, title text, abstract text, authors jsonb, author_names text,
    categories text[], primary_category text, doi text, journal_ref text, comment text,
    published timestamptz, updated timestamptz, abs_url text, pdf_url text, doi_url text
"""
PAPER_FIELDS = (
    "title, abstract, authors, author_names, categories, primary_category, doi, journal_ref, comment, "
    "published, updated, abs_url, pdf_url, doi_url"
)

# Only papers not stored yet are inserted (the generated `author_text` is computed for every row
# offered to an INSERT, conflicting or not). Sorted so that concurrent searches take shared papers
# in the same order.
INSERT_PAPERS = f"""
INSERT INTO arxiv.papers (arxiv_id, version, {PAPER_FIELDS})
SELECT DISTINCT ON (arxiv_id, version) arxiv_id, version, {PAPER_FIELDS}
FROM jsonb_to_recordset($1::jsonb) AS e({ENTRY_COLUMNS})
WHERE NOT EXISTS (SELECT 1 FROM arxiv.papers p WHERE p.arxiv_id = e.arxiv_id AND p.version = e.version)
ORDER BY arxiv_id, version, rank DESC
ON CONFLICT (arxiv_id, version) DO NOTHING
"""

# A paper arXiv describes differently now (a journal reference or DOI added later) is rewritten;
# skipped when the insert stored every paper of the page (all new).
UPDATE_PAPERS = f"""
UPDATE arxiv.papers p
SET ({PAPER_FIELDS}, search_text) = (
    e.title, e.abstract, e.authors, e.author_names, e.categories, e.primary_category, e.doi,
    e.journal_ref, e.comment, e.published, e.updated, e.abs_url, e.pdf_url, e.doi_url,
    CASE WHEN (p.title, p.abstract) IS NOT DISTINCT FROM (e.title, e.abstract) THEN p.search_text END)
FROM (SELECT DISTINCT ON (arxiv_id, version) * FROM jsonb_to_recordset($1::jsonb) AS e({ENTRY_COLUMNS})
      ORDER BY arxiv_id, version, rank DESC) e
WHERE p.arxiv_id = e.arxiv_id AND p.version = e.version
  AND (p.{PAPER_FIELDS.replace(", ", ", p.")}) IS DISTINCT FROM (
    e.title, e.abstract, e.authors, e.author_names, e.categories, e.primary_category, e.doi,
    e.journal_ref, e.comment, e.published, e.updated, e.abs_url, e.pdf_url, e.doi_url)
"""

# The English tsvector of a paper (titles weigh A, abstracts B): stored by `fill_search_text`, and
# computed on the fly by text filters for a paper whose `search_text` is still NULL.
SEARCH_TEXT = (
    "setweight(to_tsvector('english'::regconfig, {p}title), 'A') "
    "|| setweight(to_tsvector('english'::regconfig, {p}abstract), 'B')"
)

# A batch of papers whose tsvector is not stored yet; ones another filler holds are skipped.
FILL_SEARCH_TEXT = f"""
UPDATE arxiv.papers p SET search_text = {SEARCH_TEXT.format(p="p.")}
WHERE p.id IN (SELECT id FROM arxiv.papers WHERE search_text IS NULL ORDER BY id LIMIT $1
               FOR UPDATE SKIP LOCKED)
"""

RANK_COLUMNS = "rank int, arxiv_id text, version int, title text, author_names text, journal_ref text"

# The ranks of the rich model, and the legacy rows (result_number counts from this search's first).
INSERT_RANKS = f"""
WITH e AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS e({RANK_COLUMNS})),
ranks AS (
    INSERT INTO arxiv.query_results (query_id, rank, paper_id)
    SELECT $2, e.rank, p.id FROM e JOIN arxiv.papers p USING (arxiv_id, version)
)
INSERT INTO arxiv.results (query_id, timestamp, result_number, author, title, journal)
SELECT $3, $4, e.rank - $5, e.author_names, e.title, coalesce(e.journal_ref, '')
FROM e ORDER BY e.rank
"""


@dataclass(frozen=True)
class Stored:
    """The query row of a stored search."""

    id: int
    query_id: int
    timestamp: int
    entries: int
    total_results: int
    status: int


def ranks_json(ranked: Sequence[tuple[int, Entry]]) -> bytes:
    """What the ranks and the legacy rows need of each (rank, entry), as JSON."""
    return orjson.dumps(
        [
            {
                "rank": rank,
                "arxiv_id": entry.arxiv_id,
                "version": entry.version,
                "title": entry.title,
                "author_names": ", ".join(author.name for author in entry.authors),
                "journal_ref": entry.journal_ref,
            }
            for rank, entry in ranked
        ]
    )


def entries_json(ranked: Sequence[tuple[int, Entry]]) -> bytes:
    """(rank, entry) pairs as the JSON document the statements read."""
    rows: list[dict[str, Any]] = [
        {
            "rank": rank,
            "arxiv_id": entry.arxiv_id,
            "version": entry.version,
            "title": entry.title,
            "abstract": entry.abstract,
            "authors": [
                {"name": author.name, "affiliations": list(author.affiliations)} for author in entry.authors
            ],
            "author_names": ", ".join(author.name for author in entry.authors),
            "categories": list(entry.categories),
            "primary_category": entry.primary_category,
            "doi": entry.doi,
            "journal_ref": entry.journal_ref,
            "comment": entry.comment,
            "published": entry.published,
            "updated": entry.updated,
            "abs_url": entry.abs_url,
            "pdf_url": entry.pdf_url,
            "doi_url": entry.doi_url,
        }
        for rank, entry in ranked
    ]
    return orjson.dumps(rows)


async def store_search(
    conn: Connection,
    *,
    request: Request,
    ranked: Sequence[tuple[int, Entry]],
    total_results: int,
    status: int,
    from_cache: bool,
    user_id: int | None,
    duration_ms: int,
) -> Stored:
    """Store a search and the (rank, entry) pairs it found, inside the caller's transaction; its query row."""
    row = await conn.fetchrow(
        INSERT_QUERY,
        status,
        total_results,
        len(ranked),
        request.canonical(),
        user_id,
        request.search_query,
        list(request.id_list),
        request.sort_by,
        request.sort_order,
        request.start,
        request.max_results,
        from_cache,
        duration_ms,
    )
    assert row is not None
    if ranked:
        document = entries_json(ranked).decode()
        inserted = await conn.execute(INSERT_PAPERS, document)
        papers = len({(entry.arxiv_id, entry.version) for _, entry in ranked})
        if int(inserted.rsplit(" ", 1)[1]) < papers:  # some were stored already: rewrite the changed ones
            await conn.execute(UPDATE_PAPERS, document)
        ranks = ranks_json(ranked).decode()
        await conn.execute(INSERT_RANKS, ranks, row["id"], row["query_id"], row["timestamp"], request.start)
    return Stored(row["id"], row["query_id"], row["timestamp"], len(ranked), total_results, status)


async def fill_search_text(conn: Connection, *, batch: int = 2000) -> int:
    """Store the tsvector of papers that have none yet, `batch` rows a transaction; rows filled."""
    filled = 0
    while True:
        status = await conn.execute(FILL_SEARCH_TEXT, batch)
        done = int(status.rsplit(" ", 1)[1])
        filled += done
        if done < batch:
            return filled

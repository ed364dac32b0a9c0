"""The bench data set: 1,000,000 stored results (20,000 searches of 50) over 200,000 papers, in SQL."""

from __future__ import annotations

from typing import Any

from dockyard.arxiv.store import SEARCH_TEXT
from dockyard.core.seeds import Progress

PAPERS = 200_000
SEARCHES = 20_000
PER_SEARCH = 50

# A vocabulary where a few words are common and most are rare: word k is drawn with a probability
# falling like a power law, as words in titles and abstracts do.
VOCABULARY = """
SELECT array_agg(w ORDER BY n) FROM (
    SELECT n, CASE WHEN n <= array_length(base, 1) THEN base[n]
                   ELSE base[1 + n % array_length(base, 1)] || n END AS w
    FROM generate_series(1, 5000) n,
         (SELECT string_to_array('quantum model field energy network learning data graph neural spin '
            'galaxy dark matter black hole entropy lattice gauge theory symmetry boundary phase transition '
            'topological superconducting qubit error correction code decoding optimal algorithm bound '
            'random matrix stochastic process inference bayesian estimation language transformer attention '
            'diffusion flow fluid turbulence plasma magnetic star planet orbit cosmology inflation neutrino '
            'collider hadron detector measurement protein cell gene sequence market price risk', ' ')
            AS base) b
) v
"""

# Titles and abstracts are slices of one bag of 100,000 words drawn from the vocabulary (a random
# draw per word of 200,000 abstracts would take minutes).
GENERATE_PAPERS = """
WITH bag AS (
    SELECT array_agg(w[1 + floor(power(random(), 1.5) * array_length(w, 1))::int]) AS b
    FROM (SELECT $1::text[] AS w) v, generate_series(1, 100000)
)
INSERT INTO arxiv.papers (arxiv_id, version, title, abstract, authors, author_names, categories,
                          primary_category, doi, journal_ref, comment, published, updated, abs_url, pdf_url,
                          search_text)
SELECT id, version, title, abstract,
       jsonb_build_array(jsonb_build_object('name', a1,
                                            'affiliations', jsonb_build_array('Institute ' || (g % 300))),
                         jsonb_build_object('name', a2, 'affiliations', '[]'::jsonb)),
       a1 || ', ' || a2, ARRAY[cat], cat,
       CASE WHEN g % 3 = 0 THEN '10.5555/bench.' || g END,
       CASE WHEN g % 4 = 0 THEN 'Bench J. ' || (g % 90) || ' (' || (2000 + g % 24) || ') ' || g % 1000 END,
       CASE WHEN g % 2 = 0 THEN (5 + g % 40) || ' pages' END,
       published, published + (version - 1) * interval '20 days',
       'http://arxiv.org/abs/' || id || 'v' || version, 'http://arxiv.org/pdf/' || id || 'v' || version,
       {search_text}
FROM (
    SELECT g,
           to_char(1001 + g / 99999, 'FM0000') || '.' || to_char(g % 99999, 'FM00000') AS id,
           1 + g % 3 AS version,
           array_to_string(b[1 + t : t + 6 + g % 6], ' ') AS title,
           array_to_string(b[1 + a : a + 60 + g % 40], ' ') AS abstract,
           'Author' || (g % 5000) || ' Surname' || (g % 977) AS a1,
           'Author' || (g % 3001) || ' Surname' || (g % 499) AS a2,
           (ARRAY['hep-th', 'quant-ph', 'cs.LG', 'astro-ph.CO', 'math.PR', 'cond-mat.str-el',
                  'q-bio.GN', 'q-fin.RM'])[1 + g % 8] AS cat,
           timestamptz '2000-01-01' + (g::float8 / $2) * interval '24 years' AS published
    FROM generate_series(1, $2::int) g, bag,
         LATERAL (SELECT ((g::bigint * 7919) % 99000)::int AS t, ((g::bigint * 104729) % 99000)::int AS a) o
) p
""".replace("{search_text}", SEARCH_TEXT.format(p=""))

GENERATE_QUERIES = """
INSERT INTO arxiv.queries (timestamp, status, num_results, num_entries, query, search_query, id_list,
                           sort_by, sort_order, start, max_results, from_cache, duration_ms)
SELECT extract(epoch FROM now() - interval '365 days' + (s::float8 / $1) * interval '365 days')::bigint,
       200, 50 + (s * 7919) % 5000, $2::int,
       'search_query=' || q || '&id_list=&start=0&max_results=' || $2::int::text
           || '&sortBy=relevance&sortOrder=descending',
       q, '{}', 'relevance', 'descending', 0, $2::int, s % 5 = 0, 3000 + s % 900
FROM (SELECT s, (ARRAY['ti', 'abs', 'all', 'au'])[1 + s % 4] || ':word' || (s % 2000) AS q
      FROM generate_series(1, $1::int) s) g
"""

GENERATE_RANKS = """
INSERT INTO arxiv.query_results (query_id, rank, paper_id)
SELECT q, r, 1 + ((q::bigint * 104729 + r * 7907) % $3::bigint)
FROM generate_series($1::int, $2::int) q, generate_series(0, $4::int - 1) r
"""

GENERATE_RESULTS = """
INSERT INTO arxiv.results (query_id, timestamp, result_number, author, title, journal)
SELECT qr.query_id, q.timestamp, qr.rank, p.author_names, p.title, coalesce(p.journal_ref, '')
FROM arxiv.query_results qr
JOIN arxiv.queries q ON q.id = qr.query_id
JOIN arxiv.papers p ON p.id = qr.paper_id
WHERE qr.query_id BETWEEN $1 AND $2
ORDER BY qr.query_id, qr.rank
"""


# Built once after the papers are in (as the migration defines them): far faster than row by row.
PAPER_INDEXES = {
    "papers_search_text": "CREATE INDEX papers_search_text ON arxiv.papers USING gin (search_text)",
    "papers_author_text": "CREATE INDEX papers_author_text ON arxiv.papers USING gin (author_text)",
    "papers_categories": "CREATE INDEX papers_categories ON arxiv.papers USING gin (categories)",
}


async def seed_bench(conn: Any, progress: Progress) -> int:
    """Generate the bench data set; rows written."""
    total = PAPERS + SEARCHES + 2 * SEARCHES * PER_SEARCH
    progress(0, total)
    await conn.execute("SELECT setseed(0.42)")
    await conn.execute("SET LOCAL maintenance_work_mem = '256MB'")
    vocabulary = await conn.fetchval(VOCABULARY)
    await conn.execute(f"DROP INDEX {', '.join(f'arxiv.{name}' for name in PAPER_INDEXES)}")
    await conn.execute(GENERATE_PAPERS, vocabulary, PAPERS)
    for statement in PAPER_INDEXES.values():
        await conn.execute(statement)
    done = PAPERS
    progress(done, total)
    await conn.execute(GENERATE_QUERIES, SEARCHES, PER_SEARCH)
    done += SEARCHES
    step = 2000
    for first in range(1, SEARCHES + 1, step):
        last = min(SEARCHES, first + step - 1)
        await conn.execute(GENERATE_RANKS, first, last, PAPERS, PER_SEARCH)
        await conn.execute(GENERATE_RESULTS, first, last)
        done += 2 * (last - first + 1) * PER_SEARCH
        progress(done, total)
    return done

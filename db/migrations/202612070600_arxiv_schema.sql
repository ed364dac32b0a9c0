-- arxiv: every arXiv search and what it found (specs/arxiv.md, docs/arxiv.md).
--
-- `queries` and `results` keep the columns of the system this replaces, in its order, so its data
-- loads unchanged (`dockyard arxiv load-legacy`) and its readers keep working; Dockyard's own
-- columns follow, each with a default. `papers` (one row per arXiv id and version) and
-- `query_results` (which search found which paper, at which rank) are the rich model. A search is
-- stored in one transaction: its query row, its results, its papers and its query_results.
CREATE SCHEMA IF NOT EXISTS arxiv;

CREATE TABLE arxiv.queries (
    id          bigserial PRIMARY KEY,
    query_id    bigint,               -- the legacy id shared with `results`; = id for new searches
    timestamp   bigint,               -- Unix time (UTC) the search was recorded
    status      smallint,             -- arXiv's HTTP status
    num_results integer,              -- arXiv's opensearch:totalResults
    num_entries integer,              -- entries returned and stored
    query       text,                 -- the canonical query, without the feed title's "ArXiv Query: "
    -- Dockyard's own columns
    user_id      bigint REFERENCES accounts.users (id) ON DELETE SET NULL,
    search_query text,
    id_list      text[],
    sort_by      text CHECK (sort_by IN ('relevance', 'lastUpdatedDate', 'submittedDate')),
    sort_order   text CHECK (sort_order IN ('ascending', 'descending')),
    start        integer CHECK (start >= 0),
    max_results  integer CHECK (max_results >= 0),
    from_cache   boolean,
    duration_ms  integer
);
CREATE INDEX idx_query_timestamp ON arxiv.queries (timestamp, id);
CREATE INDEX idx_query_query_id ON arxiv.queries (query_id);
CREATE INDEX queries_user ON arxiv.queries (user_id, timestamp, id) WHERE user_id IS NOT NULL;

-- New searches share one number between both tables, as the legacy sequence did.
CREATE FUNCTION arxiv.query_id_from_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.query_id := coalesce(NEW.query_id, NEW.id);
    RETURN NEW;
END $$;
CREATE TRIGGER queries_query_id BEFORE INSERT ON arxiv.queries
    FOR EACH ROW EXECUTE FUNCTION arxiv.query_id_from_id();

CREATE TABLE arxiv.results (
    id            bigserial PRIMARY KEY,
    query_id      bigint,             -- queries.query_id (no foreign key: the tables stay separable)
    timestamp     bigint,
    result_number integer,            -- 0-based position within the search
    author        text,               -- the authors' names joined with ", "
    title         text,
    journal       text                -- the journal reference, '' when there is none
);
CREATE INDEX idx_result_timestamp ON arxiv.results (timestamp);
CREATE INDEX idx_result_query_id ON arxiv.results (query_id, result_number);

CREATE TABLE arxiv.papers (
    id               bigserial PRIMARY KEY,
    arxiv_id         text NOT NULL CHECK (length(arxiv_id) <= 64),
    version          integer NOT NULL CHECK (version >= 1),
    title            text NOT NULL,   -- whitespace and line breaks collapsed
    abstract         text NOT NULL,
    authors          jsonb NOT NULL,  -- [{"name": ..., "affiliations": [...]}], in order
    author_names     text NOT NULL,   -- the names joined with ", " (filters and exports)
    categories       text[] NOT NULL,
    primary_category text,
    doi              text,
    journal_ref      text,
    comment          text,
    published        timestamptz,     -- first version
    updated          timestamptz,     -- this version
    abs_url          text,
    pdf_url          text,
    doi_url          text,
    first_seen_at    timestamptz NOT NULL DEFAULT now(),
    search_text      tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, title), 'A')
        || setweight(to_tsvector('english'::regconfig, abstract), 'B')) STORED,
    author_text      tsvector GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, author_names)) STORED,
    UNIQUE (arxiv_id, version)
);
CREATE INDEX papers_published ON arxiv.papers (published DESC, id DESC);
CREATE INDEX papers_search_text ON arxiv.papers USING gin (search_text);
CREATE INDEX papers_author_text ON arxiv.papers USING gin (author_text);
CREATE INDEX papers_categories ON arxiv.papers USING gin (categories);

CREATE TABLE arxiv.query_results (
    query_id bigint NOT NULL REFERENCES arxiv.queries (id) ON DELETE CASCADE,
    rank     integer NOT NULL CHECK (rank >= 0),  -- 0-based position in arXiv's answer (start included)
    paper_id bigint NOT NULL REFERENCES arxiv.papers (id),
    PRIMARY KEY (query_id, rank)
);
CREATE INDEX query_results_paper ON arxiv.query_results (paper_id, query_id);

-- A search is a job: recorded before any call, updated after each slice. `stalled` (a running job
-- whose worker stopped sending heartbeats) is derived, never stored.
CREATE TABLE arxiv.search_jobs (
    id             bigserial PRIMARY KEY,
    user_id        bigint REFERENCES accounts.users (id) ON DELETE SET NULL,
    request        jsonb NOT NULL,   -- search_query, id_list, start, max_results, sort_by, sort_order
    canonical      text NOT NULL,
    state          text NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'done', 'failed')),
    slices_total   integer NOT NULL CHECK (slices_total >= 1),
    slices_done    integer NOT NULL DEFAULT 0 CHECK (slices_done >= 0),
    entries_done   integer NOT NULL DEFAULT 0 CHECK (entries_done >= 0),
    total_results  integer,
    error          text,
    error_status   smallint,
    query_id       bigint REFERENCES arxiv.queries (id) ON DELETE SET NULL,
    worker         text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    started_at     timestamptz,
    finished_at    timestamptz,
    heartbeat_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX search_jobs_open ON arxiv.search_jobs (id) WHERE state IN ('queued', 'running');

-- arXiv's answers by canonical request, kept ARXIV_CACHE_TTL_S (results change once a day).
CREATE TABLE arxiv.api_cache (
    key        text PRIMARY KEY,
    fetched_at timestamptz NOT NULL DEFAULT now(),
    status     smallint NOT NULL,
    body       bytea NOT NULL
);
CREATE INDEX api_cache_fetched ON arxiv.api_cache (fetched_at);

-- When the last call to arXiv ended, for every worker and replica: the caller holding the advisory
-- lock waits until ARXIV_SPACING_S after it.
CREATE TABLE arxiv.upstream_clock (
    id           boolean PRIMARY KEY DEFAULT true CHECK (id),
    last_call_at timestamptz NOT NULL DEFAULT 'epoch'
);
INSERT INTO arxiv.upstream_clock DEFAULT VALUES;

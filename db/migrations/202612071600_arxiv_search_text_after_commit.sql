-- arxiv: papers' English tsvector is computed after the search that stored them has committed
-- (docs/arxiv.md, "Full-text search"). Computing it inside the search's transaction, as a stored
-- generated column, was most of the cost of storing a page of new papers.
--
-- `search_text` becomes a plain column (its values stay): NULL until the background step fills it.
-- Text filters also match a NULL row by computing the same tsvector on the fly, so a search's papers
-- are found at once; `papers_search_pending` lists those rows for the filter and for the step.
ALTER TABLE arxiv.papers ALTER COLUMN search_text DROP EXPRESSION;
CREATE INDEX papers_search_pending ON arxiv.papers (id) WHERE search_text IS NULL;

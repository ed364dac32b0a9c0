DROP INDEX arxiv.papers_search_pending;
ALTER TABLE arxiv.papers DROP COLUMN search_text;
ALTER TABLE arxiv.papers ADD COLUMN search_text tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english'::regconfig, title), 'A')
    || setweight(to_tsvector('english'::regconfig, abstract), 'B')) STORED;
CREATE INDEX papers_search_text ON arxiv.papers USING gin (search_text);

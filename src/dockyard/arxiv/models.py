"""The arxiv service's request and response bodies, named by role."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from dockyard.arxiv import syntax
from dockyard.core.types import Count, Id, Int

FieldPrefix = Literal["ti", "au", "abs", "co", "jr", "cat", "rn", "all"]
SortBy = Literal["relevance", "lastUpdatedDate", "submittedDate"]
SortOrder = Literal["ascending", "descending"]
JobState = Literal["queued", "running", "stalled", "done", "failed"]


class TermIn(BaseModel):
    """`field:value`; several words are all required, unless `phrase` keeps them together."""

    model_config = ConfigDict(extra="forbid")

    field: FieldPrefix = Field(
        description="ti title, au author, abs abstract, co comment, jr journal "
        "reference, cat category, rn report number, all every field."
    )
    value: str = Field(min_length=1, max_length=300, examples=["electron"])
    phrase: bool = Field(default=False, description="Search the words as one phrase (quoted).")


class DateRangeIn(BaseModel):
    """Papers first submitted (or last updated) in [from, to], GMT to the minute."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    field: Literal["submittedDate", "lastUpdatedDate"]
    from_: datetime = Field(alias="from", examples=["2023-01-01T00:00:00Z"])
    to: datetime = Field(examples=["2023-12-31T23:59:00Z"])


class GroupIn(BaseModel):
    """Items joined by one operator (`ANDNOT`: the first item without the others)."""

    model_config = ConfigDict(extra="forbid")

    op: Literal["AND", "OR", "ANDNOT"] = "AND"
    items: list[TermIn | DateRangeIn | GroupIn] = Field(min_length=1, max_length=32)


QueryIn = TermIn | DateRangeIn | GroupIn


def _node(item: QueryIn) -> syntax.Node:
    if isinstance(item, TermIn):
        return syntax.term(item.field, item.value, phrase=item.phrase)
    if isinstance(item, DateRangeIn):
        return syntax.date_range(item.field, syntax.date_digits(item.from_), syntax.date_digits(item.to))
    nodes = [_node(child) for child in item.items]
    return syntax.Group(nodes[0], tuple((item.op, node) for node in nodes[1:]))


class SearchCreate(BaseModel):
    """A search: a `query` tree or a raw `search_query`, and/or an `id_list`, with paging and sort."""

    model_config = ConfigDict(extra="forbid")

    query: QueryIn | None = Field(default=None, description="The query as a tree of terms and groups.")
    search_query: str | None = Field(
        default=None,
        min_length=1,
        max_length=syntax.MAX_QUERY_CHARS,
        description="The query in arXiv's own syntax (checked before it is sent).",
        examples=['au:del_maestro AND ti:"quantum criticality"'],
    )
    id_list: list[str] = Field(
        default_factory=list, max_length=1000, examples=[["2101.00001", "hep-ex/0307015v1"]]
    )
    start: int = Field(
        default=0, ge=0, lt=syntax.MAX_RESULTS_TOTAL, description="0-based index of the first result."
    )
    max_results: int | None = Field(
        default=None,
        ge=1,
        le=syntax.MAX_RESULTS_TOTAL,
        description="Results to fetch (default 10, or the number of ids); more than one slice runs as a job.",
    )
    sort_by: SortBy = "relevance"
    sort_order: SortOrder = "descending"

    def request(self) -> syntax.Request:
        """The search as it is sent: checked against what the schema cannot state (QuerySyntaxError)."""
        if self.query is not None and self.search_query is not None:
            raise syntax.QuerySyntaxError("give `query` or `search_query`, not both")
        if self.query is None and self.search_query is None and not self.id_list:
            raise syntax.QuerySyntaxError("give `query`, `search_query` or `id_list`")
        node: syntax.Node | None = None
        if self.query is not None:
            node = _node(self.query)
            syntax.check_size(node)
        elif self.search_query is not None:
            node = syntax.parse(self.search_query)
        ids = tuple(syntax.check_id(item.strip()) for item in self.id_list)
        wanted = self.max_results or (len(ids) if ids and node is None else 10)
        if self.start + wanted > syntax.MAX_RESULTS_TOTAL:
            raise syntax.QuerySyntaxError(
                f"start + max_results is {self.start + wanted}; arXiv serves at most "
                f"{syntax.MAX_RESULTS_TOTAL} results of one query"
            )
        rendered = syntax.render(node) if node is not None else ""
        return syntax.Request(rendered, ids, self.start, wanted, self.sort_by, self.sort_order)


class SearchRequestPublic(BaseModel):
    search_query: str
    id_list: list[str]
    start: Count
    max_results: Count
    sort_by: SortBy
    sort_order: SortOrder


class SearchJobPublic(BaseModel):
    """A search: its progress while it runs, its query once stored, or why it failed."""

    id: Id
    state: JobState = Field(description="`stalled`: running, but its worker stopped sending heartbeats.")
    canonical: str = Field(description="The query as sent and stored.")
    request: SearchRequestPublic
    user_id: Id | None
    slices_total: Count
    slices_done: Count
    entries_done: Count
    total_results: Count | None = Field(description="arXiv's count of matching papers.")
    error: str | None
    error_status: Int | None = Field(description="The HTTP status the failure was answered with.")
    query_id: Id | None = Field(description="The stored query, once `done`.")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    heartbeat_at: datetime


class QueryPublic(BaseModel):
    """A recorded search (legacy rows have only the first seven fields)."""

    id: Id
    query_id: int | None = Field(description="The id the legacy `results` rows carry.")
    timestamp: int | None = Field(description="Unix time of the search (seconds, UTC).")
    searched_at: datetime | None
    status: int | None = Field(description="arXiv's HTTP status.")
    num_results: int | None = Field(description="arXiv's total of matching papers.")
    num_entries: int | None = Field(description="Entries fetched and stored.")
    query: str | None = Field(description="The canonical query.")
    user_id: int | None
    search_query: str | None
    id_list: list[str] | None
    sort_by: SortBy | None
    sort_order: SortOrder | None
    start: int | None
    max_results: int | None
    from_cache: bool | None
    duration_ms: int | None


class QueryList(BaseModel):
    count: Count = Field(description="Queries matching the filters, over every page.")
    results: list[QueryPublic]


class AuthorPublic(BaseModel):
    name: str
    affiliations: list[str]


class PaperPublic(BaseModel):
    """One version of a paper as arXiv described it."""

    id: Id
    arxiv_id: str = Field(examples=["2101.00001"])
    version: int
    title: str
    abstract: str
    authors: list[AuthorPublic]
    categories: list[str]
    primary_category: str | None
    doi: str | None
    journal_ref: str | None
    comment: str | None
    published: datetime | None
    updated: datetime | None
    abs_url: str | None
    pdf_url: str | None
    doi_url: str | None
    first_seen_at: datetime


class PaperListed(PaperPublic):
    rank: int | None = Field(description="The position in the query's results, when filtered by query.")


class PaperList(BaseModel):
    count: Count | None = Field(
        description="Papers matching the filters (absent with a cursor or count=false)."
    )
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page (publication order).")
    results: list[PaperListed]


class PaperQuery(BaseModel):
    id: Id
    searched_at: datetime | None
    query: str | None
    rank: int


class PaperDetail(PaperPublic):
    versions: list[int] = Field(description="The versions stored.")
    queries: list[PaperQuery] = Field(description="The latest 100 queries that found this version.")


# Legacy shapes (specs/arxiv.md §B.1)


class LegacySearchAnswer(BaseModel):
    timestamp: float = Field(description="Unix time the search was recorded.")
    status: int = Field(description="arXiv's HTTP status.")
    num_results: int = Field(description="arXiv's total of matching papers.")
    num_entries: int = Field(description="Entries fetched and stored.")


class LegacyQueryRecord(BaseModel):
    query: str = Field(examples=["ArXiv Query: search_query=au:hinton&id_list=&start=0&max_results=8"])
    timestamp: str | None = Field(description="UTC, YYYY-MM-DDTHH:MM:SS.")
    status: int | None
    num_results: int | None


class LegacyQueryRange(BaseModel):
    start_timestamp: str | None = Field(default=None, max_length=64, examples=["2024-05-01T00:00:00"])
    end_timestamp: str | None = Field(default=None, max_length=64, examples=["2024-05-31T23:59:59"])


class LegacyResult(BaseModel):
    author: str | None
    title: str | None
    journal: str | None


GroupIn.model_rebuild()
SearchCreate.model_rebuild()

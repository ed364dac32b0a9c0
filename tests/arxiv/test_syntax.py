"""The query builder: every form renders to one canonical text, raw text is checked, URLs are encoded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dockyard.arxiv import syntax
from dockyard.arxiv.models import SearchCreate
from dockyard.arxiv.syntax import Group, QuerySyntaxError, Request, parse, render, term


@pytest.mark.parametrize("field", syntax.FIELDS)
def test_every_field_renders_a_word_and_a_phrase(field: str) -> None:
    assert render(term(field, "electron")) == f"{field}:electron"
    assert render(term(field, "quantum   criticality", phrase=True)) == f'{field}:"quantum criticality"'


def test_several_words_without_phrase_are_all_required() -> None:
    assert render(term("ti", "quantum criticality")) == "ti:quantum AND ti:criticality"
    nested = Group(term("au", "del_maestro"), (("AND", term("ti", "quantum criticality")),))
    assert render(nested) == "au:del_maestro AND ti:quantum AND ti:criticality"
    either = Group(term("au", "a"), (("OR", Group(term("au", "b"), (("OR", term("au", "c")),))),))
    assert render(either) == "au:a OR au:b OR au:c"
    mixed = Group(term("au", "a"), (("OR", Group(term("au", "b"), (("AND", term("au", "c")),))),))
    assert render(mixed) == "au:a OR (au:b AND au:c)"


def test_groups_keep_their_operators_and_nest_in_parentheses() -> None:
    inner = Group(term("ti", "checkerboard"), (("OR", term("ti", "Pyrochlore")),))
    query = Group(term("au", "del_maestro"), (("ANDNOT", inner),))
    assert render(query) == "au:del_maestro ANDNOT (ti:checkerboard OR ti:Pyrochlore)"


def test_date_ranges_are_gmt_minutes() -> None:
    paris = timezone(timedelta(hours=1))
    start = syntax.date_digits(datetime(2023, 1, 1, 1, 30, tzinfo=paris))
    assert start == "202301010030"
    assert syntax.date_digits(datetime(2023, 12, 31, 23, 59)) == "202312312359"  # naive is UTC
    node = syntax.date_range("submittedDate", start, "202312312359")
    assert render(node) == "submittedDate:[202301010030 TO 202312312359]"


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("au:del_maestro+AND+ti:checkerboard", "au:del_maestro AND ti:checkerboard"),
        (
            "au:del_maestro ANDNOT (ti:checkerboard OR ti:Pyrochlore)",
            "au:del_maestro ANDNOT (ti:checkerboard OR ti:Pyrochlore)",
        ),
        ('au:del_maestro AND ti:"quantum  criticality"', 'au:del_maestro AND ti:"quantum criticality"'),
        ("  cat:hep-th   AND  all:electron ", "cat:hep-th AND all:electron"),
        ("((cat:hep-th))", "cat:hep-th"),
        (
            "abs:gap AND lastUpdatedDate:[202001010000+TO+202012312359]",
            "abs:gap AND lastUpdatedDate:[202001010000 TO 202012312359]",
        ),
        ("co:accepted OR jr:Nature OR rn:CERN-TH-2003", "co:accepted OR jr:Nature OR rn:CERN-TH-2003"),
        ("au:Müller", "au:Müller"),
    ],
)
def test_raw_queries_become_canonical(raw: str, canonical: str) -> None:
    assert render(parse(raw)) == canonical


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("electron", "has no field"),
        ("ti:electron and ti:proton", "in capitals: AND"),
        ("foo:bar", "unknown field"),
        ("id:1234.5678", "id_list"),
        ("ti:electron AND", "ends where a term was expected"),
        ("AND ti:electron", "needs a term on both sides"),
        ("(ti:electron", "never closed"),
        ("ti:electron)", "never opened"),
        ("ti:electron ti:proton", "expected AND, OR or ANDNOT"),
        ('"quantum criticality"', "must follow a field"),
        ("submittedDate:[2023 TO 2024]", "YYYYMMDDHHMM"),
        ("submittedDate:[202313010000 TO 202401010000]", "not a real date"),
        ("submittedDate:[202401010000 TO 202301010000]", "starts"),
        ("submittedDate:2023", "takes a range"),
        ("ti:", "empty"),
        ("", "empty"),
    ],
)
def test_raw_query_mistakes_are_explained(raw: str, says: str) -> None:
    with pytest.raises(QuerySyntaxError, match=says):
        parse(raw)


def test_oversized_queries_are_refused() -> None:
    with pytest.raises(QuerySyntaxError, match="terms"):
        parse(" OR ".join(f"ti:w{index}" for index in range(syntax.MAX_TERMS + 1)))
    with pytest.raises(QuerySyntaxError, match="nests deeper"):
        parse("(" * 12 + "ti:a" + ")" * 12)


def test_the_url_escapes_spaces_parentheses_and_quotes() -> None:
    request = Request(
        'au:del_maestro ANDNOT (ti:"quantum criticality")', ("2101.00001", "hep-ex/0307015v1"), 20, 10
    )
    assert request.query_string() == (
        "search_query=au:del_maestro+ANDNOT+%28ti:%22quantum+criticality%22%29"
        "&id_list=2101.00001,hep-ex/0307015v1&start=20&max_results=10&sortBy=relevance&sortOrder=descending"
    )
    assert request.canonical() == (
        'search_query=au:del_maestro ANDNOT (ti:"quantum criticality")'
        "&id_list=2101.00001,hep-ex/0307015v1&start=20&max_results=10&sortBy=relevance&sortOrder=descending"
    )


def test_date_ranges_are_encoded_with_brackets() -> None:
    request = Request("submittedDate:[202301010000 TO 202312312359]", (), 0, 5, "submittedDate", "ascending")
    assert request.query_string().startswith(
        "search_query=submittedDate:%5B202301010000+TO+202312312359%5D&id_list=&start=0&max_results=5"
        "&sortBy=submittedDate&sortOrder=ascending"
    )


@pytest.mark.parametrize(
    "good", ["2101.00001", "2101.0001v12", "hep-ex/0307015", "math.GT/0309136v2", "cond-mat/0207270v1"]
)
def test_arxiv_ids_are_checked(good: str) -> None:
    assert syntax.check_id(good) == good


@pytest.mark.parametrize("bad", ["1234.123", "hep-ex/03070", "cond—mat/0709123", "2101.00001v0", "../etc"])
def test_malformed_ids_are_refused(bad: str) -> None:
    with pytest.raises(QuerySyntaxError, match="not an arXiv identifier"):
        syntax.check_id(bad)


def test_slices_cover_the_window_at_most_a_page_each() -> None:
    request = Request("all:electron", (), 100, 4500)
    parts = [(part.start, part.max_results) for part in request.slices(2000)]
    assert parts == [(100, 2000), (2100, 2000), (4100, 500)]
    assert [(p.start, p.max_results) for p in Request("all:x", (), 0, 7).slices(2000)] == [(0, 7)]


def test_the_search_body_builds_every_form() -> None:
    body = SearchCreate.model_validate(
        {
            "query": {
                "op": "AND",
                "items": [
                    {"field": "au", "value": "del_maestro"},
                    {
                        "op": "OR",
                        "items": [
                            {"field": "ti", "value": "quantum criticality", "phrase": True},
                            {"field": "abs", "value": "checkerboard"},
                        ],
                    },
                    {
                        "field": "submittedDate",
                        "from": "2020-01-01T00:00:00Z",
                        "to": "2020-12-31T23:59:00+00:00",
                    },
                ],
            },
            "id_list": ["2101.00001"],
            "start": 10,
            "max_results": 50,
            "sort_by": "submittedDate",
            "sort_order": "ascending",
        }
    )
    request = body.request()
    assert request.search_query == (
        'au:del_maestro AND (ti:"quantum criticality" OR abs:checkerboard) '
        "AND submittedDate:[202001010000 TO 202012312359]"
    )
    assert (request.id_list, request.start, request.max_results) == (("2101.00001",), 10, 50)
    assert SearchCreate(id_list=["2101.00001", "2101.00002"]).request().max_results == 2
    assert SearchCreate(search_query="all:x").request().max_results == 10


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({}, "give `query`, `search_query` or `id_list`"),
        ({"search_query": "all:x", "query": {"field": "ti", "value": "x"}}, "not both"),
        ({"search_query": "all:x", "start": 29_000, "max_results": 2000}, "at most 30000"),
        ({"id_list": ["nope"]}, "not an arXiv identifier"),
        ({"query": {"field": "ti", "value": 'say "hi"'}}, "cannot be searched as a word"),
        (
            {
                "query": {
                    "field": "submittedDate",
                    "from": "2021-01-01T00:00:00Z",
                    "to": "2020-01-01T00:00:00Z",
                }
            },
            "starts",
        ),
    ],
)
def test_search_bodies_the_schema_cannot_refuse_are_explained(body: dict[str, object], says: str) -> None:
    with pytest.raises(QuerySyntaxError, match=says):
        SearchCreate.model_validate(body).request()


WORDS = st.from_regex(r"[A-Za-z][A-Za-z0-9_.\-]{0,8}", fullmatch=True).filter(
    lambda w: w not in syntax.OPERATORS
)
TERMS = st.builds(lambda f, w: syntax.Term(f, w), st.sampled_from(syntax.FIELDS), WORDS) | st.builds(
    lambda f, ws: syntax.Term(f, " ".join(ws), phrase=True),
    st.sampled_from(syntax.FIELDS),
    st.lists(WORDS, min_size=2, max_size=3),
)
DATES = st.datetimes(min_value=datetime(1991, 1, 1), max_value=datetime(2099, 1, 1)).map(
    lambda d: d.replace(tzinfo=UTC)
)
RANGES = st.builds(
    lambda field, a, b: syntax.date_range(
        field, syntax.date_digits(min(a, b)), syntax.date_digits(max(a, b))
    ),
    st.sampled_from(syntax.DATE_FIELDS),
    DATES,
    DATES,
)
TREES = st.recursive(
    TERMS | RANGES,
    lambda children: st.builds(
        lambda first, rest: Group(first, tuple(rest)),
        children,
        st.lists(st.tuples(st.sampled_from(syntax.OPERATORS), children), min_size=1, max_size=3),
    ),
    max_leaves=12,
)


@given(TREES)
def test_parsing_the_canonical_text_gives_it_back(tree: syntax.Node) -> None:
    text = render(tree)
    assert render(parse(text)) == text

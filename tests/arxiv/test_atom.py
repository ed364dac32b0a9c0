"""Reading arXiv's Atom: every element of the recorded entries, the error entry, hostile documents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from xml.etree import ElementTree

import feedparser
import pytest
from tests.support.arxiv.feeds import canonical, error_feed, feed, fixture_entries, generated_entry

from dockyard.arxiv.atom import ArxivQueryError, AtomError, Author, parse_feed


def _feed() -> bytes:
    entries = list(fixture_entries().values())
    return feed(entries, query=canonical("all:electron", "", 0, 10), total=57, start=0)


def test_the_feed_totals_and_canonical_query() -> None:
    parsed = parse_feed(_feed())
    assert parsed.query == "search_query=all:electron&id_list=&start=0&max_results=10"
    assert (parsed.total_results, parsed.start_index, parsed.items_per_page) == (57, 0, 4)


def test_an_entry_with_everything() -> None:
    entry = parse_feed(_feed()).entries[0]
    assert (entry.arxiv_id, entry.version) == ("2103.04521", 2)
    assert entry.title == "Thermal conductivity of electrons in a strongly correlated lattice"
    assert entry.abstract.startswith(
        "We compute the electron thermal conductivity of a strongly correlated lattice"
    )
    assert "\n" not in entry.abstract
    assert entry.authors == (
        Author("Hanna Virtanen", ("University of Helsinki",)),
        Author("Kwame Mensah", ("KNUST", "Perimeter Institute")),
        Author("Luis Ortega", ()),
    )
    assert entry.categories == ("cond-mat.str-el", "cond-mat.stat-mech")
    assert entry.primary_category == "cond-mat.str-el"
    assert entry.doi == "10.1103/PhysRevB.104.045112"
    assert entry.doi_url == "http://dx.doi.org/10.1103/PhysRevB.104.045112"
    assert entry.journal_ref == "Phys. Rev. B 104, 045112 (2021)"
    assert entry.comment == "12 pages, 5 figures; v2: corrected Fig. 3"
    assert entry.published == datetime(2021, 3, 8, 17, 59, 2, tzinfo=UTC)
    assert entry.updated == datetime(2021, 6, 14, 9, 12, 44, tzinfo=UTC)
    assert entry.abs_url == "http://arxiv.org/abs/2103.04521v2"
    assert entry.pdf_url == "http://arxiv.org/pdf/2103.04521v2"


def test_versions_non_ascii_and_old_ids() -> None:
    _, second, german, old = parse_feed(_feed()).entries
    assert (second.arxiv_id, second.version, second.doi, second.journal_ref) == ("2103.04521", 1, None, None)
    assert german.title == (
        "Über die Quantisierung von Eichfeldern: Schrödinger-Funktionale und ihre Anwendungen — "
        "a study in {SU(N)} gauge theories"
    )
    assert german.authors[2].name == "Søren Kierkegaard-Ødegård"
    assert "量子場の理論" in german.abstract
    assert german.categories == ("hep-th", "hep-lat", "81T13")
    assert (old.arxiv_id, old.version) == ("hep-ex/0307015", 1)
    assert old.published == datetime(2003, 7, 7, 13, 46, 39, tzinfo=timezone(timedelta(hours=-4)))
    assert old.title == "Multi-Electron Production at High Transverse Momenta in ep Collisions at HERA"


def test_zero_hits_is_an_empty_list() -> None:
    parsed = parse_feed(feed([], query=canonical("ti:nothing", "", 0, 10), total=0, start=0))
    assert (parsed.total_results, parsed.entries) == (0, [])


def test_the_error_entry_is_raised_with_arxivs_message() -> None:
    body = error_feed("incorrect id format for 1234.12345", query=canonical("", "1234.12345", 0, 10))
    with pytest.raises(ArxivQueryError, match=r"incorrect id format for 1234\.12345"):
        parse_feed(body)


@pytest.mark.parametrize(
    "body",
    [
        b"<html><body>Service Unavailable</body></html>",
        b"not xml at all",
        b"",
        b'<?xml version="1.0"?><rss/>',
    ],
)
def test_what_is_not_atom_is_refused(body: bytes) -> None:
    with pytest.raises(AtomError):
        parse_feed(body)


def test_entities_are_not_expanded() -> None:
    hostile = b"""<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<feed xmlns="http://www.w3.org/2005/Atom"><title>&b;</title></feed>"""
    try:
        parsed = parse_feed(hostile)
    except AtomError:
        return
    assert "aaaa" not in parsed.query


def test_the_standard_library_reader_agrees() -> None:
    body = b"\n".join([_feed()])
    assert parse_feed(body, xml=ElementTree.fromstring) == parse_feed(body)


def test_feedparser_reads_the_same_papers() -> None:
    body = feed(
        [generated_entry(n) for n in range(1, 6)] + list(fixture_entries().values()),
        query=canonical("all:x", "", 0, 10),
        total=9,
        start=0,
    )
    ours = parse_feed(body).entries
    theirs = feedparser.parse(body).entries
    assert [entry.title for entry in ours] == [" ".join(item.title.split()) for item in theirs]
    assert [[a.name for a in entry.authors] for entry in ours] == [
        [a.name for a in item.authors] for item in theirs
    ]
    assert [entry.journal_ref for entry in ours] == [item.get("arxiv_journal_ref") for item in theirs]

"""A 2,000-entry arXiv answer in arXiv's Atom format, and feedparser's reading of it for comparison."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dockyard.arxiv.atom import Author, Entry, normalise, split_id

WORDS = (
    *("quantum", "lattice", "gauge", "field", "spectral", "gap", "entropy", "neural", "network"),
    *("learning", "galaxy", "cluster", "dark", "matter", "topological", "phase", "transition"),
    *("boundary", "symmetry", "stochastic", "inference", "bound", "algorithm"),
)


def entry(number: int, *, offset: int) -> str:
    """One entry as arXiv writes it: three authors (two with affiliations), two categories, and a
    DOI, journal reference and comment on some."""
    arxiv_id = f"{2400 + offset % 99:04d}.{number:05d}"
    title = " ".join(WORDS[(number * 7 + k) % len(WORDS)] for k in range(9))
    abstract = " ".join(WORDS[(number * 13 + k) % len(WORDS)] for k in range(160))
    extras = ""
    if number % 3 == 0:
        extras += (
            f'    <arxiv:doi xmlns:arxiv="http://arxiv.org/schemas/atom">10.5555/b.{number}</arxiv:doi>\n'
            f'    <link title="doi" href="http://dx.doi.org/10.5555/b.{number}" rel="related"/>\n'
        )
    if number % 4 == 0:
        extras += (
            '    <arxiv:journal_ref xmlns:arxiv="http://arxiv.org/schemas/atom">'
            f"Phys. Rev. D {number % 110}, {number} (2024)</arxiv:journal_ref>\n"
        )
    return f"""  <entry>
    <id>http://arxiv.org/abs/{arxiv_id}v{1 + number % 3}</id>
    <updated>2024-02-{1 + number % 28:02d}T10:00:00Z</updated>
    <published>2024-01-{1 + number % 28:02d}T10:00:00Z</published>
    <title>{title[:60]}
  {title[60:]}</title>
    <summary>  {abstract[:400]}
{abstract[400:]}
</summary>
    <author>
      <name>Author {number % 997} One</name>
      <arxiv:affiliation xmlns:arxiv="http://arxiv.org/schemas/atom">Institute {number % 41}</arxiv:affiliation>
    </author>
    <author>
      <name>Author {number % 311} Two</name>
      <arxiv:affiliation xmlns:arxiv="http://arxiv.org/schemas/atom">University {number % 17}</arxiv:affiliation>
    </author>
    <author>
      <name>Author {number % 101} Three</name>
    </author>
    <arxiv:comment xmlns:arxiv="http://arxiv.org/schemas/atom">{10 + number % 30} pages, {number % 9} figures</arxiv:comment>
{extras}    <link href="http://arxiv.org/abs/{arxiv_id}v{1 + number % 3}" rel="alternate" type="text/html"/>
    <link title="pdf" href="http://arxiv.org/pdf/{arxiv_id}v{1 + number % 3}" rel="related" type="application/pdf"/>
    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="hep-th" scheme="http://arxiv.org/schemas/atom"/>
    <category term="hep-th" scheme="http://arxiv.org/schemas/atom"/>
    <category term="gr-qc" scheme="http://arxiv.org/schemas/atom"/>
  </entry>
"""  # noqa: E501


def page(count: int = 2000, *, offset: int = 0) -> bytes:
    """A results page of `count` entries (ids distinct per `offset`)."""
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
        'xmlns:arxiv="http://arxiv.org/schemas/atom">\n'
        '  <title type="html">ArXiv Query: search_query=all:quantum&amp;id_list=&amp;start=0&amp;'
        f"max_results={count}</title>\n"
        "  <id>http://arxiv.org/api/bench</id>\n  <updated>2026-12-07T00:00:00-05:00</updated>\n"
        f"  <opensearch:totalResults>{count * 10}</opensearch:totalResults>\n"
        "  <opensearch:startIndex>0</opensearch:startIndex>\n"
        f"  <opensearch:itemsPerPage>{count}</opensearch:itemsPerPage>\n"
    )
    body = "".join(entry(number, offset=offset) for number in range(1, count + 1))
    return (head + body + "</feed>\n").encode()


def feedparser_entries(body: bytes) -> list[Entry]:
    """The same entries read with feedparser (which flattens affiliations to the entry, §C)."""
    import feedparser

    parsed: Any = feedparser.parse(body)
    found = []
    for item in parsed.entries:
        arxiv_id, version = split_id(item.id)
        links = {link.get("title") or link.get("rel"): link.get("href") for link in item.get("links", [])}
        found.append(
            Entry(
                arxiv_id=arxiv_id,
                version=version or 1,
                title=normalise(item.title),
                abstract=normalise(item.summary),
                authors=tuple(Author(author.name) for author in item.get("authors", [])),
                categories=tuple(tag.term for tag in item.get("tags", [])),
                primary_category=item.get("arxiv_primary_category", {}).get("term"),
                doi=item.get("arxiv_doi"),
                journal_ref=item.get("arxiv_journal_ref"),
                comment=item.get("arxiv_comment"),
                published=datetime.fromisoformat(item.published),
                updated=datetime.fromisoformat(item.updated),
                abs_url=links.get("alternate"),
                pdf_url=links.get("pdf"),
                doi_url=links.get("doi"),
            )
        )
    return found

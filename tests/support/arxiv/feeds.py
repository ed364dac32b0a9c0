"""Atom documents in arXiv's format: the recorded fixture entries, generated entries, whole feeds."""

from __future__ import annotations

import re
from html import escape
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
NAMESPACES = (
    'xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" '
    'xmlns:arxiv="http://arxiv.org/schemas/atom"'
)
ENTRY = re.compile(r"<entry>.*?</entry>", re.DOTALL)
ENTRY_ID = re.compile(r"<id>http://arxiv.org/abs/(.+?)</id>")


def fixture_entries() -> dict[str, str]:
    """The recorded entries by versioned arXiv id (e.g. 2103.04521v2), in file order."""
    text = (FIXTURES / "entries.xml").read_text(encoding="utf-8")
    found = {}
    for entry in ENTRY.findall(text):
        match = ENTRY_ID.search(entry)
        assert match is not None
        found[match.group(1)] = entry
    return found


def generated_entry(number: int, *, topic: str = "lattice") -> str:
    """A plausible entry numbered `number` (id 2401.NNNNN, version 1), in arXiv's format."""
    arxiv_id = f"2401.{number:05d}"
    day = 1 + number % 28
    return f"""<entry>
    <id>http://arxiv.org/abs/{arxiv_id}v1</id>
    <updated>2024-01-{day:02d}T10:00:00Z</updated>
    <published>2024-01-{day:02d}T10:00:00Z</published>
    <title>Generated study {number} of {topic} models
  and their limits</title>
    <summary>  We study {topic} model number {number} and bound its spectral gap.
The method is new.
</summary>
    <author>
      <name>Author {number % 97} Example</name>
      <arxiv:affiliation xmlns:arxiv="http://arxiv.org/schemas/atom">Inst. {number % 13}</arxiv:affiliation>
    </author>
    <author>
      <name>Second Author {number % 31}</name>
    </author>
    <arxiv:comment xmlns:arxiv="http://arxiv.org/schemas/atom">{5 + number % 20} pages</arxiv:comment>
    <link href="http://arxiv.org/abs/{arxiv_id}v1" rel="alternate" type="text/html"/>
    <link title="pdf" href="http://arxiv.org/pdf/{arxiv_id}v1" rel="related" type="application/pdf"/>
    <arxiv:primary_category xmlns:arxiv="http://arxiv.org/schemas/atom" term="math-ph" scheme="http://arxiv.org/schemas/atom"/>
    <category term="math-ph" scheme="http://arxiv.org/schemas/atom"/>
    <category term="math.MP" scheme="http://arxiv.org/schemas/atom"/>
  </entry>"""


def canonical(search_query: str, id_list: str, start: int, max_results: int) -> str:
    """The query as arXiv's feed title and self link write it."""
    return f"search_query={search_query}&id_list={id_list}&start={start}&max_results={max_results}"


def feed(entries: list[str], *, query: str, total: int, start: int) -> bytes:
    """A results feed holding `entries`, reporting `total` results."""
    head = f"""<?xml version="1.0" encoding="UTF-8"?>
<feed {NAMESPACES}>
  <link href="http://arxiv.org/api/query?{escape(query)}" rel="self" type="application/atom+xml"/>
  <title type="html">ArXiv Query: {escape(query)}</title>
  <id>http://arxiv.org/api/Zq8hT3RGkIjmWu0yBw1dvyK2a1c</id>
  <updated>2026-12-07T00:00:00-05:00</updated>
  <opensearch:totalResults xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">{total}</opensearch:totalResults>
  <opensearch:startIndex xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">{start}</opensearch:startIndex>
  <opensearch:itemsPerPage xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/">{len(entries)}</opensearch:itemsPerPage>
"""
    return (head + "\n".join(f"  {entry}" for entry in entries) + "\n</feed>\n").encode()


def error_feed(message: str, *, query: str) -> bytes:
    """arXiv's error answer carrying `message`."""
    text = (FIXTURES / "error.xml").read_text(encoding="utf-8")
    slug = re.sub(r"\W+", "_", message).strip("_")
    return (
        text.replace("QUERY", escape(query)).replace("SLUG", escape(slug)).replace("MESSAGE", escape(message))
    ).encode()

"""arXiv's Atom answers read into entries (specs/arxiv.md §C).

lxml reads the document (bench/arxiv measured it against feedparser and the standard library's
ElementTree on a 2,000-entry page; see bench/README.md); the walk below uses only the ElementTree
API, so `parse_feed(body, xml=ElementTree.fromstring)` reads the same way. arXiv's error answer is
a feed with one entry titled "Error" whose id points at /api/errors: it raises `ArxivQueryError`
and never becomes a paper.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from lxml import etree

ATOM = "{http://www.w3.org/2005/Atom}"
OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
ARXIV = "{http://arxiv.org/schemas/atom}"
TITLE_PREFIX = "ArXiv Query:"

VERSIONED = re.compile(r"(?P<id>.+?)v(?P<version>[1-9]\d*)")

# No DTDs, entities or network: the document comes from outside.
_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


class AtomError(ValueError):
    """The answer is not an Atom feed as arXiv writes them."""


class ArxivQueryError(ValueError):
    """arXiv refused the query; the message is arXiv's own."""


@dataclass(frozen=True)
class Author:
    name: str
    affiliations: tuple[str, ...] = ()


@dataclass(frozen=True)
class Entry:
    """One paper version as arXiv describes it."""

    arxiv_id: str
    version: int
    title: str
    abstract: str
    authors: tuple[Author, ...]
    categories: tuple[str, ...]
    primary_category: str | None
    doi: str | None
    journal_ref: str | None
    comment: str | None
    published: datetime | None
    updated: datetime | None
    abs_url: str | None
    pdf_url: str | None
    doi_url: str | None


@dataclass(frozen=True)
class Feed:
    """One answer: arXiv's canonical query (the title without its prefix), totals and entries."""

    query: str
    total_results: int
    start_index: int
    items_per_page: int
    entries: list[Entry]


def lxml_fromstring(body: bytes) -> Any:
    """The root element of `body`, read by lxml without entities, DTDs or network."""
    return etree.fromstring(body, _PARSER)


def normalise(text: str | None) -> str:
    """`text` with runs of whitespace (line breaks included) collapsed to one space, trimmed."""
    return " ".join(text.split()) if text else ""


def _optional(text: str | None) -> str | None:
    value = normalise(text)
    return value or None


def _when(text: str | None) -> datetime | None:
    value = normalise(text)
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _int(text: str | None, what: str) -> int:
    try:
        return int(normalise(text) or "0")
    except ValueError as exc:
        raise AtomError(f"opensearch:{what} is not a number: {text!r}") from exc


def split_id(url: str) -> tuple[str, int | None]:
    """(arXiv id, version) of an abstract URL like http://arxiv.org/abs/hep-ex/0307015v1."""
    _, marker, tail = url.partition("/abs/")
    identifier = tail if marker else url
    found = VERSIONED.fullmatch(identifier)
    if found is None:
        return identifier, None
    return found.group("id"), int(found.group("version"))


# Tags compared in the walk below: one pass over each entry's children, no path lookups.
ID, TITLE, SUMMARY = f"{ATOM}id", f"{ATOM}title", f"{ATOM}summary"
PUBLISHED, UPDATED = f"{ATOM}published", f"{ATOM}updated"
AUTHOR, NAME, LINK, CATEGORY = f"{ATOM}author", f"{ATOM}name", f"{ATOM}link", f"{ATOM}category"
PRIMARY, AFFILIATION = f"{ARXIV}primary_category", f"{ARXIV}affiliation"
DOI, JOURNAL_REF, COMMENT = f"{ARXIV}doi", f"{ARXIV}journal_ref", f"{ARXIV}comment"


def _author(node: Any) -> Author:
    name = ""
    affiliations = []
    for child in node:
        if child.tag == NAME:
            name = normalise(child.text)
        elif child.tag == AFFILIATION and child.text:
            affiliations.append(normalise(child.text))
    return Author(name, tuple(affiliations))


def _entry(node: Any) -> Entry:
    """One entry, read in a single pass over its children."""
    found: dict[str, Any] = {}
    authors: list[Author] = []
    categories: list[str] = []
    links: dict[str, str] = {}
    for child in node:
        tag = child.tag
        if tag == AUTHOR:
            authors.append(_author(child))
        elif tag == CATEGORY:
            term = child.get("term")
            if term:
                categories.append(term)
        elif tag == LINK:
            key = "alternate" if child.get("rel") == "alternate" else child.get("title") or ""
            links.setdefault(key, child.get("href") or "")
        elif tag == PRIMARY:
            found[tag] = child.get("term")
        else:
            found[tag] = child.text
    url = normalise(found.get(ID))
    arxiv_id, version = split_id(url)
    if version is None and links.get("alternate"):
        version = split_id(links["alternate"])[1]
    return Entry(
        arxiv_id=arxiv_id,
        version=version or 1,
        title=normalise(found.get(TITLE)),
        abstract=normalise(found.get(SUMMARY)),
        authors=tuple(authors),
        categories=tuple(categories),
        primary_category=found.get(PRIMARY),
        doi=_optional(found.get(DOI)),
        journal_ref=_optional(found.get(JOURNAL_REF)),
        comment=_optional(found.get(COMMENT)),
        published=_when(found.get(PUBLISHED)),
        updated=_when(found.get(UPDATED)),
        abs_url=links.get("alternate") or url or None,
        pdf_url=links.get("pdf"),
        doi_url=links.get("doi"),
    )


def _is_error(node: Any) -> bool:
    if "/api/errors" in (node.findtext(ID) or ""):
        return True
    return normalise(node.findtext(TITLE)) == "Error" and node.find(CATEGORY) is None


def parse_feed(body: bytes, *, xml: Callable[[bytes], Any] = lxml_fromstring) -> Feed:
    """The feed in `body`; ArxivQueryError for arXiv's error entry, AtomError for anything not Atom."""
    try:
        root = xml(body)
    except (etree.XMLSyntaxError, SyntaxError, ValueError) as exc:
        raise AtomError(f"the answer is not XML: {exc}") from exc
    if root.tag != f"{ATOM}feed":
        raise AtomError(f"the answer is not an Atom feed (its root is {root.tag!r})")
    nodes = root.findall(f"{ATOM}entry")
    for node in nodes[:1] if len(nodes) == 1 else ():  # an error answer has exactly one entry
        if _is_error(node):
            message = normalise(node.findtext(f"{ATOM}summary")) or "arXiv refused the query"
            raise ArxivQueryError(message)
    title = normalise(root.findtext(f"{ATOM}title"))
    query = title[len(TITLE_PREFIX) :].strip() if title.startswith(TITLE_PREFIX) else title
    return Feed(
        query=query,
        total_results=_int(root.findtext(f"{OPENSEARCH}totalResults"), "totalResults"),
        start_index=_int(root.findtext(f"{OPENSEARCH}startIndex"), "startIndex"),
        items_per_page=_int(root.findtext(f"{OPENSEARCH}itemsPerPage"), "itemsPerPage"),
        entries=[_entry(node) for node in nodes],
    )

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


def _entry(node: Any) -> Entry:
    url = normalise(node.findtext(f"{ATOM}id"))
    arxiv_id, version = split_id(url)
    abs_url = pdf_url = doi_url = None
    for link in node.iterfind(f"{ATOM}link"):
        rel, title, href = link.get("rel"), link.get("title"), link.get("href")
        if rel == "alternate":
            abs_url = href
        elif title == "pdf":
            pdf_url = href
        elif title == "doi":
            doi_url = href
    if version is None and abs_url:
        version = split_id(abs_url)[1]
    authors = tuple(
        Author(
            normalise(author.findtext(f"{ATOM}name")),
            tuple(normalise(aff.text) for aff in author.iterfind(f"{ARXIV}affiliation") if aff.text),
        )
        for author in node.iterfind(f"{ATOM}author")
    )
    primary = node.find(f"{ARXIV}primary_category")
    return Entry(
        arxiv_id=arxiv_id,
        version=version or 1,
        title=normalise(node.findtext(f"{ATOM}title")),
        abstract=normalise(node.findtext(f"{ATOM}summary")),
        authors=authors,
        categories=tuple(
            term for category in node.iterfind(f"{ATOM}category") if (term := category.get("term"))
        ),
        primary_category=primary.get("term") if primary is not None else None,
        doi=_optional(node.findtext(f"{ARXIV}doi")),
        journal_ref=_optional(node.findtext(f"{ARXIV}journal_ref")),
        comment=_optional(node.findtext(f"{ARXIV}comment")),
        published=_when(node.findtext(f"{ATOM}published")),
        updated=_when(node.findtext(f"{ATOM}updated")),
        abs_url=abs_url or url or None,
        pdf_url=pdf_url,
        doi_url=doi_url,
    )


def _is_error(node: Any) -> bool:
    if "/api/errors" in (node.findtext(f"{ATOM}id") or ""):
        return True
    return normalise(node.findtext(f"{ATOM}title")) == "Error" and node.find(f"{ATOM}category") is None


def parse_feed(body: bytes, *, xml: Callable[[bytes], Any] = lxml_fromstring) -> Feed:
    """The feed in `body`; ArxivQueryError for arXiv's error entry, AtomError for anything not Atom."""
    try:
        root = xml(body)
    except (etree.XMLSyntaxError, SyntaxError, ValueError) as exc:
        raise AtomError(f"the answer is not XML: {exc}") from exc
    if root.tag != f"{ATOM}feed":
        raise AtomError(f"the answer is not an Atom feed (its root is {root.tag!r})")
    nodes = root.findall(f"{ATOM}entry")
    for node in nodes:
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

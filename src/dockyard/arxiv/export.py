"""Papers exported as CSV (RFC 4180, a header row) or BibTeX (one @misc entry per paper version)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from enum import StrEnum
from typing import Any

CSV_COLUMNS = (
    "arxiv_id",
    "version",
    "title",
    "authors",
    "affiliations",
    "primary_category",
    "categories",
    "published",
    "updated",
    "doi",
    "journal_ref",
    "comment",
    "abs_url",
    "pdf_url",
    "abstract",
)


class ExportFormat(StrEnum):
    csv = "csv"
    bibtex = "bibtex"


MEDIA_TYPES = {
    ExportFormat.csv: "text/csv; charset=utf-8",
    ExportFormat.bibtex: "application/x-bibtex; charset=utf-8",
}
EXTENSIONS = {ExportFormat.csv: "csv", ExportFormat.bibtex: "bib"}

KEY_UNSAFE = re.compile(r"[^A-Za-z0-9]+")


async def csv_chunks(
    batches: AsyncIterator[list[dict[str, Any]]], *, with_rank: bool
) -> AsyncIterator[bytes]:
    """CSV text, a header row first, one chunk per batch."""
    columns = ("rank", *CSV_COLUMNS) if with_rank else CSV_COLUMNS
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(columns)
    yield buffer.getvalue().encode()
    async for rows in batches:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([tuple(row.get(column) for column in columns) for row in rows])
        yield buffer.getvalue().encode()


def bibtex_value(text: str) -> str:
    """`text` safe inside a braced BibTeX value: braces kept when balanced, else made parentheses."""
    depth = 0
    for char in text:
        depth += (char == "{") - (char == "}")
        if depth < 0:
            break
    if depth != 0:
        text = text.replace("{", "(").replace("}", ")")
    return text


def bibtex_entry(row: dict[str, Any]) -> str:
    """One paper version as an @misc entry keyed by its arXiv id and version."""
    identifier = f"{row['arxiv_id']}v{row['version']}"
    published = row.get("published") or ""
    fields: list[tuple[str, Any]] = [
        ("title", row.get("title")),
        (
            "author",
            " and ".join(name.strip() for name in (row.get("authors") or "").split(", ") if name.strip()),
        ),
        ("year", published[:4]),
        ("month", published[5:7]),
        ("eprint", identifier),
        ("archivePrefix", "arXiv"),
        ("primaryClass", row.get("primary_category")),
        ("doi", row.get("doi")),
        ("note", row.get("journal_ref")),
        ("url", row.get("abs_url")),
        ("abstract", row.get("abstract")),
    ]
    body = ",\n".join(f"  {name} = {{{bibtex_value(str(value))}}}" for name, value in fields if value)
    return f"@misc{{arXiv_{KEY_UNSAFE.sub('_', identifier)},\n{body}\n}}\n\n"


async def bibtex_chunks(batches: AsyncIterator[list[dict[str, Any]]]) -> AsyncIterator[bytes]:
    """BibTeX text, one chunk per batch."""
    async for rows in batches:
        yield "".join(bibtex_entry(row) for row in rows).encode()

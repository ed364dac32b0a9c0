"""arXiv's search query syntax: a tree of terms, its canonical text, and a parser that checks raw text.

A query is a term (`ti:electron`, `au:"del maestro"`), a date range
(`submittedDate:[202301010000 TO 202312312359]`, GMT) or a group of them joined by `AND`, `OR` or
`ANDNOT`, nested with parentheses (specs/arxiv.md §C). Both ways in — the JSON tree of the search
API and a raw `search_query` — end as the same `Node`, rendered by `render` into the one canonical
text that is sent, cached under and stored. A raw query is parsed first, so a typo is a 422 that
says what to fix instead of an arXiv call that spends the shared budget.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

FIELDS = ("ti", "au", "abs", "co", "jr", "cat", "rn", "all")
DATE_FIELDS = ("submittedDate", "lastUpdatedDate")
OPERATORS = ("AND", "OR", "ANDNOT")
SORT_BY = ("relevance", "lastUpdatedDate", "submittedDate")
SORT_ORDER = ("ascending", "descending")

MAX_TERMS = 64
MAX_DEPTH = 8
MAX_QUERY_CHARS = 2000
MAX_RESULTS_TOTAL = 30_000  # arXiv's limit on start + max_results

# A word of a term: no spaces, quotes, parentheses, brackets or colons (those are the syntax).
WORD = re.compile(r"[^\s\"()\[\]:\x00-\x1f\x7f]+")
PHRASE_TEXT = re.compile(r"[^\"\x00-\x1f\x7f]+")
NEW_ID = re.compile(r"\d{4}\.\d{4,5}(?:v[1-9]\d{0,3})?")
OLD_ID = re.compile(r"[a-z]+(?:-[a-z]+)*(?:\.[A-Z]{2})?/\d{7}(?:v[1-9]\d{0,3})?")
DATE_DIGITS = re.compile(r"\d{12}")


class QuerySyntaxError(ValueError):
    """A query that arXiv would misread or refuse; the message says what to fix."""


@dataclass(frozen=True)
class Term:
    """`field:word`, or `field:"a phrase"` when `phrase`."""

    field: str
    text: str
    phrase: bool = False


@dataclass(frozen=True)
class DateRange:
    """`field:[start TO end]`, both as YYYYMMDDHHMM in GMT."""

    field: str
    start: str
    end: str


@dataclass(frozen=True)
class Group:
    """`first op node op node …`: the operators are kept as written (arXiv's own precedence applies)."""

    first: Node
    rest: tuple[tuple[str, Node], ...] = ()


Node = Term | DateRange | Group


def term(field: str, value: str, *, phrase: bool = False) -> Node:
    """A checked term; several words without `phrase` become the AND of one term per word."""
    if field not in FIELDS:
        raise QuerySyntaxError(f"unknown field {field!r}; use one of {', '.join(FIELDS)}")
    words = value.split()
    if not words:
        raise QuerySyntaxError(f"the {field}: term is empty")
    if phrase and len(words) > 1:
        text = " ".join(words)
        if not PHRASE_TEXT.fullmatch(text):
            raise QuerySyntaxError(f"the phrase {text!r} cannot contain double quotes or control characters")
        return Term(field, text, phrase=True)
    for word in words:
        if not WORD.fullmatch(word) or word in OPERATORS:
            raise QuerySyntaxError(
                f"{word!r} cannot be searched as a word: quotes, parentheses, brackets and colons "
                "are query syntax, control characters are not searchable, and AND/OR/ANDNOT are "
                "operators (search those in a phrase)"
            )
    if len(words) == 1:
        return Term(field, words[0])
    nodes: list[Node] = [Term(field, word) for word in words]
    return Group(nodes[0], tuple(("AND", node) for node in nodes[1:]))


def date_digits(moment: datetime) -> str:
    """`moment` as arXiv's YYYYMMDDHHMM in GMT (a naive time is taken as UTC)."""
    try:
        if moment.tzinfo is not None:
            moment = moment.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise QuerySyntaxError(f"{moment.isoformat()} is outside the dates arXiv can search") from exc
    if not 1000 <= moment.year <= 9999:
        raise QuerySyntaxError(f"{moment.isoformat()} is outside the dates arXiv can search")
    return moment.strftime("%Y%m%d%H%M")


def date_range(field: str, start: str, end: str) -> DateRange:
    """A checked date range."""
    if field not in DATE_FIELDS:
        raise QuerySyntaxError(f"unknown date field {field!r}; use submittedDate or lastUpdatedDate")
    for value in (start, end):
        if not DATE_DIGITS.fullmatch(value):
            raise QuerySyntaxError(f"{value!r} is not a date as YYYYMMDDHHMM (GMT), e.g. 202301311830")
        try:
            datetime.strptime(value, "%Y%m%d%H%M")
        except ValueError as exc:
            raise QuerySyntaxError(f"{value!r} is not a real date and time (YYYYMMDDHHMM)") from exc
    if start > end:
        raise QuerySyntaxError(f"the {field} range starts ({start}) after it ends ({end})")
    return DateRange(field, start, end)


def render(node: Node, *, nested: bool = False) -> str:
    """The canonical text of `node`: single spaces, capital operators, nested groups in parentheses."""
    if isinstance(node, Term):
        return f'{node.field}:"{node.text}"' if node.phrase else f"{node.field}:{node.text}"
    if isinstance(node, DateRange):
        return f"{node.field}:[{node.start} TO {node.end}]"
    if not node.rest:
        return render(node.first, nested=nested)
    node = _flatten(node)
    text = " ".join(
        [render(node.first, nested=True), *(f"{op} {render(item, nested=True)}" for op, item in node.rest)]
    )
    return f"({text})" if nested else text


def _only_op(node: Node) -> str | None:
    """The operator of a group joined by one AND or OR throughout, else None."""
    if not isinstance(node, Group) or not node.rest:
        return None
    ops = {op for op, _ in node.rest}
    return ops.pop() if len(ops) == 1 and ops <= {"AND", "OR"} else None


def _flatten(node: Group) -> Group:
    """`a AND (b AND c)` as `a AND b AND c`: the same query, one canonical text."""
    op = _only_op(node)
    if op is None:
        return node
    items: list[Node] = []
    for item in (node.first, *(child for _, child in node.rest)):
        if _only_op(item) == op:
            assert isinstance(item, Group)
            flat = _flatten(item)
            items.extend((flat.first, *(child for _, child in flat.rest)))
        else:
            items.append(item)
    return Group(items[0], tuple((op, item) for item in items[1:]))


def check_size(node: Node) -> None:
    """Refuse trees past MAX_TERMS terms or MAX_DEPTH levels."""
    terms = 0

    def walk(item: Node, depth: int) -> None:
        nonlocal terms
        if depth > MAX_DEPTH:
            raise QuerySyntaxError(f"the query nests deeper than {MAX_DEPTH} levels; simplify it")
        if isinstance(item, Group):
            for child in (item.first, *(child for _, child in item.rest)):
                walk(child, depth + 1)
        else:
            terms += 1

    walk(node, 1)
    if terms > MAX_TERMS:
        raise QuerySyntaxError(f"the query has {terms} terms; at most {MAX_TERMS} are allowed")


TOKEN = re.compile(
    r"""\s*(?:
        (?P<open>\() | (?P<close>\)) |
        (?P<date>(?P<dfield>[A-Za-z]+):\[\s*(?P<start>[^\s\]]*)\s+TO\s+(?P<end>[^\s\]]*)\s*\]) |
        (?P<phrase>(?P<pfield>[A-Za-z]+):"(?P<ptext>[^"]*)") |
        (?P<quote>") |
        (?P<word>[^\s()"]+)
    )""",
    re.VERBOSE,
)


def _tokens(text: str) -> list[tuple[str, re.Match[str]]]:
    tokens = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = TOKEN.match(text, position)
        if match is None or match.end() == position:  # pragma: no cover - the word rule matches anything
            raise QuerySyntaxError(f"cannot read the query at character {position + 1}")
        kind = match.lastgroup or ""
        if kind in ("dfield", "start", "end", "pfield", "ptext"):
            kind = "date" if match.group("date") else "phrase"
        tokens.append((kind, match))
        position = match.end()
    return tokens


def parse(text: str) -> Node:
    """Parse a raw arXiv search_query (`+` read as a space, as in arXiv's URLs) into a checked tree."""
    if len(text) > MAX_QUERY_CHARS:
        raise QuerySyntaxError(f"the query is longer than {MAX_QUERY_CHARS} characters")
    tokens = _tokens(text.replace("+", " "))
    if not tokens:
        raise QuerySyntaxError("the query is empty")
    position = 0

    def operand() -> Node:
        nonlocal position
        if position >= len(tokens):
            raise QuerySyntaxError("the query ends where a term was expected")
        kind, match = tokens[position]
        position += 1
        if kind == "open":
            node = group(closing=True)
            return node
        if kind == "close":
            raise QuerySyntaxError("a ')' closes a group that was never opened, or follows an operator")
        if kind == "quote":
            raise QuerySyntaxError('a phrase must follow a field, like ti:"quantum criticality"')
        if kind == "date":
            return date_range(match.group("dfield"), match.group("start"), match.group("end"))
        if kind == "phrase":
            field, words = match.group("pfield"), match.group("ptext")
            if field in DATE_FIELDS:
                raise QuerySyntaxError(f"{field} takes a range: {field}:[YYYYMMDDHHMM TO YYYYMMDDHHMM]")
            _check_field(field)
            return term(field, words, phrase=True)
        word = match.group("word")
        if word in OPERATORS:
            raise QuerySyntaxError(f"{word} needs a term on both sides")
        field, colon, value = word.partition(":")
        if not colon:
            raise QuerySyntaxError(
                f"{word!r} has no field: write ti:{word}, abs:{word} or all:{word} "
                "(operators are AND, OR and ANDNOT, in capitals)"
            )
        if field in DATE_FIELDS:
            raise QuerySyntaxError(f"{field} takes a range: {field}:[YYYYMMDDHHMM TO YYYYMMDDHHMM]")
        _check_field(field)
        if not value:
            raise QuerySyntaxError(f"the {field}: term is empty")
        return term(field, value)

    def group(*, closing: bool) -> Node:
        nonlocal position
        first = operand()
        rest: list[tuple[str, Node]] = []
        while position < len(tokens):
            kind, match = tokens[position]
            if kind == "close":
                if not closing:
                    raise QuerySyntaxError("a ')' closes a group that was never opened")
                position += 1
                return Group(first, tuple(rest))
            if (
                kind == "word"
                and match.group("word").upper() in OPERATORS
                and match.group("word") not in OPERATORS
            ):
                raise QuerySyntaxError(f"operators are written in capitals: {match.group('word').upper()}")
            if kind != "word" or match.group("word") not in OPERATORS:
                raise QuerySyntaxError(
                    f"expected AND, OR or ANDNOT before {match.group(0).strip()!r} "
                    "(join terms with an operator, or quote a phrase)"
                )
            position += 1
            rest.append((match.group("word"), operand()))
        if closing:
            raise QuerySyntaxError("a '(' is never closed")
        return Group(first, tuple(rest))

    node = group(closing=False)
    check_size(node)
    return node


def _check_field(field: str) -> None:
    if field == "id":
        raise QuerySyntaxError("search by id with id_list, which also handles versions")
    if field not in FIELDS:
        raise QuerySyntaxError(
            f"unknown field {field!r}; use one of {', '.join(FIELDS)} or submittedDate/lastUpdatedDate ranges"
        )


def check_id(arxiv_id: str) -> str:
    """`arxiv_id` if it is an arXiv identifier (2101.00001, hep-ex/0307015, optional vN)."""
    if not (NEW_ID.fullmatch(arxiv_id) or OLD_ID.fullmatch(arxiv_id)):
        raise QuerySyntaxError(
            f"{arxiv_id!r} is not an arXiv identifier (like 2101.00001, 2101.00001v2 or hep-ex/0307015)"
        )
    return arxiv_id


@dataclass(frozen=True)
class Request:
    """One search as arXiv receives it (the whole of it; slices share everything but start/max_results)."""

    search_query: str
    id_list: tuple[str, ...]
    start: int
    max_results: int
    sort_by: str = "relevance"
    sort_order: str = "descending"

    def canonical(self) -> str:
        """The text stored and shown for this search, in the order of arXiv's feed title."""
        return (
            f"search_query={self.search_query}&id_list={','.join(self.id_list)}"
            f"&start={self.start}&max_results={self.max_results}"
            f"&sortBy={self.sort_by}&sortOrder={self.sort_order}"
        )

    def slice(self, start: int, max_results: int) -> Request:
        """The same search for results `start` .. `start + max_results - 1`."""
        return Request(self.search_query, self.id_list, start, max_results, self.sort_by, self.sort_order)

    def slices(self, page_size: int) -> list[Request]:
        """The calls that fetch this search, at most `page_size` results each."""
        return [
            self.slice(start, min(page_size, self.start + self.max_results - start))
            for start in range(self.start, self.start + self.max_results, page_size)
        ] or [self]

    def query_string(self) -> str:
        """The URL query of this call: spaces as `+`, parentheses and quotes escaped (%28 %29 %22)."""
        params = {
            "search_query": self.search_query,
            "id_list": ",".join(self.id_list),
            "start": str(self.start),
            "max_results": str(self.max_results),
            "sortBy": self.sort_by,
            "sortOrder": self.sort_order,
        }
        return urlencode(params, safe=":,/")

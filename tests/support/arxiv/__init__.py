"""A stand-in for arXiv's query API: a real HTTP server answering Atom as arXiv does (specs/arxiv.md §C).

Searches are answered from `corpus` (search_query -> entries); `id_list` is answered from every
entry the stand-in knows, the latest version unless one is pinned, filtered by the query when both
are given. A query listed in `errors` gets arXiv's error answer (HTTP 400, one "Error" entry).
`script` holds what the next requests get instead of a normal answer: a status (429, 503, 500),
"empty" (a page with no entries although results are reported), ("slow", seconds) or "garbage".
Every request is recorded with the time it was received, its parameters and its headers, and the
most requests ever in progress at once is kept, so tests can check the client's manners.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support.arxiv.feeds import canonical, error_feed, feed, fixture_entries, generated_entry

__all__ = ["ArxivStandIn", "Received", "arxiv_standin", "generated_entry"]


@dataclass(frozen=True)
class Received:
    """One request as the stand-in saw it."""

    at: float  # time.time() when it arrived
    params: dict[str, str]
    headers: dict[str, str]


@dataclass
class ArxivStandIn:
    url: str = ""
    corpus: dict[str, list[str]] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    script: deque[Any] = field(default_factory=deque)
    received: list[Received] = field(default_factory=list)
    known: dict[str, str] = field(default_factory=fixture_entries)
    in_flight: int = 0
    most_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def calls(self) -> list[Received]:
        """The requests received so far."""
        with self.lock:
            return list(self.received)

    def by_id(self, ids: list[str]) -> list[str]:
        found = []
        for wanted in ids:
            if wanted in self.known:
                found.append(self.known[wanted])
                continue
            versions = sorted(
                (key for key in self.known if key.rsplit("v", 1)[0] == wanted),
                key=lambda key: int(key.rsplit("v", 1)[1]),
            )
            if versions:
                found.append(self.known[versions[-1]])
        return found

    def answer(self, params: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
        search_query = params.get("search_query", "")
        id_list = params.get("id_list", "")
        start = int(params.get("start", "0"))
        max_results = int(params.get("max_results", "10"))
        query = canonical(search_query, id_list, start, max_results)
        with self.lock:
            action = self.script.popleft() if self.script else None
        if isinstance(action, tuple) and action[0] == "slow":
            time.sleep(action[1])
            action = None
        if isinstance(action, int):
            return (
                action,
                b"<html><body>Too busy</body></html>",
                {"Content-Type": "text/html", "Retry-After": "0"},
            )
        if action == "garbage":
            return 200, b"<html><body>Maintenance</body></html>", {"Content-Type": "text/html"}
        if search_query in self.errors:
            return 400, error_feed(self.errors[search_query], query=query), {}
        if id_list:
            entries = self.by_id(id_list.split(","))
            if search_query:
                allowed = set(self.corpus.get(search_query, []))
                entries = [entry for entry in entries if entry in allowed]
        else:
            entries = self.corpus.get(search_query, [])
        page = entries[start : start + max_results]
        if action == "empty":
            page = []
        return 200, feed(page, query=query, total=len(entries), start=start), {}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        standin = self.server.standin
        arrived = time.time()
        params = {
            key: values[0]
            for key, values in parse_qs(urlsplit(self.path).query, keep_blank_values=True).items()
        }
        with standin.lock:
            standin.received.append(
                Received(arrived, params, {k.lower(): v for k, v in self.headers.items()})
            )
            standin.in_flight += 1
            standin.most_in_flight = max(standin.most_in_flight, standin.in_flight)
        try:
            status, body, headers = standin.answer(params)
            self.send_response(status)
            self.send_header(
                "Content-Type", headers.pop("Content-Type", "application/atom+xml; charset=utf-8")
            )
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            with standin.lock:
                standin.in_flight -= 1

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    standin: ArxivStandIn


@contextmanager
def arxiv_standin(port: int = 0) -> Iterator[ArxivStandIn]:
    """Serve a stand-in on 127.0.0.1 (a free port unless `port`) until the block ends."""
    standin = ArxivStandIn()
    server = _Server(("127.0.0.1", port), _Handler)
    server.standin = standin
    standin.url = f"http://127.0.0.1:{server.server_address[1]}/api/query"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield standin
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

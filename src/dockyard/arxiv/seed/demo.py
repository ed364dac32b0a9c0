"""The demo data set: four recorded searches over 16 invented papers, stored like real searches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dockyard.arxiv import syntax
from dockyard.arxiv.atom import Author, Entry
from dockyard.arxiv.store import store_search
from dockyard.core.seeds import Progress

# (topic words, category, authors with affiliations, journal reference or None)
TOPICS: dict[str, dict[str, Any]] = {
    "qec": {
        "category": "quant-ph",
        "titles": [
            "Quantum error correction with biased-noise cat qubits",
            "Decoding surface codes in linear time",
            "Quantum error correction below threshold on a superconducting processor",
            "Lattice surgery for fault-tolerant quantum computation",
            "Measurement-free quantum error correction",
            "Bosonic codes and the limits of quantum error correction",
        ],
        "authors": [("Ada Nakamura", "Kyoto University"), ("Jonas Åberg", "Chalmers"), ("Priya Raman", "")],
    },
    "ml": {
        "category": "cs.LG",
        "titles": [
            "Sparse attention for long documents",
            "Calibrated uncertainty in graph neural networks",
            "A note on the implicit bias of gradient descent",
            "Learning rate warm-up, revisited",
            "Distilling diffusion models into one step",
        ],
        "authors": [("Ada Lovelace-Kim", "Imperial College London"), ("Rémi Dubois", "INRIA")],
    },
    "cosmo": {
        "category": "astro-ph.CO",
        "titles": [
            "Baryon acoustic oscillations at redshift two",
            "The Hubble tension after a decade of\n  precision cosmology",
            "Weak lensing constraints on dark energy",
            "A catalogue of galaxy clusters from the thermal Sunyaev-Zel'dovich effect",
            "Primordial black holes as dark matter: a review",
        ],
        "authors": [("María José Fernández", "IAC"), ("Wei Zhang", "NAOC")],
    },
}

SEARCHES = [
    ('ti:"quantum error correction"', "qec", 6),
    ("au:lovelace AND cat:cs.LG", "ml", 5),
    ("cat:astro-ph.CO AND submittedDate:[202301010000 TO 202312312359]", "cosmo", 5),
    ('ti:"perpetual motion"', None, 0),
]


def _entries(topic: str, count: int, *, serial: int) -> list[Entry]:
    spec = TOPICS[topic]
    found = []
    for index, title in enumerate(spec["titles"][:count]):
        number = f"23{index + 1:02d}.{serial + index:05d}"
        version = 1 + index % 3
        published = datetime(2023, 1 + index, 3 + index, 14, 0, tzinfo=UTC)
        doi = f"10.5555/demo.{serial + index}" if index % 2 == 0 else None
        found.append(
            Entry(
                arxiv_id=number,
                version=version,
                title=" ".join(title.split()),
                abstract=f"We study {title.lower()}. This invented abstract is part of Dockyard's demo data.",
                authors=tuple(Author(name, (aff,) if aff else ()) for name, aff in spec["authors"]),
                categories=(spec["category"], "physics.data-an") if index % 2 else (spec["category"],),
                primary_category=spec["category"],
                doi=doi,
                journal_ref=f"Demo J. {10 + index} ({2023}) {100 + index}" if index % 3 == 0 else None,
                comment=f"{8 + index} pages, {index + 1} figures" if index % 2 == 0 else None,
                published=published,
                updated=published + timedelta(days=30 * (version - 1)),
                abs_url=f"http://arxiv.org/abs/{number}v{version}",
                pdf_url=f"http://arxiv.org/pdf/{number}v{version}",
                doi_url=f"http://dx.doi.org/{doi}" if doi else None,
            )
        )
    return found


async def seed_demo(conn: Any, progress: Progress) -> int:
    """Store the demo searches; rows written."""
    rows = 0
    progress(0, len(SEARCHES))
    for done, (text, topic, count) in enumerate(SEARCHES, start=1):
        entries = _entries(topic, count, serial=1000 * done) if topic else []
        request = syntax.Request(syntax.render(syntax.parse(text)), (), 0, 10)
        stored = await store_search(
            conn,
            request=request,
            ranked=list(enumerate(entries)),
            total_results=len(entries),
            status=200,
            from_cache=False,
            user_id=None,
            duration_ms=3100 + 40 * len(entries),
        )
        rows += 1 + 3 * stored.entries
        progress(done, len(SEARCHES))
    return rows

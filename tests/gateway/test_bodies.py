"""The body scanner finds exactly the top-level keys a JSON parser finds, however the bytes are chunked."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dockyard.core.errors import BadInput
from dockyard.gateway.bodies import KeyScanner

values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(
    document=st.dictionaries(st.text(max_size=12), values, max_size=6),
    cuts=st.lists(st.integers(min_value=0, max_value=10_000), max_size=8),
    ascii_only=st.booleans(),
    spaced=st.booleans(),
)
def test_keys_match_a_parser_at_any_chunking(
    document: dict[str, object], cuts: list[int], ascii_only: bool, spaced: bool
) -> None:
    body = json.dumps(document, ensure_ascii=ascii_only, indent=1 if spaced else None).encode()
    points = sorted({cut % (len(body) + 1) for cut in cuts})
    scanner = KeyScanner()
    found: list[str] = []
    for start, end in zip([0, *points], [*points, len(body)], strict=True):
        found += scanner.feed(body[start:end])
    assert found == list(document)
    assert scanner.ended


@pytest.mark.parametrize("body", [b"[1, 2]", b'"x"', b"12", b'{"x": [1]} {"y": [2]}'])
def test_anything_but_one_object_is_refused(body: bytes) -> None:
    scanner = KeyScanner()
    with pytest.raises(BadInput):
        scanner.feed(body)

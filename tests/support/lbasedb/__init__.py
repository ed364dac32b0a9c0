"""A stand-in for Lbasedb (specs/gateway-lbasedb.md sections 1 and 5), for tests and benchmarks.

No real Lbasedb can be built here, so this server answers as its HTTP API does: every route and
method, the data semantics of its five datatypes, its error kinds and texts, whole-body buffering
before acting — plus failure modes a gateway must survive and a record of what reached it.
It is a test support module, never a product feature. Run it alone with
`python -m tests.support.lbasedb --port 8080`.
"""

from __future__ import annotations

from tests.support.lbasedb.server import Fault, Received, StandIn
from tests.support.lbasedb.thread import running_standin

__all__ = ["Fault", "Received", "StandIn", "running_standin"]

"""What the arxiv service lets people do, and the caller type its search routes declare.

Reads are public, as they were before; a search spends the deployment's shared arXiv budget and
writes, so it needs an account holding `arxiv.search`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from dockyard.accounts.auth import Principal, require
from dockyard.core.services import Permission

SEARCH = Permission("arxiv.search", "Search arXiv and record the queries and their results")

Searcher = Annotated[Principal, Depends(require(SEARCH.codename))]

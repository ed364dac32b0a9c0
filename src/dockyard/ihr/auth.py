"""Who may call the IHR routes: the lists are public; the user routes need the caller's own account."""

from __future__ import annotations

from dockyard.accounts.auth import SelfService

Member = SelfService
"""A logged-in account acting on its own lists: a session, or an API token with `accounts.self`."""

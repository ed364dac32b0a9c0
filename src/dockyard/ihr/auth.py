"""Who may call the IHR routes: the lists are public; the user routes need any Dockyard account."""

from __future__ import annotations

from dockyard.accounts.auth import CurrentUser

Member = CurrentUser
"""A logged-in account (access token or API token); no permission beyond that (docs/ihr.md)."""

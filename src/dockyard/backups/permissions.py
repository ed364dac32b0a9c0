"""What the backups service lets people do."""

from __future__ import annotations

from dockyard.core.services import Permission

VIEW = Permission("backups.view", "See backup runs, checks, alerts and schedules")
MANAGE = Permission("backups.manage", "Register runs, acknowledge and silence alerts, change schedules")

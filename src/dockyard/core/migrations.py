"""What the migration files say the schema should be at, for /readyz.

Applying migrations is db/scripts/migrate_db.sh's job alone; this module only reads file names.
"""

from __future__ import annotations

import re
from pathlib import Path

MIGRATION_FILE = re.compile(r"^(?P<version>\d{12})_(?P<name>[a-z0-9_]+)\.sql$")


def expected_versions(migrations_dir: Path) -> list[str]:
    """Versions of every up-migration file in `migrations_dir`, oldest first."""
    if not migrations_dir.is_dir():
        return []
    versions = []
    for path in migrations_dir.iterdir():
        match = MIGRATION_FILE.match(path.name)
        if match:  # `.down.sql` files do not match: their names hold a dot
            versions.append(match["version"])
    return sorted(versions)

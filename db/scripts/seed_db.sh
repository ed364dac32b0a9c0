#!/usr/bin/env bash
# Load demo or benchmark data through each service's generator. See docs/DATABASE.md.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'USAGE'
Usage: seed_db.sh [--size demo|bench] [--service NAME]... [--force] [--database-url URL]

Run each enabled service's data generator once per size, through
`$DOCKYARD_PYTHON -m dockyard.seeding`. A size already loaded is skipped (idempotent) unless
--force; a generator that fails rolls back and records nothing.

Options:
  --size demo|bench   demo: a small, browsable set (default); bench: the benchmark volume
  --service NAME      only this service (repeatable; default: every service with a generator)
  --force             generate again even if already loaded
  --database-url URL  the database (default: $DATABASE_URL)
  -h, --help          this help

Environment: DATABASE_URL, DOCKYARD_PYTHON (default python3), PG_BIN.
Exit codes: 0 ok, 1 failure, 2 usage, 3 cannot connect, 5 migrations pending (run migrate_db.sh).
USAGE
}

args=()
take_common_options "$@"
set -- "${ARGS[@]}"
while (($#)); do
    case $1 in
        --size)
            [[ $# -ge 2 ]] || usage_error "--size needs demo or bench"
            [[ $2 == demo || $2 == bench ]] || usage_error "--size must be demo or bench, not '$2'"
            args+=(--size "$2")
            shift
            ;;
        --service)
            [[ $# -ge 2 && $2 =~ ^[a-z]+$ ]] || usage_error "--service needs a service name"
            args+=(--service "$2")
            shift
            ;;
        --force) args+=(--force) ;;
        *) usage_error "unknown argument: $1" ;;
    esac
    shift
done
require_database_url
check_connection
if ! bash "$SCRIPTS_DIR/migrate_db.sh" status --check --database-url "$DATABASE_URL" >/dev/null 2>&1; then
    die "$EXIT_REFUSED" "migrations are pending; run migrate_db.sh first"
fi
export DATABASE_URL
exec "${DOCKYARD_PYTHON:-python3}" -m dockyard.seeding "${args[@]}"

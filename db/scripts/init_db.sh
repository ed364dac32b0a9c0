#!/usr/bin/env bash
# Create Dockyard's role and database when permitted, then apply migrations. See docs/DATABASE.md.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'USAGE'
Usage: init_db.sh [--no-migrate] [--admin-url URL] [--database-url URL]

Make the database DATABASE_URL names exist, then run migrate_db.sh. Safe to run again.

  1. With an admin URL (--admin-url or ADMIN_DATABASE_URL, a role allowed to create roles),
     create DATABASE_URL's role with its password if it does not exist.
  2. Create DATABASE_URL's database if it does not exist (owned by that role), connecting to the
     server's `postgres` database as the admin, or else as DATABASE_URL's own role (which then
     needs CREATEDB). Without the right to create it, an existing database is enough.
  3. Apply pending migrations (skipped with --no-migrate).

Options:
  --no-migrate        create only; do not run migrations
  --admin-url URL     a superuser (or CREATEROLE + CREATEDB) URL for steps 1 and 2
  --database-url URL  the database (default: $DATABASE_URL)
  -h, --help          this help

Exit codes: 0 ok, 1 failure, 2 usage, 3 cannot connect, and migrate_db.sh's codes (4, 5, 7).
USAGE
}

migrate=1
admin_url=${ADMIN_DATABASE_URL:-}
take_common_options "$@"
set -- "${ARGS[@]}"
while (($#)); do
    case $1 in
        --no-migrate) migrate=0 ;;
        --admin-url)
            [[ $# -ge 2 ]] || usage_error "--admin-url needs a URL"
            admin_url=$2
            shift
            ;;
        *) usage_error "unknown argument: $1" ;;
    esac
    shift
done
require_database_url

database=$(database_of "$DATABASE_URL")
maintenance=${admin_url:+$(url_with_database "$admin_url" postgres)}
maintenance=${maintenance:-$(url_with_database "$DATABASE_URL" postgres)}
role=$(sed -nE 's#^[a-z]+://([^:@/]+)(:[^@]*)?@.*#\1#p' <<<"$DATABASE_URL")
password=$(sed -nE 's#^[a-z]+://[^:@/]+:([^@]*)@.*#\1#p' <<<"$DATABASE_URL")

if [[ -n $admin_url && -n $role ]]; then
    check_connection "$maintenance"
    if [[ $(run_psql -d "$maintenance" -A -t -v role="$role" <<<"SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role');") == f ]]; then
        # The password travels as a psql variable, so it never appears in a command line or log.
        run_psql -d "$maintenance" -v role="$role" -v password="$password" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN PASSWORD %L', :'role', nullif(:'password', '')) \gexec
SQL
        log "created role $role"
    else
        log "role $role exists"
    fi
fi

if can_connect "$DATABASE_URL"; then
    log "database $database exists"
else
    check_connection "$maintenance"
    exists=$(run_psql -d "$maintenance" -A -t -v db="$database" <<<"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db');")
    if [[ $exists == t ]]; then
        check_connection "$DATABASE_URL" # exists but we cannot connect: say why
    fi
    owner=${role:-$(run_psql -d "$maintenance" -A -t -c 'SELECT current_user')}
    if ! message=$(run_psql -d "$maintenance" -v db="$database" -v owner="$owner" 2>&1 <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'owner') \gexec
SQL
    ); then
        die "$EXIT_FAILURE" "cannot create database $database: ${message//$'\n'/ } (create it as an administrator, or pass --admin-url)"
    fi
    log "created database $database (owner $owner)"
fi

if ((migrate)); then
    exec bash "$SCRIPTS_DIR/migrate_db.sh" --database-url "$DATABASE_URL"
fi
log "database $database is ready (migrations not run: --no-migrate)"

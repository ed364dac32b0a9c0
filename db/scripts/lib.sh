# shellcheck shell=bash
# Shared helpers for db/scripts/*.sh. Source it; do not run it.
#
# Environment every script reads:
#   DATABASE_URL   the database to act on (or --database-url URL)
#   PG_BIN         folder holding psql, pg_dump, pg_restore (default: PATH)
#   MIGRATIONS_DIR migration files (default: db/migrations next to this folder)
#
# Exit codes shared by every script:
#   0 ok · 1 failure · 2 usage error · 3 cannot connect · 4 a migration failed
#   5 refused (drift, pending migrations, non-empty target, old pg_dump) · 6 verification failed
#   7 timed out waiting for the migration lock

set -euo pipefail

# shellcheck disable=SC2034 # used by the scripts that source this file
readonly EXIT_FAILURE=1 EXIT_USAGE=2 EXIT_CONNECT=3 EXIT_MIGRATION=4 EXIT_REFUSED=5 EXIT_VERIFY=6 EXIT_LOCK=7

SCRIPTS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPTS_DIR
MIGRATIONS_DIR=${MIGRATIONS_DIR:-$(dirname "$SCRIPTS_DIR")/migrations}
SCRIPT_NAME=$(basename "$0" .sh)

# Matches core/migrations.py: a 12-digit version (YYYYMMDDHHMM), then a lower-case name.
# shellcheck disable=SC2034
readonly MIGRATION_RE='^([0-9]{12})_([a-z0-9_]+)\.sql$'

log() {
    printf '%s %s: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$SCRIPT_NAME" "$*" >&2
}

# die CODE MESSAGE: log the message and exit; LAST_ERROR keeps it for an EXIT trap to record.
die() {
    local code=$1
    shift
    # shellcheck disable=SC2034 # read by the EXIT traps that record a failure in the catalog
    LAST_ERROR=$*
    log "error: $*"
    exit "$code"
}

usage_error() {
    log "error: $*"
    printf "Run '%s --help' for usage.\n" "$(basename "$0")" >&2
    exit "$EXIT_USAGE"
}

tool() {
    if [[ -n ${PG_BIN:-} ]]; then
        printf '%s/%s' "$PG_BIN" "$1"
    else
        printf '%s' "$1"
    fi
}

# The URL with its password replaced by ***, for messages.
redact() {
    sed -E 's#^([a-z]+://[^:/@]*):[^@]*@#\1:***@#' <<<"$1"
}

# url_with_database URL NAME: the same server and credentials, another database.
url_with_database() {
    local url=$1 name=$2 query="" rest scheme netloc
    if [[ $url == *\?* ]]; then
        query="?${url#*\?}"
        url=${url%%\?*}
    fi
    scheme=${url%%://*}
    rest=${url#*://}
    netloc=${rest%%/*}
    printf '%s://%s/%s%s' "$scheme" "$netloc" "$name" "$query"
}

# database_of URL: the database a URL names.
database_of() {
    local rest=${1%%\?*}
    rest=${rest#*://}
    if [[ $rest == */* && -n ${rest#*/} ]]; then
        printf '%s' "${rest#*/}"
    else
        printf 'postgres'
    fi
}

# server_of URL: the URL's host[:port], never its credentials (`localhost` for a Unix socket).
server_of() {
    local rest=${1%%\?*}
    [[ $rest == *://* ]] || { printf 'localhost'; return; }
    rest=${rest#*://}
    rest=${rest%%/*}
    rest=${rest##*@}
    rest=${rest//[\[\]]/}
    printf '%s' "${rest:-localhost}"
}

# Handle the options every script takes (-h/--help, --database-url URL); the rest go to ARGS.
# Call after defining usage(): `take_common_options "$@"; set -- "${ARGS[@]}"`.
take_common_options() {
    ARGS=()
    while (($#)); do
        case $1 in
            -h | --help) usage; exit 0 ;;
            --database-url)
                [[ $# -ge 2 ]] || usage_error "--database-url needs a URL"
                DATABASE_URL=$2
                shift
                ;;
            *) ARGS+=("$1") ;;
        esac
        shift
    done
}

require_database_url() {
    [[ -n ${DATABASE_URL:-} ]] || usage_error "DATABASE_URL is not set (or pass --database-url URL)"
}

# psql with no .psqlrc, stop on the first error, quiet, against DATABASE_URL unless -d is given.
run_psql() {
    "$(tool psql)" -X -q -v ON_ERROR_STOP=1 -d "$DATABASE_URL" "$@"
}

# One value (unaligned, tuples only).
query_value() {
    run_psql -A -t -c "$1"
}

# can_connect URL: succeed when the database answers; psql's message is left in $CONNECT_ERROR.
can_connect() {
    CONNECT_ERROR=$("$(tool psql)" -X -q -A -t -d "$1" -c 'SELECT 1' 2>&1 >/dev/null) && return 0
    CONNECT_ERROR=${CONNECT_ERROR//$'\n'/ }
    return 1
}

# Exit 3 with psql's own message when the database cannot be reached.
check_connection() {
    local url=${1:-$DATABASE_URL}
    can_connect "$url" || die "$EXIT_CONNECT" "cannot connect to $(redact "$url"): $CONNECT_ERROR"
}

# Quote a value as an SQL (and psql meta-command) literal.
sql_literal() {
    printf "'%s'" "${1//\'/\'\'}"
}

sha256_of() {
    sha256sum "$1" | cut -d' ' -f1
}

# now_ms: milliseconds since the epoch.
now_ms() {
    local ns
    ns=$(date +%s%N)
    printf '%s' "$((ns / 1000000))"
}

# The server's major version number (e.g. 16).
server_major() {
    local num
    num=$(query_value 'SHOW server_version_num')
    printf '%s' "$((num / 10000))"
}

# A client tool's major version number (e.g. `client_major pg_dump` -> 16).
client_major() {
    "$(tool "$1")" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)*.*/\1/' | head -n1
}

# The exact row count of every user table as a JSON object {"schema.table": rows}, computed by
# the server: one generated UNION ALL of count(*) queries, run in the same psql session.
TABLE_COUNTS_SQL=$(cat <<'SQL'
SELECT coalesce(
    string_agg(format('SELECT %L AS name, count(*) AS n FROM %s', format('%I.%I', s.nspname, c.relname), c.oid::regclass), ' UNION ALL '),
    'SELECT NULL::text AS name, NULL::bigint AS n WHERE false') AS dy_counts
FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND s.nspname NOT IN ('pg_catalog', 'information_schema')
  AND s.nspname NOT LIKE 'pg_toast%' AND NOT c.relispartition \gset
SELECT coalesce(jsonb_object_agg(name, n), '{}')::text FROM (:dy_counts) AS t;
SQL
)
readonly TABLE_COUNTS_SQL

# table_counts [URL]: print that JSON object for DATABASE_URL (or URL).
table_counts() {
    run_psql -d "${1:-$DATABASE_URL}" -A -t <<<"$TABLE_COUNTS_SQL"
}

#!/usr/bin/env bash
# Dump the database with pg_dump -Fc and write a manifest beside it. See docs/DATABASE.md.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'USAGE'
Usage: backup_db.sh [--output-dir DIR] [--database-url URL]

Dump DATABASE_URL's database with `pg_dump -Fc` to DIR/<database>-<UTC timestamp>.dump and
write DIR/<that file>.manifest.json: database, file, size_bytes, sha256, duration_ms,
server_version, pg_dump_version, created_at, and the exact row count of every table.
The dump is written under a temporary name and renamed when complete, so a failed run leaves
no partial file. The path of the dump is the last line on stdout; progress goes to stderr.

Options:
  --output-dir DIR    where to write (default: $BACKUP_DIR, else ./.dockyard/backups)
  --database-url URL  the database (default: $DATABASE_URL)
  -h, --help          this help

Environment: DATABASE_URL, BACKUP_DIR, PG_BIN (pg_dump's folder; must be at least the server's version).
Exit codes: 0 ok, 1 failure, 2 usage, 3 cannot connect, 5 pg_dump older than the server.
USAGE
}

out_dir=${BACKUP_DIR:-.dockyard/backups}
take_common_options "$@"
set -- "${ARGS[@]}"
while (($#)); do
    case $1 in
        --output-dir)
            [[ $# -ge 2 ]] || usage_error "--output-dir needs a folder"
            out_dir=$2
            shift
            ;;
        *) usage_error "unknown argument: $1" ;;
    esac
    shift
done
require_database_url
check_connection

server=$(server_major)
client=$(client_major pg_dump)
((client >= server)) ||
    die "$EXIT_REFUSED" "pg_dump $client cannot dump a PostgreSQL $server server; set PG_BIN to a client >= $server"

mkdir -p "$out_dir"
database=$(database_of "$DATABASE_URL")
stamp=$(date -u +%Y%m%dT%H%M%SZ)
file="$out_dir/$database-$stamp.dump"
n=1
while [[ -e $file ]]; do # two backups within one second
    n=$((n + 1))
    file="$out_dir/$database-$stamp-$n.dump"
done
partial="$file.partial"
trap 'rm -f "$partial" "$partial.json"' EXIT

log "dumping $(redact "$DATABASE_URL") to $file"
began=$(now_ms)
"$(tool pg_dump)" -Fc --no-owner -d "$DATABASE_URL" -f "$partial" ||
    die "$EXIT_FAILURE" "pg_dump failed; nothing was written"
duration=$(($(now_ms) - began))

tables=$(table_counts)

size=$(stat -c %s "$partial")
sum=$(sha256_of "$partial")
run_psql -A -t -v file="$(basename "$file")" -v database="$database" -v size="$size" -v sum="$sum" \
    -v duration="$duration" -v dumper="$("$(tool pg_dump)" --version)" -v tables="$tables" \
    >"$partial.json" <<'SQL'
SELECT jsonb_pretty(jsonb_build_object(
    'database', :'database',
    'file', :'file',
    'size_bytes', :'size'::bigint,
    'sha256', :'sum',
    'duration_ms', :'duration'::int,
    'server_version', current_setting('server_version'),
    'pg_dump_version', :'dumper',
    'created_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
    'tables', :'tables'::jsonb));
SQL
mv "$partial" "$file"
mv "$partial.json" "$file.manifest.json"
trap - EXIT
log "wrote $size bytes in $duration ms (sha256 $sum); manifest $file.manifest.json"
printf '%s\n' "$file"

#!/usr/bin/env bash
# Dump the database with pg_dump -Fc, write a manifest beside it, and record the run in the
# database's backups catalog when it has one. See docs/DATABASE.md.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'USAGE'
Usage: backup_db.sh [--output-dir DIR] [--database-url URL]

Dump DATABASE_URL's database with `pg_dump -Fc` to DIR/<database>-<UTC timestamp>.dump and
write DIR/<that file>.manifest.json: database, file, size_bytes, sha256, duration_ms,
server_version, pg_dump_version, created_at, and the exact row count of every table, counted
in the same snapshot pg_dump reads. The dump is written under a temporary name and renamed
when complete, so a failed run leaves no partial file. The path of the dump is the last line
on stdout; progress goes to stderr.

When the database holds Dockyard's backups catalog (backups.runs), the run is recorded there:
`ongoing` before pg_dump starts, then `finished` with its files (sizes, sha256) and every
table's row count, or `failed` with the stage, exit code and the end of the error, also
when the script is interrupted. Without a catalog, one line says so and the backup goes on.

Options:
  --output-dir DIR    where to write (default: $BACKUP_DIR, else ./.dockyard/backups)
  --database-url URL  the database (default: $DATABASE_URL)
  -h, --help          this help

Environment: DATABASE_URL, BACKUP_DIR, PG_BIN (pg_dump's folder; must be at least the server's version),
             BACKUPS_DATACENTER (the run's datacenter in the catalog; default local),
             BACKUP_HEARTBEAT_S (seconds between heartbeats of a recorded run; default 60).
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
out_dir=$(cd "$out_dir" && pwd -P) # absolute: the catalog records where the backup lies
database=$(database_of "$DATABASE_URL")
stamp=$(date -u +%Y%m%dT%H%M%SZ)
file="$out_dir/$database-$stamp.dump"
n=1
while [[ -e $file ]]; do # two backups within one second
    n=$((n + 1))
    file="$out_dir/$database-$stamp-$n.dump"
done
partial="$file.partial"
errors="$file.partial.err" # what pg_dump and psql say, shown at the end and recorded on failure

run_id="" stage=start dump_pid="" pinned_pid="" beat_pid="" signal="" tool_status=""

# On any exit: stop what runs in the background, record a failure, remove partial files.
finish() {
    local status=$?
    trap - EXIT INT TERM HUP
    [[ -z $dump_pid ]] || kill "$dump_pid" 2>/dev/null || true
    [[ -z $beat_pid ]] || kill "$beat_pid" 2>/dev/null || true
    [[ -z $pinned_pid ]] || kill "$pinned_pid" 2>/dev/null || true
    [[ ! -s $errors ]] || cat "$errors" >&2
    if ((status != 0)) && [[ -n $run_id ]]; then
        local message=${LAST_ERROR:-exited with status $status}
        [[ -z $signal ]] || message="interrupted by SIG$signal"
        if [[ -s $errors ]]; then
            message="$message"$'\n'"$(tail -c 4000 "$errors")"
        fi
        if run_psql -v id="$run_id" -v stage="$stage" -v code="${tool_status:-$status}" -v message="$message" <<'SQL'
UPDATE backups.runs SET status = 'failed', ended_at = now(), heartbeat_at = now(), error_stage = :'stage',
       error_exit_code = :'code'::int, error_message = right(:'message', 8000)
WHERE id = :'id'::bigint AND status = 'ongoing';
SQL
        then
            log "recorded run $run_id as failed at stage $stage"
        else
            log "could not record the failure of run $run_id in the catalog"
        fi
    fi
    rm -f "$partial" "$partial.json" "$errors"
    exit "$status"
}
trap finish EXIT
trap 'signal=INT; exit 130' INT
trap 'signal=TERM; exit 143' TERM
trap 'signal=HUP; exit 129' HUP

# The catalog lives in the database being dumped: the run is `ongoing` inside the dump.
if [[ $(query_value "SELECT to_regclass('backups.runs') IS NOT NULL") == t ]]; then
    host=$(hostname -f 2>/dev/null || true) # bash's own HOSTNAME where `hostname` is not installed
    run_id=$(run_psql -A -t -v name="$(basename "$file" .dump)" -v section="$database" \
        -v datacenter="${BACKUPS_DATACENTER:-local}" -v source="$(server_of "$DATABASE_URL")" \
        -v host="${host:-$HOSTNAME}" -v location="$out_dir" <<'SQL'
INSERT INTO backups.runs (name, section, type, datacenter, source, host, status, started_at, heartbeat_at,
                          bytes_done, registered_by, location)
VALUES (:'name', :'section', 'dump', :'datacenter', :'source', :'host', 'ongoing', now(), now(), 0,
        'backup_db.sh', :'location')
RETURNING id;
SQL
    ) || {
        run_id=""
        log "could not record the run in backups.runs (above); the backup goes on unrecorded"
    }
    [[ -z $run_id ]] || log "recorded run $run_id as ongoing in the catalog"
else
    log "$database has no backups catalog (backups.runs): the run is not recorded"
fi

if [[ -n $run_id ]]; then
    (
        nap=""
        trap '[[ -z $nap ]] || kill "$nap" 2>/dev/null; exit 0' TERM
        while :; do
            sleep "${BACKUP_HEARTBEAT_S:-60}" &
            nap=$!
            wait "$nap"
            run_psql -v id="$run_id" -v bytes="$(stat -c %s "$partial" 2>/dev/null || echo 0)" \
                <<<"UPDATE backups.runs SET heartbeat_at = now(), bytes_done = :'bytes'::bigint
                    WHERE id = :'id'::bigint AND status = 'ongoing';" || true
        done
    ) >/dev/null 2>&1 &
    beat_pid=$!
fi

# A read-only transaction exports its snapshot to pg_dump, and counts the rows in it meanwhile.
coproc PINNED { run_psql -A -t 2>>"$errors"; }
# shellcheck disable=SC2153 # coproc sets PINNED_PID
pinned_pid=$PINNED_PID
printf '%s\n' 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;' 'SELECT pg_export_snapshot();' >&"${PINNED[1]}"
IFS= read -r -t 60 snapshot <&"${PINNED[0]}" || die "$EXIT_FAILURE" "could not export a snapshot for pg_dump"

log "dumping $(redact "$DATABASE_URL") to $file"
stage=backup
began=$(now_ms)
"$(tool pg_dump)" -Fc --no-owner --snapshot="$snapshot" -d "$DATABASE_URL" -f "$partial" 2>>"$errors" &
dump_pid=$!
printf '%s\n' "$TABLE_COUNTS_SQL" >&"${PINNED[1]}"
IFS= read -r tables <&"${PINNED[0]}" || tables=""
dump_status=0
wait "$dump_pid" || dump_status=$?
dump_pid=""
if ((dump_status != 0)); then
    tool_status=$dump_status
    die "$EXIT_FAILURE" "pg_dump failed (exit $dump_status); nothing was written"
fi
duration=$(($(now_ms) - began))
stage=metadata
[[ -n $tables ]] || die "$EXIT_FAILURE" "could not count the rows of the tables"
printf 'COMMIT;\n\\q\n' >&"${PINNED[1]}"
wait "$pinned_pid" || true
pinned_pid=""

size=$(stat -c %s "$partial")
sum=$(sha256_of "$partial")
run_psql -A -t -v file="$(basename "$file")" -v database="$database" -v size="$size" -v sum="$sum" \
    -v duration="$duration" -v dumper="$("$(tool pg_dump)" --version)" -v tables="$tables" \
    >"$partial.json" 2>>"$errors" <<'SQL'
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

if [[ -n $run_id ]]; then
    kill "$beat_pid" 2>/dev/null || true
    beat_pid=""
    stage=record
    manifest="$file.manifest.json"
    run_psql -v id="$run_id" -v database="$database" -v tables="$tables" \
        -v dump="$(basename "$file")" -v dump_size="$size" -v dump_time="$(stat -c %Y "$file")" -v dump_sum="$sum" \
        -v manifest="$(basename "$manifest")" -v manifest_size="$(stat -c %s "$manifest")" \
        -v manifest_time="$(stat -c %Y "$manifest")" -v manifest_sum="$(sha256_of "$manifest")" \
        2>>"$errors" <<'SQL'
BEGIN;
INSERT INTO backups.files (run_id, path, name, size, modified_at, checksum)
VALUES (:'id'::bigint, '', :'dump', :'dump_size'::bigint, to_timestamp(:'dump_time'::bigint), :'dump_sum'),
       (:'id'::bigint, '', :'manifest', :'manifest_size'::bigint, to_timestamp(:'manifest_time'::bigint),
        :'manifest_sum');
-- The manifest names tables as quoted identifiers ("schema"."table"); the catalog as schema.table.
INSERT INTO backups.objects (run_id, db, name, size, rows)
SELECT :'id'::bigint, :'database', array_to_string(parse_ident(t.key), '.'),
       pg_total_relation_size(to_regclass(t.key)), t.value::bigint
FROM jsonb_each_text((:'tables')::jsonb) AS t;
UPDATE backups.runs SET status = 'finished', ended_at = now(), heartbeat_at = now(),
       total_size = :'dump_size'::bigint + :'manifest_size'::bigint,
       bytes_done = :'dump_size'::bigint + :'manifest_size'::bigint
WHERE id = :'id'::bigint;
COMMIT;
SQL
    log "recorded run $run_id as finished in the catalog"
fi
trap - EXIT INT TERM HUP
[[ ! -s $errors ]] || cat "$errors" >&2
rm -f "$errors"
log "wrote $size bytes in $duration ms (sha256 $sum); manifest $file.manifest.json"
printf '%s\n' "$file"

#!/usr/bin/env bash
# Restore a pg_dump -Fc file, verify it against its manifest, and record the restore test in the
# backups catalog when one knows the dump. See docs/DATABASE.md.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'USAGE'
Usage: restore_db.sh FILE [TARGET_DB] [--force] [--database-url URL]

Restore FILE (made by backup_db.sh) into TARGET_DB on DATABASE_URL's server (default: the
database DATABASE_URL names), then verify it.

  1. If FILE.manifest.json exists, FILE's sha256 must match it.
  2. TARGET_DB is created if missing. If it already holds tables, the restore is refused
     unless --force, which drops and recreates it (sessions connected to it are ended).
  3. pg_restore --no-owner --exit-on-error, in one transaction.
  4. Every table in the manifest must have the same row count as when it was dumped.

When DATABASE_URL's database holds the backups catalog and one of its runs lists FILE (matched
by sha256), the restore is recorded in backups.restore_tests: `ongoing` before it starts, then
`passed`, or `failed` with the stage and the error, and every table's expected and restored rows.

Options:
  --force             replace a TARGET_DB that holds tables
  --database-url URL  the server and default target (default: $DATABASE_URL)
  -h, --help          this help

Environment: DATABASE_URL, PG_BIN (pg_restore's folder).
Exit codes: 0 ok, 1 failure, 2 usage, 3 cannot connect, 5 target not empty (use --force),
            6 verification failed (checksum or row counts).
USAGE
}

file="" target="" force=0
take_common_options "$@"
set -- "${ARGS[@]}"
while (($#)); do
    case $1 in
        --force) force=1 ;;
        -*) usage_error "unknown option: $1" ;;
        *)
            if [[ -z $file ]]; then
                file=$1
            elif [[ -z $target ]]; then
                target=$1
            else
                usage_error "unexpected argument: $1"
            fi
            ;;
    esac
    shift
done
[[ -n $file ]] || usage_error "which FILE to restore?"
[[ -f $file ]] || usage_error "$file does not exist"
require_database_url
target=${target:-$(database_of "$DATABASE_URL")}
[[ $target =~ ^[A-Za-z0-9_.-]+$ ]] || usage_error "TARGET_DB must be a plain database name"
target_url=$(url_with_database "$DATABASE_URL" "$target")
maintenance=$(url_with_database "$DATABASE_URL" postgres)
manifest="$file.manifest.json"
expected=""
[[ ! -f $manifest ]] || expected=$(sed -nE 's/^ *"sha256": "([0-9a-f]{64})".*/\1/p' "$manifest")
actual=$(sha256_of "$file")

# The catalog: DATABASE_URL's database, when it holds backups.restore_tests and a run whose files
# include this dump (by the sha256 its manifest gives, else its own).
test_id="" stage=checksum detail='{}'
record_end() {
    local status=$?
    trap - EXIT
    if [[ -n $test_id ]]; then
        local result=passed
        ((status == 0)) || result=failed
        run_psql -v id="$test_id" -v result="$result" -v stage="$stage" -v error="${LAST_ERROR:-exit $status}" \
            -v detail="$detail" <<'SQL' || log "could not record the end of restore test $test_id"
UPDATE backups.restore_tests
SET result = :'result', ended_at = now(),
    detail = coalesce(detail, '{}') || (:'detail')::jsonb || CASE WHEN :'result' = 'failed'
        THEN jsonb_build_object('stage', :'stage', 'error', right(:'error', 4000)) ELSE '{}' END
WHERE id = :'id'::bigint;
SQL
        log "recorded restore test $test_id as $result"
    fi
    exit "$status"
}
if [[ $(database_of "$DATABASE_URL") == "$target" ]]; then
    log "restoring into the catalog's own database: the restore test is not recorded"
elif can_connect "$DATABASE_URL" &&
    [[ $(query_value "SELECT to_regclass('backups.restore_tests') IS NOT NULL") == t ]]; then
    run_id=$(run_psql -A -t -v sum="${expected:-$actual}" <<<"SELECT run_id FROM backups.files
        WHERE checksum = :'sum' ORDER BY run_id DESC LIMIT 1;")
    if [[ -n $run_id ]]; then
        where="$(cd "$(dirname "$file")" && pwd -P)/$(basename "$file")"
        test_id=$(run_psql -A -t -v run="$run_id" -v target="$(server_of "$DATABASE_URL")/$target" \
            -v file="$where" -v database="$target" <<'SQL'
INSERT INTO backups.restore_tests (run_id, result, target, detail)
VALUES (:'run'::bigint, 'ongoing', :'target', jsonb_build_object('kind', 'pg_dump', 'tool', 'restore_db.sh',
        'file', :'file', 'database', :'database'))
RETURNING id;
SQL
        ) || test_id=""
        [[ -z $test_id ]] || log "recording restore test $test_id of run $run_id in the catalog"
    else
        log "no run in the catalog lists this dump (sha256 ${expected:-$actual}): the restore test is not recorded"
    fi
else
    log "no backups catalog in $(database_of "$DATABASE_URL"): the restore test is not recorded"
fi
trap record_end EXIT

if [[ -n $expected ]]; then
    [[ $expected == "$actual" ]] ||
        die "$EXIT_VERIFY" "$file does not match its manifest (sha256 $actual, expected $expected); it is damaged or not the dump the manifest describes"
    log "checksum ok ($actual)"
else
    log "no manifest beside $file: restoring without verification"
    detail='{"note": "no manifest: restored without verification"}'
fi

stage=prepare
check_connection "$maintenance"
exists=$(run_psql -d "$maintenance" -A -t -v db="$target" <<<"SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db');")
if [[ $exists == t ]]; then
    tables=$(run_psql -d "$target_url" -A -t -c "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r','p') AND n.nspname NOT IN ('pg_catalog','information_schema') AND n.nspname NOT LIKE 'pg_toast%'")
    if ((tables > 0)); then
        ((force)) || die "$EXIT_REFUSED" "database $target already holds $tables table(s); pass --force to replace it, or name another TARGET_DB"
        log "--force: dropping database $target"
        run_psql -d "$maintenance" -v db="$target" <<<"SELECT format('DROP DATABASE %I WITH (FORCE)', :'db') \gexec"
        exists=f
    fi
fi
if [[ $exists == f ]]; then
    run_psql -d "$maintenance" -v db="$target" <<<"SELECT format('CREATE DATABASE %I', :'db') \gexec"
    log "created database $target"
fi

log "restoring $file into $target"
stage=restore
began=$(now_ms)
"$(tool pg_restore)" --no-owner --exit-on-error --single-transaction -d "$target_url" "$file" ||
    die "$EXIT_FAILURE" "pg_restore failed; the restore was rolled back"
log "restored in $(($(now_ms) - began)) ms"

if [[ -f $manifest ]]; then
    stage=compare
    # Compare the manifest's row counts with exact counts on the restored database, in SQL: every
    # table with both counts (the detail recorded), then the tables that differ (the message).
    detail=$(run_psql -d "$target_url" -A -t -v manifest="$(cat "$manifest")" -v live="$(table_counts "$target_url")" <<'SQL'
WITH compared AS (
    SELECT coalesce(m.key, l.key) AS key, m.value::bigint AS expected, l.value::bigint AS restored
    FROM jsonb_each_text((:'manifest')::jsonb -> 'tables') AS m
    FULL JOIN jsonb_each_text((:'live')::jsonb) AS l ON l.key = m.key
), named AS (
    SELECT jsonb_build_object('name', array_to_string(parse_ident(key), '.'), 'expected', expected,
                              'restored', restored) AS item, key, expected, restored
    FROM compared
)
SELECT jsonb_build_object(
    'tables', coalesce(jsonb_agg(item ORDER BY key), '[]'),
    'mismatches', coalesce(jsonb_agg(item ORDER BY key)
                           FILTER (WHERE expected IS NOT NULL AND restored IS DISTINCT FROM expected), '[]'))
FROM named;
SQL
    )
    mismatches=$(run_psql -d "$target_url" -A -t -v detail="$detail" <<'SQL'
SELECT string_agg(format('%s: %s rows, expected %s', t ->> 'name', coalesce(t ->> 'restored', 'no table with'),
                         t ->> 'expected'), '; ' ORDER BY t ->> 'name')
FROM jsonb_array_elements((:'detail')::jsonb -> 'mismatches') AS t;
SQL
    )
    [[ -z $mismatches ]] || die "$EXIT_VERIFY" "restored data differs from the manifest: $mismatches"
    count=$(run_psql -d "$target_url" -A -t -v manifest="$(cat "$manifest")" <<<"SELECT count(*) FROM jsonb_object_keys((:'manifest')::jsonb -> 'tables');")
    log "verified: $count table(s) hold the row counts recorded at backup time"
fi
log "database $target restored from $file"

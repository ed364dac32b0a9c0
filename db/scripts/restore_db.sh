#!/usr/bin/env bash
# Restore a pg_dump -Fc file and verify it against its manifest. See docs/DATABASE.md.
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

if [[ -f $manifest ]]; then
    expected=$(sed -nE 's/^ *"sha256": "([0-9a-f]{64})".*/\1/p' "$manifest")
    actual=$(sha256_of "$file")
    [[ $expected == "$actual" ]] ||
        die "$EXIT_VERIFY" "$file does not match its manifest (sha256 $actual, expected $expected); it is damaged or not the dump the manifest describes"
    log "checksum ok ($actual)"
else
    log "no manifest beside $file: restoring without verification"
fi

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
began=$(now_ms)
"$(tool pg_restore)" --no-owner --exit-on-error --single-transaction -d "$target_url" "$file" ||
    die "$EXIT_FAILURE" "pg_restore failed; the restore was rolled back"
log "restored in $(($(now_ms) - began)) ms"

if [[ -f $manifest ]]; then
    # Compare the manifest's row counts with exact counts on the restored database, in SQL.
    mismatches=$(run_psql -d "$target_url" -A -t -v manifest="$(cat "$manifest")" -v live="$(table_counts "$target_url")" <<'SQL'
SELECT string_agg(format('%s: %s rows, expected %s', m.key, coalesce(l.value, 'no table with'), m.value), '; ' ORDER BY m.key)
FROM jsonb_each_text((:'manifest')::jsonb -> 'tables') AS m
LEFT JOIN jsonb_each_text((:'live')::jsonb) AS l ON l.key = m.key
WHERE l.value IS DISTINCT FROM m.value;
SQL
    )
    [[ -z $mismatches ]] || die "$EXIT_VERIFY" "restored data differs from the manifest: $mismatches"
    count=$(run_psql -d "$target_url" -A -t -v manifest="$(cat "$manifest")" <<<"SELECT count(*) FROM jsonb_object_keys((:'manifest')::jsonb -> 'tables');")
    log "verified: $count table(s) hold the row counts recorded at backup time"
fi
log "database $target restored from $file"

#!/usr/bin/env bash
# Apply, inspect and roll back Dockyard's SQL migrations. See docs/DATABASE.md.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'USAGE'
Usage: migrate_db.sh [--dry-run] [--to VERSION] [--lock-timeout SECONDS]
       migrate_db.sh status [--check]
       migrate_db.sh down [--dry-run]
       migrate_db.sh baseline VERSION

Apply db/migrations/VERSION_name.sql files in version order, each in its own transaction,
recording them in public.schema_migrations (version, name, checksum, applied_at, duration_ms,
applied_by). Concurrent runs serialize on an advisory lock; each migration is applied once.

Commands:
  (none)             apply every pending migration
  status             list migrations: applied, pending, changed (checksum drift), missing (file gone)
  down               reverse the latest applied migration with its VERSION_name.down.sql
  baseline VERSION   record migrations up to VERSION as applied without running them
                     (adopt a database whose schema is already at VERSION), and the
                     adoption itself in public.schema_baseline (see test_db.sh)

Options:
  --dry-run              print the plan and the SQL; change nothing
  --to VERSION           apply up to and including VERSION
  --check                with status: exit 5 if anything is pending, changed or missing
  --lock-timeout SECONDS wait this long for a concurrent run to finish (default 60)
  --database-url URL     the database (default: $DATABASE_URL)
  -h, --help             this help

A file whose first lines hold the comment `-- dockyard:no-transaction` runs outside a
transaction (for CREATE INDEX CONCURRENTLY). Other files must not contain BEGIN/COMMIT.

Environment: DATABASE_URL, PG_BIN (psql's folder), MIGRATIONS_DIR (default db/migrations).
Exit codes: 0 ok, 1 failure, 2 usage, 3 cannot connect, 4 a migration failed,
            5 refused (checksum drift / missing file / status --check found work), 7 lock timeout.
USAGE
}

# Sessions show as migrate_db.sh in pg_stat_activity.
export PGAPPNAME=${PGAPPNAME:-migrate_db.sh}
# Advisory lock key shared by every run against a database ("dcbkyd" read as hex: arbitrary but fixed).
readonly LOCK_KEY=110373737560420
command=apply dry_run=0 target="" check=0 lock_timeout=60 baseline_version=""

take_common_options "$@"
set -- "${ARGS[@]}"
while (($#)); do
    case $1 in
        status | down) [[ $command == apply ]] || usage_error "only one command at a time"; command=$1 ;;
        baseline)
            [[ $command == apply ]] || usage_error "only one command at a time"
            command=baseline
            [[ $# -ge 2 ]] || usage_error "baseline needs a VERSION"
            baseline_version=$2
            shift
            ;;
        --dry-run) dry_run=1 ;;
        --check) check=1 ;;
        --to)
            [[ $# -ge 2 ]] || usage_error "--to needs a VERSION"
            target=$2
            shift
            ;;
        --lock-timeout)
            [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || usage_error "--lock-timeout needs a number of seconds"
            lock_timeout=$2
            shift
            ;;
        *) usage_error "unknown argument: $1" ;;
    esac
    shift
done
[[ $check == 0 || $command == status ]] || usage_error "--check goes with status"
[[ -z $target || $command == apply ]] || usage_error "--to goes with applying migrations"
require_database_url
[[ -d $MIGRATIONS_DIR ]] || die "$EXIT_FAILURE" "no migrations folder at $MIGRATIONS_DIR"

# --- what the files say --------------------------------------------------------------------
versions=()
declare -A file_name=() file_path=() file_sum=()
shopt -s nullglob
for path in "$MIGRATIONS_DIR"/*.sql; do
    base=$(basename "$path")
    [[ $base == *.down.sql ]] && continue
    [[ $base =~ $MIGRATION_RE ]] ||
        die "$EXIT_FAILURE" "$base: migration files are named YYYYMMDDHHMM_name.sql (lower-case name)"
    version=${BASH_REMATCH[1]}
    [[ -z ${file_path[$version]:-} ]] || die "$EXIT_FAILURE" "two files share version $version"
    versions+=("$version")
    file_name[$version]=${BASH_REMATCH[2]}
    file_path[$version]=$path
    file_sum[$version]=$(sha256_of "$path")
done
shopt -u nullglob

no_transaction() {
    head -n 5 "$1" | grep -qiE '^[[:space:]]*--[[:space:]]*dockyard:no-transaction'
}

# Transaction control inside a file would break the one-transaction-per-migration guarantee.
check_no_transaction_control() {
    local path=$1 lines
    no_transaction "$path" && return 0
    if lines=$(grep -niE '^[[:space:]]*(BEGIN|COMMIT|ROLLBACK|START[[:space:]]+TRANSACTION|END)[[:space:]]*(WORK|TRANSACTION)?[[:space:]]*;' "$path" |
        grep -viE '^[0-9]+:[[:space:]]*END[[:space:]]*;'); then
        die "$EXIT_FAILURE" "$(basename "$path") controls transactions itself (line ${lines%%:*}); each migration already runs in one transaction — remove BEGIN/COMMIT, or mark the file with '-- dockyard:no-transaction'"
    fi
}

# --- what the database says ----------------------------------------------------------------
check_connection
declare -A applied_sum=() applied_at=() applied_ms=()
applied_versions=()
if [[ $(query_value "SELECT to_regclass('public.schema_migrations') IS NOT NULL") == t ]]; then
    while IFS='|' read -r version checksum at ms; do
        [[ -n $version ]] || continue
        applied_versions+=("$version")
        applied_sum[$version]=$checksum
        applied_at[$version]=$at
        applied_ms[$version]=$ms
    done < <(query_value "SELECT version, checksum, to_char(applied_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'), duration_ms FROM public.schema_migrations ORDER BY version")
fi

state_of() {
    local version=$1
    if [[ -z ${file_path[$version]:-} ]]; then
        echo missing
    elif [[ -z ${applied_sum[$version]:-} ]]; then
        echo pending
    elif [[ ${applied_sum[$version]} != "${file_sum[$version]}" ]]; then
        echo changed
    else
        echo applied
    fi
}

refuse_drift() {
    local version problems=()
    for version in "${applied_versions[@]}"; do
        case $(state_of "$version") in
            changed) problems+=("${version}_${file_name[$version]}: file changed since it was applied (checksum differs)") ;;
            missing) problems+=("$version: applied, but its file is gone from $MIGRATIONS_DIR") ;;
        esac
    done
    if ((${#problems[@]})); then
        for version in "${problems[@]}"; do log "refused: $version"; done
        die "$EXIT_REFUSED" "applied migrations must not change; add a new migration instead (see docs/DATABASE.md)"
    fi
}

pending_versions() {
    local version
    for version in "${versions[@]}"; do
        [[ -n ${applied_sum[$version]:-} ]] && continue
        printf '%s\n' "$version"
        [[ $version == "$target" ]] && break
    done
}

# What runs first once the lock is held: make sure the table exists. On PostgreSQL 14+ the server
# also checks every second that this client is still there, so a run killed mid-statement (even
# by SIGKILL) ends its session, and with it the lock, instead of leaving a build running alone.
lock_preamble() {
    cat <<SQL
SELECT current_setting('server_version_num')::int >= 140000 AS dy_can_check_client \\gset
\\if :dy_can_check_client
SET client_connection_check_interval = '1s';
\\endif
SET client_min_messages = warning;
CREATE TABLE IF NOT EXISTS public.schema_migrations (
    version     text        PRIMARY KEY,
    name        text        NOT NULL,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    duration_ms integer     NOT NULL,
    applied_by  text        NOT NULL DEFAULT current_user
);
RESET client_min_messages;
SQL
}

# The indexes FILE builds with CREATE [UNIQUE] INDEX CONCURRENTLY, one "name table" line each.
concurrent_indexes() {
    sed -e 's/--.*$//' "$1" | tr -s '[:space:]' ' ' |
        grep -oiE 'create (unique )?index concurrently (if not exists )?("[^"]+"|[[:alnum:]_$]+) on (only )?[^ (]+' |
        sed -E 's/^.* ("[^"]+"|[^ ]+) on (only )?([^ (]+)$/\1 \3/I' || true
}

# SQL that drops the INVALID indexes an interrupted run of FILE left behind. An interrupted
# CREATE INDEX CONCURRENTLY leaves its index in the catalog, marked INVALID: never used by
# queries, still maintained by every write, and skipped by IF NOT EXISTS. Only the indexes the
# file itself builds are dropped, and only while this run holds the lock, so nothing else can be
# building them.
invalid_index_cleanup() {
    local name table relname
    while read -r name table; do
        [[ -n $name ]] || continue
        if [[ $name == \"*\" ]]; then relname=${name//\"/}; else relname=${name,,}; fi
        cat <<SQL
SELECT format('SELECT %L', format('dropping INVALID index %s, left by an interrupted build, to build it again', i.indexrelid::regclass)),
       format('DROP INDEX CONCURRENTLY IF EXISTS %s', i.indexrelid::regclass)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE NOT i.indisvalid AND i.indrelid = to_regclass($(sql_literal "$table")) AND c.relname = $(sql_literal "$relname") \\gexec
SQL
    done < <(concurrent_indexes "$1")
}

# Milliseconds as seconds for sleep(1): 250 -> 0.250.
seconds_of_ms() {
    printf '%d.%03d' "$(($1 / 1000))" "$(($1 % 1000))"
}

# send TEXT: write to run_locked's psql session. A subshell takes the SIGPIPE if psql has ended, so
# this fails instead of killing the script silently; reading psql's output then tells what happened.
send() {
    (printf '%s' "$1" >&"$to") 2>/dev/null
}

# run_locked SCRIPT: take the advisory lock, run SCRIPT in the same psql session, log its lines,
# map failures to exit codes.
#
# The lock is polled with pg_try_advisory_lock, the session idle between tries, never awaited
# with pg_advisory_lock: a statement blocked on a lock holds a snapshot, CREATE INDEX
# CONCURRENTLY in the run that holds the lock waits until every older snapshot is gone, and the
# two runs would wait for each other. An idle session holds no snapshot.
run_locked() {
    local script=$1 err pid to from got line status=0 deadline pause_ms=50 waiting=0
    err=$(mktemp)
    coproc PSQL { run_psql -A -t 2>"$err"; }
    pid=$PSQL_PID
    # Copies of the coprocess's pipes stay open after it ends, so its last lines can be read.
    exec {to}>&"${PSQL[1]}" {from}<&"${PSQL[0]}"
    deadline=$(($(now_ms) + lock_timeout * 1000))
    while :; do
        if ! send "SELECT pg_try_advisory_lock($LOCK_KEY);"$'\n' || ! IFS= read -r got <&"$from"; then
            exec {to}>&- {from}<&-
            wait "$pid" || true
            sed 's/^/    /' "$err" >&2
            rm -f "$err"
            die "$EXIT_CONNECT" "lost the connection to $(redact "$DATABASE_URL") while waiting for the migration lock"
        fi
        [[ $got == t ]] && break
        if (($(now_ms) >= deadline)); then
            send '\q'$'\n' || true
            exec {to}>&- {from}<&-
            wait "$pid" || true
            rm -f "$err"
            die "$EXIT_LOCK" "another migration run held the lock for more than ${lock_timeout}s"
        fi
        if ((!waiting)); then
            log "another migration run holds the lock; waiting for it (up to ${lock_timeout}s)"
            waiting=1
        fi
        sleep "$(seconds_of_ms "$pause_ms")"
        pause_ms=$((pause_ms * 2 > 1000 ? 1000 : pause_ms * 2))
    done
    send "\\i $(sql_literal "$script")"$'\n''\q'$'\n' || true
    exec {to}>&-
    while IFS= read -r line <&"$from"; do
        [[ -z $line ]] || log "$line"
    done
    exec {from}<&-
    wait "$pid" || status=$?
    if ((status != 0)); then
        sed 's/^/    /' "$err" >&2
        rm -f "$err"
        return "$EXIT_MIGRATION"
    fi
    [[ -s $err ]] && sed 's/^/    /' "$err" >&2
    rm -f "$err"
    return 0
}

# --- commands ------------------------------------------------------------------------------
cmd_status() {
    local version all=() seen=() work=0 state
    declare -A listed=()
    for version in "${versions[@]}" "${applied_versions[@]}"; do
        [[ -n ${listed[$version]:-} ]] && continue
        listed[$version]=1
        all+=("$version")
    done
    mapfile -t seen < <(printf '%s\n' "${all[@]}" | sort)
    printf '%-14s %-40s %-8s %-20s %s\n' VERSION NAME STATE APPLIED_AT DURATION
    for version in "${seen[@]}"; do
        [[ -n $version ]] || continue
        state=$(state_of "$version")
        [[ $state == applied ]] || work=1
        printf '%-14s %-40s %-8s %-20s %s\n' "$version" "${file_name[$version]:--}" "$state" \
            "${applied_at[$version]:--}" "${applied_ms[$version]:+${applied_ms[$version]} ms}"
    done
    log "${#applied_versions[@]} applied, ${#versions[@]} file(s) in $MIGRATIONS_DIR"
    if ((check && work)); then
        die "$EXIT_REFUSED" "the database is not at the files' latest version"
    fi
}

cmd_apply() {
    local version pending=() script path began total=0
    if [[ -n $target && -z ${file_path[$target]:-} ]]; then
        usage_error "--to $target: no migration file has that version"
    fi
    refuse_drift
    mapfile -t pending < <(pending_versions)
    if ((${#pending[@]} == 0)) || [[ -z ${pending[0]} ]]; then
        log "database is up to date (${#applied_versions[@]} migration(s) applied)"
        return 0
    fi
    for version in "${pending[@]}"; do check_no_transaction_control "${file_path[$version]}"; done
    if ((dry_run)); then
        log "dry run: would apply ${#pending[@]} migration(s) to $(redact "$DATABASE_URL"):"
        for version in "${pending[@]}"; do
            path=${file_path[$version]}
            printf -- '-- ==== %s_%s%s\n' "$version" "${file_name[$version]}" \
                "$(no_transaction "$path" && echo ' (no transaction)')"
            cat "$path"
            printf '\n'
        done
        return 0
    fi
    script=$(mktemp)
    {
        lock_preamble
        for version in "${pending[@]}"; do
            path=${file_path[$version]}
            cat <<SQL
SELECT EXISTS (SELECT 1 FROM public.schema_migrations WHERE version = '$version') AS dy_done \\gset
\\if :dy_done
\\echo skipped ${version}_${file_name[$version]} (applied by a concurrent run)
\\else
\\echo applying ${version}_${file_name[$version]} …
SELECT clock_timestamp() AS dy_began \\gset
SQL
            if no_transaction "$path"; then invalid_index_cleanup "$path"; else echo 'BEGIN;'; fi
            cat <<SQL
\\o /dev/null
\\i $(sql_literal "$path")
\\o
INSERT INTO public.schema_migrations (version, name, checksum, duration_ms)
VALUES ('$version', '${file_name[$version]}', '${file_sum[$version]}',
        round(extract(epoch FROM clock_timestamp() - :'dy_began'::timestamptz) * 1000)::int)
RETURNING format('applied %s_%s in %s ms', version, name, duration_ms);
SQL
            no_transaction "$path" || echo 'COMMIT;'
            printf '%s\n' '\endif'
        done
    } >"$script"
    began=$(now_ms)
    if ! run_locked "$script"; then
        rm -f "$script"
        die "$EXIT_MIGRATION" "migration failed and was rolled back; earlier migrations of this run stay applied"
    fi
    rm -f "$script"
    total=$(query_value "SELECT count(*) FROM public.schema_migrations")
    log "done in $(($(now_ms) - began)) ms; $total migration(s) applied in all"
}

cmd_down() {
    local version down script
    ((${#applied_versions[@]})) || die "$EXIT_FAILURE" "no migration is applied; nothing to reverse"
    version=${applied_versions[-1]}
    [[ -n ${file_path[$version]:-} ]] || die "$EXIT_FAILURE" "$version is applied but its file is gone"
    down=${file_path[$version]%.sql}.down.sql
    [[ -f $down ]] || die "$EXIT_FAILURE" "$(basename "$down") does not exist; write it to reverse $version"
    if ((dry_run)); then
        log "dry run: would reverse ${version}_${file_name[$version]} with:"
        cat "$down"
        return 0
    fi
    script=$(mktemp)
    {
        lock_preamble
        printf '%s\n' "\\echo reversing ${version}_${file_name[$version]} …"
        if no_transaction "$down"; then invalid_index_cleanup "$down"; else echo 'BEGIN;'; fi
        cat <<SQL
\\o /dev/null
\\i $(sql_literal "$down")
\\o
DELETE FROM public.schema_migrations WHERE version = '$version';
SQL
        no_transaction "$down" || echo 'COMMIT;'
        printf '%s\n' "\\echo reversed ${version}_${file_name[$version]}"
    } >"$script"
    if ! run_locked "$script"; then
        rm -f "$script"
        die "$EXIT_MIGRATION" "reversing $version failed and was rolled back"
    fi
    rm -f "$script"
}

# The record of an adoption: its presence tells test_db.sh to compare the schema by shape, and
# `tables` lists what the database held before Dockyard (reported as foreign when not Dockyard's).
baseline_record() {
    cat <<SQL
CREATE TABLE public.schema_baseline (
    version     text        PRIMARY KEY,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    recorded_by text        NOT NULL DEFAULT current_user,
    tables      text[]      NOT NULL
);
INSERT INTO public.schema_baseline (version, tables)
SELECT $(sql_literal "$baseline_version"),
       coalesce(array_agg(format('%I.%I', n.nspname, c.relname) ORDER BY n.nspname, c.relname), '{}')
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\_toast%'
  AND (n.nspname, c.relname) NOT IN (('public', 'schema_migrations'), ('public', 'schema_baseline'))
  AND NOT EXISTS (SELECT FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e');
SQL
}

cmd_baseline() {
    local version script count=0
    [[ -n ${file_path[$baseline_version]:-} ]] || usage_error "baseline $baseline_version: no migration file has that version"
    ((${#applied_versions[@]} == 0)) ||
        die "$EXIT_REFUSED" "schema_migrations already has ${#applied_versions[@]} row(s); baseline is for a database that has none"
    [[ $(query_value "SELECT to_regclass('public.schema_baseline') IS NULL") == t ]] ||
        die "$EXIT_REFUSED" "public.schema_baseline already records a baseline; drop it first if it is stale"
    script=$(mktemp)
    {
        lock_preamble
        echo 'BEGIN;'
        baseline_record
        for version in "${versions[@]}"; do
            [[ $version > $baseline_version ]] && break
            count=$((count + 1))
            echo "INSERT INTO public.schema_migrations (version, name, checksum, duration_ms) VALUES ('$version', '${file_name[$version]}', '${file_sum[$version]}', 0);"
        done
        echo 'COMMIT;'
    } >"$script"
    if ((dry_run)); then
        log "dry run: would record $count migration(s) up to $baseline_version as applied"
        rm -f "$script"
        return 0
    fi
    run_locked "$script" || { rm -f "$script"; die "$EXIT_FAILURE" "baseline failed"; }
    rm -f "$script"
    log "recorded $count migration(s) up to $baseline_version as applied without running them"
    log "recorded the adoption in public.schema_baseline: test_db.sh now compares this schema by shape"
}

case $command in
    apply) cmd_apply ;;
    status) cmd_status ;;
    down) cmd_down ;;
    baseline) cmd_baseline ;;
esac

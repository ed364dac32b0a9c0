#!/usr/bin/env bash
# Widen integer id columns to bigint while the database keeps serving. See docs/DATABASE.md.
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    cat <<'USAGE'
Usage: widen_ids.sh [--batch-rows N] [--vacuum-every N] [--dry-run] [TABLE...]

Make the `id` of each TABLE (default: the legacy IHR tables whose ids Django made integer,
public.ihr_hegemony, public.ihr_hegemony_country and public.ihr_atlas_delay) a bigint without
blocking readers or writers for more than a moment. For each table still integer:

  1. add a bigint column id_new, and a trigger copying id into it on every insert (and update of id)
  2. copy id into id_new in batches of --batch-rows rows (default 50000), each its own
     transaction, with a VACUUM of the table every --vacuum-every batches (default 20; 0: never)
  3. build, CONCURRENTLY, a unique index on id_new and a twin of every other index holding id
  4. prove id_new is never NULL (a CHECK added NOT VALID, then validated: writers go on)
  5. swap in one short transaction (ACCESS EXCLUSIVE, lock_timeout 5 s, tried up to 10 times):
     drop id and the indexes holding it, rename id_new to id and the twins to the old names,
     make the unique index the primary key, move the sequence (as bigint) and the default.

Stopped at any point, run it again: it resumes. A table whose id is already bigint is skipped.
Refused: a table that is partitioned or inherited (TimescaleDB hypertables too), whose primary
key is not (id), or that a foreign key references.

Options:
  --batch-rows N      ids per backfill transaction (default 50000)
  --vacuum-every N    VACUUM the table after every N batches (default 20; 0 leaves it to autovacuum)
  --dry-run           say what would be done; change nothing
  --database-url URL  the database (default: $DATABASE_URL)
  -h, --help          this help

Exit codes: 0 ok, 1 failure, 2 usage, 3 cannot connect, 5 refused (see above).
USAGE
}

readonly SWAP_TRIES=10
batch_rows=50000 vacuum_every=20 dry_run=0 tables=()
take_common_options "$@"
set -- "${ARGS[@]}"
while (($#)); do
    case $1 in
        --batch-rows | --vacuum-every)
            [[ $# -ge 2 && $2 =~ ^[0-9]+$ ]] || usage_error "$1 needs a whole number"
            if [[ $1 == --batch-rows ]]; then batch_rows=$2; else vacuum_every=$2; fi
            shift
            ;;
        --dry-run) dry_run=1 ;;
        -*) usage_error "unknown argument: $1" ;;
        *)
            [[ $1 =~ ^([a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$ ]] || usage_error "$1: a table is [schema.]name, in lower case"
            tables+=("$1")
            ;;
    esac
    shift
done
((batch_rows > 0)) || usage_error "--batch-rows must be at least 1"
((${#tables[@]})) || tables=(public.ihr_hegemony public.ihr_hegemony_country public.ihr_atlas_delay)
require_database_url
check_connection

# state TABLE: integer, widening (id_new exists), bigint, or a reason to refuse.
state_of() {
    query_value "$(
        cat <<SQL
WITH t AS (SELECT to_regclass($(sql_literal "$1")) AS oid)
SELECT CASE
    WHEN t.oid IS NULL THEN 'refused: no such table'
    WHEN EXISTS (SELECT FROM pg_inherits WHERE inhparent = t.oid OR inhrelid = t.oid)
      OR (SELECT relkind FROM pg_class WHERE oid = t.oid) <> 'r'
        THEN 'refused: partitioned or inherited (a TimescaleDB hypertable?)'
    WHEN EXISTS (SELECT FROM pg_constraint WHERE confrelid = t.oid AND contype = 'f')
        THEN 'refused: a foreign key references it'
    WHEN EXISTS (SELECT FROM pg_attribute WHERE attrelid = t.oid AND attname = 'id_new' AND NOT attisdropped)
        THEN 'widening'
    WHEN (SELECT format_type(atttypid, atttypmod) FROM pg_attribute
          WHERE attrelid = t.oid AND attname = 'id' AND NOT attisdropped) = 'bigint' THEN 'bigint'
    WHEN (SELECT format_type(atttypid, atttypmod) FROM pg_attribute
          WHERE attrelid = t.oid AND attname = 'id' AND NOT attisdropped) IS DISTINCT FROM 'integer'
        THEN 'refused: no integer column id'
    WHEN NOT EXISTS (SELECT FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid
                     WHERE c.conrelid = t.oid AND c.contype = 'p' AND c.conkey = ARRAY[a.attnum] AND a.attname = 'id')
        THEN 'refused: its primary key is not (id)'
    ELSE 'integer'
END
FROM t
SQL
    )"
}

# run_sql TABLE: run the SQL on stdin in one psql session (autocommit), logging what it prints.
run_sql() {
    local table=$1 line
    run_psql -A -t -f - 2>&1 | while IFS= read -r line; do log "$table: ${line#psql:<stdin>:}"; done
}

# The names used while TABLE is widened: trigger and function, unique index, check constraint.
names_of() {
    local base=${1#*.}
    trigger=${base:0:50}_widen_id function=${1%%.*}.${base:0:50}_widen_id
    new_key=${base:0:49}_id_new_key check=${base:0:45}_id_new_not_null
}

# Step 1: the column and the trigger that fills it for new and changed rows.
prepare() {
    local table=$1
    if ! run_sql "$table" <<SQL; then
SET lock_timeout = '5s';
SET client_min_messages = warning;
BEGIN;
ALTER TABLE $table ADD COLUMN IF NOT EXISTS id_new bigint;
CREATE OR REPLACE FUNCTION $function() RETURNS trigger LANGUAGE plpgsql AS \$\$
BEGIN
    NEW.id_new := NEW.id;
    RETURN NEW;
END
\$\$;
DROP TRIGGER IF EXISTS $trigger ON $table;
CREATE TRIGGER $trigger BEFORE INSERT OR UPDATE OF id ON $table FOR EACH ROW EXECUTE FUNCTION $function();
COMMIT;
SQL
        die "$EXIT_FAILURE" "$table: could not add id_new and its trigger (see above); run widen_ids.sh again"
    fi
}

# Step 2: copy id into id_new for the rows that were there before the trigger, a batch at a time.
backfill() {
    local table=$1 low high from batches=0 began progress_every
    read -r low high < <(query_value "SELECT min(id), max(id) FROM $table" | tr '|' ' ')
    if [[ -z $low ]]; then
        log "$table: empty, nothing to copy"
        return 0
    fi
    began=$(now_ms)
    log "$table: copying ids $low..$high into id_new, $batch_rows per transaction"
    progress_every=$((vacuum_every > 0 ? vacuum_every : 20))
    if ! for ((from = low; from <= high; from += batch_rows)); do
        echo "UPDATE $table SET id_new = id WHERE id >= $from AND id < $((from + batch_rows)) AND id_new IS NULL;"
        batches=$((batches + 1))
        if ((vacuum_every > 0 && batches % vacuum_every == 0)); then echo "VACUUM $table;"; fi
        if ((batches % progress_every == 0)); then
            printf '\\echo copied ids up to %s (%s batches)\n' "$((from + batch_rows - 1))" "$batches"
        fi
    done | run_sql "$table"; then
        die "$EXIT_FAILURE" "$table: copying the ids failed (see above); run widen_ids.sh again to resume"
    fi
    log "$table: copied in $(($(now_ms) - began)) ms"
}

# The indexes of TABLE other than its primary key that hold id, as "name<TAB>twin<TAB>CREATE … (… id_new …)".
id_indexes() {
    query_value "$(
        cat <<SQL
SELECT c.relname, left(c.relname, 57) || '_widen',
       regexp_replace(
           regexp_replace(pg_get_indexdef(i.indexrelid), '^CREATE (UNIQUE )?INDEX \S+ ON ',
                          'CREATE \1INDEX CONCURRENTLY IF NOT EXISTS ' || quote_ident(left(c.relname, 57) || '_widen') || ' ON '),
           '\mid\M', 'id_new', 'g')
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attname = 'id'
WHERE i.indrelid = '$table'::regclass AND NOT i.indisprimary
  AND c.relname NOT LIKE '%\_widen' AND c.relname <> '$new_key'
  AND (a.attnum = ANY (i.indkey::int2[]) OR pg_get_indexdef(i.indexrelid) ~ '\mid\M')
ORDER BY 1
SQL
    )" | tr '|' '\t'
}

# Step 3: the unique index on id_new and the twins, built without blocking writes. An INVALID one
# left by an interrupted build is dropped and built again.
build_indexes() {
    local table=$1 name twin create
    if ! {
        while IFS=$'\t' read -r name twin create; do
            [[ -n $name ]] || continue
            printf '%s\n' "$(drop_invalid "$table" "$twin")" "\\echo building $twin, the twin of $name" "$create;"
        done < <(id_indexes)
        printf '%s\n' "$(drop_invalid "$table" "$new_key")" "\\echo building $new_key" \
            "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS $new_key ON $table (id_new);"
    } | run_sql "$table"; then
        die "$EXIT_FAILURE" "$table: an index build failed (see above); run widen_ids.sh again to resume"
    fi
}

drop_invalid() {
    cat <<SQL
SELECT format('DROP INDEX CONCURRENTLY %s', indexrelid::regclass) FROM pg_index
WHERE indrelid = '$1'::regclass AND NOT indisvalid AND indexrelid = to_regclass('${1%%.*}.$2') \\gexec
SQL
}

# Step 4: id_new is never NULL, proven by a CHECK constraint validated while writers go on.
prove_not_null() {
    local table=$1
    if ! run_sql "$table" <<SQL; then
SET lock_timeout = '5s';
SELECT NOT EXISTS (SELECT FROM pg_constraint WHERE conrelid = '$table'::regclass AND conname = '$check') AS dy_add \\gset
\\if :dy_add
ALTER TABLE $table ADD CONSTRAINT $check CHECK (id_new IS NOT NULL) NOT VALID;
\\endif
ALTER TABLE $table VALIDATE CONSTRAINT $check;
SQL
        die "$EXIT_FAILURE" "$table: could not prove id_new is never NULL (see above); run widen_ids.sh again"
    fi
}

# Step 5: the swap, in one transaction holding ACCESS EXCLUSIVE for as long as catalog changes take.
swap_sql() {
    local table=$1 pkey sequence name twin create
    pkey=$(query_value "SELECT conname FROM pg_constraint WHERE conrelid = '$table'::regclass AND contype = 'p'")
    sequence=$(query_value "SELECT pg_get_serial_sequence('$table', 'id')")
    cat <<SQL
SET lock_timeout = '5s';
BEGIN;
LOCK TABLE $table IN ACCESS EXCLUSIVE MODE;
SELECT clock_timestamp() AS dy_locked \\gset
DROP TRIGGER $trigger ON $table;
DROP FUNCTION $function();
ALTER TABLE $table ALTER COLUMN id_new SET NOT NULL;
ALTER TABLE $table DROP CONSTRAINT $check;
ALTER TABLE $table DROP CONSTRAINT $pkey;
SQL
    if [[ -n $sequence ]]; then
        echo "ALTER TABLE $table ALTER COLUMN id DROP DEFAULT;"
        echo "ALTER SEQUENCE $sequence OWNED BY NONE;"
    fi
    echo "ALTER TABLE $table DROP COLUMN id;"
    echo "ALTER TABLE $table RENAME COLUMN id_new TO id;"
    if [[ -n $sequence ]]; then
        echo "ALTER SEQUENCE $sequence AS bigint OWNED BY $table.id;"
        echo "ALTER TABLE $table ALTER COLUMN id SET DEFAULT nextval('$sequence'::regclass);"
    fi
    echo "ALTER TABLE $table ADD CONSTRAINT $pkey PRIMARY KEY USING INDEX $new_key;"
    while IFS=$'\t' read -r name twin create; do
        [[ -n $name ]] && echo "ALTER INDEX ${table%%.*}.$twin RENAME TO $name;"
    done < <(id_indexes)
    echo "SELECT round(extract(epoch FROM clock_timestamp() - :'dy_locked'::timestamptz) * 1000) AS dy_held_ms \\gset"
    echo "COMMIT;"
    printf '%s\n' '\echo :dy_held_ms'
}

swap() {
    local table=$1 script try held err
    script=$(swap_sql "$table")
    err=$(mktemp)
    for ((try = 1; try <= SWAP_TRIES; try++)); do
        if held=$(run_psql -A -t <<<"$script" 2>"$err"); then
            rm -f "$err"
            log "$table: swapped; the table was locked (ACCESS EXCLUSIVE) for $held ms"
            return 0
        fi
        if ! grep -q 'lock timeout' "$err"; then
            sed 's/^/    /' "$err" >&2
            rm -f "$err"
            die "$EXIT_FAILURE" "$table: the swap failed and was rolled back"
        fi
        log "$table: the swap waited 5 s for other sessions' locks (try $try of $SWAP_TRIES); trying again"
        sleep 1
    done
    rm -f "$err"
    die "$EXIT_FAILURE" "$table: could not take the table's lock for the swap in $SWAP_TRIES tries; run widen_ids.sh again later"
}

for table in "${tables[@]}"; do
    [[ $table == *.* ]] || table=public.$table
    state=$(state_of "$table")
    case $state in
        bigint)
            log "$table: id is bigint already"
            continue
            ;;
        refused:*) die "$EXIT_REFUSED" "$table: ${state#refused: }" ;;
    esac
    names_of "$table"
    if ((dry_run)); then
        log "dry run: $table: id is $state; would widen it ($(query_value "SELECT count(*) FROM $table") rows)"
        continue
    fi
    began=$(now_ms)
    if [[ $state == widening ]]; then log "$table: resuming the widening of id"; else log "$table: widening id to bigint"; fi
    prepare "$table"
    backfill "$table"
    build_indexes "$table"
    prove_not_null "$table"
    swap "$table"
    log "$table: id is bigint (widened in $(($(now_ms) - began)) ms)"
done

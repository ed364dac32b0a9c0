# The shape of a schema, for test_db.sh's check of an adopted database.
#
# Reads a `pg_dump --schema-only` text (comment and SET lines already removed) and prints one line
# per fact about each table, as "schema.table<TAB>fact", with every index, constraint, trigger and
# sequence name left out and the columns in no particular order:
#
#   column NAME TYPE [DEFAULT …] [NOT NULL]     constraint PRIMARY KEY (id)
#   default NAME nextval(sequence)              constraint FOREIGN KEY (asn_id) REFERENCES public.ihr_asn(number) …
#   sequence NAME TYPE                          index CREATE INDEX ON public.t USING btree (timebin)
#   identity NAME GENERATED … (START WITH 1 …)  trigger AFTER UPDATE … ON public.t …
#
# Two schemas with the same tables, built by different tools (Django's migrations, Dockyard's), give
# the same lines. Everything that is not about a table (schemas, functions, views…) is written, in
# dump order, to the file named by `-v rest=FILE`.
#
# Usage: awk -v rest=FILE -f schema_shape.awk DUMP

function emit(table, fact) {
    print table "\t" fact
}

function trim(text) {
    sub(/^[ \t]+/, "", text)
    sub(/[ \t]+$/, "", text)
    return text
}

# Keep a line of the rest, following dollar quotes so that a function body is never read as DDL.
function keep(line,    text, token) {
    print line > rest
    text = line
    while (match(text, /\$[A-Za-z_0-9]*\$/)) {
        token = substr(text, RSTART, RLENGTH)
        if (quote == "") quote = token
        else if (token == quote) quote = ""
        text = substr(text, RSTART + RLENGTH)
    }
}

# ADD CONSTRAINT name DEFINITION;  ->  constraint DEFINITION
function alter_fact(text) {
    text = trim(text)
    sub(/;$/, "", text)
    if (text ~ /^ADD CONSTRAINT [^ ]+ /) {
        sub(/^ADD CONSTRAINT [^ ]+ /, "", text)
        return "constraint " text
    }
    if (text ~ /^ALTER COLUMN [^ ]+ ADD GENERATED /) {
        sub(/^ALTER COLUMN /, "", text)
        sub(/ ADD GENERATED /, " GENERATED ", text)
        sub(/SEQUENCE NAME [^ ]+ /, "", text)
        sub(/\( /, "(", text)
        sub(/ \)$/, ")", text)
        return "identity " text
    }
    return "alter " text
}

BEGIN {
    if (rest == "") rest = "/dev/null"
}

quote != "" { keep($0); next }

mode == "table" {
    if ($0 ~ /^\)/) {
        if ($0 != ");") emit(table, "table " $0)
        mode = ""
        next
    }
    fact = trim($0)
    sub(/,$/, "", fact)
    if (fact ~ /^CONSTRAINT [^ ]+ /) {
        sub(/^CONSTRAINT [^ ]+ /, "", fact)
        emit(table, "constraint " fact)
    } else {
        emit(table, "column " fact)
    }
    next
}

mode == "sequence" {
    if ($0 ~ /^ +AS /) seqtype[sequence] = trim(substr(trim($0), 4))
    if ($0 ~ /;$/) mode = ""
    next
}

mode == "alter" {
    statement = statement " " trim($0)
    if ($0 ~ /;$/) {
        emit(table, alter_fact(statement))
        mode = ""
    }
    next
}

/^CREATE (UNLOGGED )?TABLE [^ ]+ \($/ {
    table = $(NF - 1)
    mode = "table"
    next
}

/^CREATE SEQUENCE [^ ]+/ {
    sequence = $3
    sub(/;$/, "", sequence)
    seqtype[sequence] = "bigint"
    order[++sequences] = sequence
    if ($0 !~ /;$/) mode = "sequence"
    next
}

/^ALTER SEQUENCE [^ ]+ OWNED BY [^ ]+;$/ {
    owner = $6
    sub(/;$/, "", owner)
    column = owner
    sub(/^.*\./, "", column)
    sub(/\.[^.]*$/, "", owner)
    owned_table[$3] = owner
    owned_column[$3] = column
    next
}

/^ALTER TABLE (ONLY )?[^ ]+ ALTER COLUMN [^ ]+ SET DEFAULT .*;$/ {
    table = ($3 == "ONLY") ? $4 : $3
    fact = $0
    sub(/^.* ALTER COLUMN /, "", fact)
    sub(/ SET DEFAULT /, " ", fact)
    sub(/;$/, "", fact)
    gsub(/nextval\('[^']*'::regclass\)/, "nextval(sequence)", fact)
    emit(table, "default " fact)
    next
}

/^ALTER TABLE (ONLY )?[^ ]+/ {
    table = ($3 == "ONLY") ? $4 : $3
    statement = $0
    sub(/^ALTER TABLE (ONLY )?[^ ]+/, "", statement)
    if ($0 ~ /;$/) emit(table, alter_fact(statement))
    else mode = "alter"
    next
}

/^CREATE (UNIQUE )?INDEX [^ ]+ ON (ONLY )?[^ ]+ / {
    table = ($5 == "ONLY") ? $6 : $5
    fact = $0
    sub(/INDEX [^ ]+ ON /, "INDEX ON ", fact)
    sub(/;$/, "", fact)
    emit(table, "index " fact)
    next
}

/^CREATE (CONSTRAINT )?TRIGGER [^ ]+ / {
    fact = $0
    sub(/^CREATE (CONSTRAINT )?TRIGGER [^ ]+ /, "", fact)
    sub(/;$/, "", fact)
    match(fact, / ON [^ ]+/)
    emit(substr(fact, RSTART + 4, RLENGTH - 4), "trigger " fact)
    next
}

/^[ \t]*$/ { next }

{ keep($0) }

END {
    for (i = 1; i <= sequences; i++) {
        sequence = order[i]
        if (sequence in owned_table) {
            emit(owned_table[sequence], "sequence " owned_column[sequence] " " seqtype[sequence])
        } else {
            print "CREATE SEQUENCE " sequence " AS " seqtype[sequence] > rest
        }
    }
}

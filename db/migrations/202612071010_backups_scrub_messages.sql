-- backups: mask the secrets already recorded in error messages (and the alerts quoting them), as
-- dockyard.backups.redaction masks every new one: URL userinfo, password=/pwd=/token=/secret= values,
-- Bearer and Basic credentials. The patterns are those of redaction.py, in PostgreSQL's syntax.
CREATE FUNCTION pg_temp.masked(message text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT regexp_replace(regexp_replace(regexp_replace(message,
        '(\m[A-Za-z][A-Za-z0-9+.-]*://)([^[:space:]''"<>@]*@)+', '\1***@', 'g'),
        '(\m[[:alnum:]_-]*(passw(or)?d|pwd|secret|token|api[_-]?key|access[_-]?key)[[:alnum:]_-]*[''"]?[[:space:]]*[=:][[:space:]]*)'
        '(''([^''\\]|\\.)*''|"([^"\\]|\\.)*"|[^[:space:]&;,''"]+)', '\1***', 'gi'),
        '\m(bearer|basic)([[:space:]]+)[A-Za-z0-9._~+/=-]{6,}', '\1\2***', 'gi')
$$;

UPDATE backups.runs SET error_message = left(pg_temp.masked(error_message), 8000)
WHERE error_message ~* '://|passw|pwd|secret|token|key|bearer|basic'
  AND error_message IS DISTINCT FROM left(pg_temp.masked(error_message), 8000);

UPDATE backups.alerts SET message = pg_temp.masked(message)
WHERE message ~* '://|passw|pwd|secret|token|key|bearer|basic' AND message IS DISTINCT FROM pg_temp.masked(message);

#!/bin/sh
# Wait until a TCP port accepts connections, then optionally run a command. POSIX sh, for containers.
#
#   wait-for.sh host:port [-t SECONDS] [-s|--strict] [-q|--quiet] [-- command [args...]]
#
# Exit codes: 0 the port answered (or the command's own code), 1 timed out (with --strict, or
# with no command), 2 usage error.

usage() {
    cat <<'USAGE'
Usage: wait-for.sh host:port [-t SECONDS] [-s|--strict] [-q|--quiet] [-- command [args...]]

Wait until host:port accepts a TCP connection (checked every second), then run the command.

  -t, --timeout SECONDS  give up after SECONDS (default 15; 0 waits forever)
  -s, --strict           on timeout, exit 1 without running the command
  -q, --quiet            print nothing but errors
  -h, --help             this help

Without --strict the command runs even after a timeout (with a warning), like wait-for-it.
The check uses nc, else bash's /dev/tcp, else python3, whichever exists.
Exit codes: 0 ready (or the command's own exit code), 1 timed out, 2 usage error.
USAGE
}

say() {
    [ "$quiet" -eq 1 ] || printf 'wait-for: %s\n' "$*" >&2
}

fail_usage() {
    printf 'wait-for: %s\n' "$*" >&2
    printf "Run 'wait-for.sh --help' for usage.\n" >&2
    exit 2
}

# port_open HOST PORT: one connection attempt.
port_open() {
    if command -v nc >/dev/null 2>&1; then
        nc -z -w 1 "$1" "$2" >/dev/null 2>&1
    elif command -v bash >/dev/null 2>&1; then
        # /dev/tcp has no timeout of its own; a silently dropping firewall would hang it.
        # shellcheck disable=SC2016 # $1 and $2 expand in the inner bash
        if command -v timeout >/dev/null 2>&1; then
            timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" >/dev/null 2>&1
        else
            bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" >/dev/null 2>&1
        fi
    else
        python3 -c 'import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 1).close()' \
            "$1" "$2" >/dev/null 2>&1
    fi
}

target="" timeout=15 strict=0 quiet=0
while [ $# -gt 0 ]; do
    case $1 in
        -h | --help) usage; exit 0 ;;
        -t | --timeout)
            [ $# -ge 2 ] || fail_usage "$1 needs a number of seconds"
            timeout=$2
            shift 2
            ;;
        --timeout=*) timeout=${1#*=}; shift ;;
        -s | --strict) strict=1; shift ;;
        -q | --quiet) quiet=1; shift ;;
        --) shift; break ;;
        -*) fail_usage "unknown option: $1" ;;
        *)
            [ -z "$target" ] || fail_usage "only one host:port, got '$target' and '$1'"
            target=$1
            shift
            ;;
    esac
done

[ -n "$target" ] || fail_usage "which host:port to wait for?"
host=${target%:*}
port=${target##*:}
case $target in *:*) ;; *) fail_usage "'$target' is not host:port" ;; esac
case $port in '' | *[!0-9]*) fail_usage "'$port' is not a port number" ;; esac
[ -n "$host" ] || fail_usage "'$target' has no host"
case $timeout in '' | *[!0-9]*) fail_usage "timeout '$timeout' is not a whole number of seconds" ;; esac

waited=0
until port_open "$host" "$port"; do
    if [ "$timeout" -gt 0 ] && [ "$waited" -ge "$timeout" ]; then
        printf 'wait-for: timed out after %s s waiting for %s:%s\n' "$timeout" "$host" "$port" >&2
        if [ "$strict" -eq 1 ] || [ $# -eq 0 ]; then
            exit 1
        fi
        say "running the command anyway (no --strict)"
        exec "$@"
    fi
    sleep 1
    waited=$((waited + 1))
done
say "$host:$port is up after ${waited} s"
[ $# -eq 0 ] || exec "$@"
exit 0

#!/bin/sh
# Wait until a TCP port accepts connections, then optionally run a command. POSIX sh (dash, busybox
# ash), for container entry points where bash may be missing.
#
#   wait-for.sh host:port [-t SECONDS] [-s|--strict] [-q|--quiet] [-- command [args...]]
#
# The port is probed with the first of these that exists, each attempt bounded to about a second:
#   1. nc -z      (netcat-openbsd, netcat-traditional, busybox nc with -z)
#   2. python3    (socket.create_connection with a timeout)
#   3. bash       (/dev/tcp is a bash feature, not a file: dash has no such thing, so bash is run
#                  explicitly, under `timeout` when available)
# pg_isready is deliberately not used: it speaks PostgreSQL's protocol, not plain TCP.
#
# Exit codes: 0 the port answered (or, once a command runs, that command's own code), 1 timed out
# (with --strict, or with no command) or no probe tool found, 2 usage error.

usage() {
    cat <<'USAGE'
Usage: wait-for.sh host:port [-t SECONDS] [-s|--strict] [-q|--quiet] [-- command [args...]]

Wait until host:port accepts a TCP connection (tried every second), then exec the command.

  -t, --timeout SECONDS  give up after SECONDS (default 15; 0 waits forever)
  -s, --strict           on timeout, exit 1 without running the command
  -q, --quiet            print nothing but errors
  -h, --help             this help

Without --strict the command runs even after a timeout (with a warning), like wait-for-it.
host may be a name, an IPv4 address or a bracketed IPv6 address ([::1]:5432).
The port is probed with nc -z, else python3, else bash's /dev/tcp, whichever exists first.
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

# pick_probe: the first tool able to test a TCP port, or nothing.
pick_probe() {
    # Some netcats (older busybox builds) have no -z; their help says so.
    if command -v nc >/dev/null 2>&1 && nc -h 2>&1 | grep -q -- '-z'; then
        echo nc
    elif command -v python3 >/dev/null 2>&1; then
        echo python3
    elif command -v bash >/dev/null 2>&1; then
        echo bash
    fi
}

# port_open HOST PORT: one connection attempt with the chosen probe.
port_open() {
    case $probe in
        nc) nc -z -w 1 "$1" "$2" >/dev/null 2>&1 ;;
        python3)
            python3 -c 'import socket, sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 1).close()' \
                "$1" "$2" >/dev/null 2>&1
            ;;
        bash)
            # /dev/tcp has no timeout of its own; a silently dropping firewall would hang it.
            # shellcheck disable=SC2016 # $1 and $2 expand in the inner bash
            if command -v timeout >/dev/null 2>&1; then
                timeout 2 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" >/dev/null 2>&1
            else
                bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" >/dev/null 2>&1
            fi
            ;;
    esac
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
case $target in *:*) ;; *) fail_usage "'$target' is not host:port" ;; esac
host=${target%:*}
port=${target##*:}
case $host in \[*\]) host=${host#\[}; host=${host%\]} ;; esac
[ -n "$host" ] || fail_usage "'$target' has no host"
case $port in '' | *[!0-9]*) fail_usage "'$port' is not a port number" ;; esac
# Strip leading zeros so the shell's arithmetic does not read the port as octal.
while [ "${#port}" -gt 1 ] && [ "${port#0}" != "$port" ]; do port=${port#0}; done
if [ "${#port}" -gt 5 ] || [ "$port" -lt 1 ] || [ "$port" -gt 65535 ]; then
    fail_usage "port $port is not between 1 and 65535"
fi
case $timeout in '' | *[!0-9]*) fail_usage "timeout '$timeout' is not a whole number of seconds" ;; esac
while [ "${#timeout}" -gt 1 ] && [ "${timeout#0}" != "$timeout" ]; do timeout=${timeout#0}; done

probe=$(pick_probe)
if [ -z "$probe" ]; then
    printf 'wait-for: cannot test a TCP port here: install nc (netcat-openbsd) or python3\n' >&2
    exit 1
fi

# As a container's PID 1, sh gets no default signal handling: without these traps `docker stop`
# would wait out its grace period while we poll.
trap 'exit 143' TERM
trap 'exit 130' INT

# Wall-clock deadline (date +%s: GNU, busybox and BSD date all have it), so slow probes count too.
started=$(date +%s)
until port_open "$host" "$port"; do
    waited=$(($(date +%s) - started))
    if [ "$timeout" -gt 0 ] && [ "$waited" -ge "$timeout" ]; then
        printf 'wait-for: timed out after %s s waiting for %s:%s\n' "$timeout" "$host" "$port" >&2
        if [ "$strict" -eq 1 ] || [ $# -eq 0 ]; then
            exit 1
        fi
        say "running the command anyway (no --strict)"
        exec "$@"
    fi
    sleep 1
done
say "$host:$port is up after $(($(date +%s) - started)) s (probe: $probe)"
[ $# -eq 0 ] || exec "$@"
exit 0

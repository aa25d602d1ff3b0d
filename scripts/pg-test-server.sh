#!/usr/bin/env bash
# Starts a throwaway PostgreSQL server on 127.0.0.1 for the test suite and prints its URL.
#
#   eval "$(scripts/pg-test-server.sh start)"   # exports REGIOCAL_TEST_POSTGRES_URL
#   scripts/pg-test-server.sh stop
#
# Uses Debian's PostgreSQL binaries (apt-get install postgresql); installs them if missing and
# running as root. The cluster lives in $PGTEST_DIR (default /tmp/regiocal-pgtest), trusts
# local connections, and is tuned for tests (no fsync): never use it for data you keep.
set -euo pipefail
DIR="${PGTEST_DIR:-/tmp/regiocal-pgtest}"
PORT="${PGTEST_PORT:-55432}"

bindir() {
    local d
    d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
    if [ -z "$d" ]; then
        if [ "$(id -u)" = 0 ]; then
            echo "installing PostgreSQL from Debian packages" >&2
            DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
            d=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
        else
            echo "PostgreSQL is not installed (apt-get install postgresql)" >&2
            exit 1
        fi
    fi
    echo "$d"
}

# Runs a command as the postgres user when we are root (initdb refuses to run as root).
as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

case "${1:-start}" in
start)
    BIN=$(bindir)
    if [ ! -f "$DIR/PG_VERSION" ]; then
        mkdir -p "$DIR"
        [ "$(id -u)" = 0 ] && chown postgres "$DIR"
        as_pg "$BIN/initdb" -D "$DIR" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    if ! as_pg "$BIN/pg_ctl" -D "$DIR" status >/dev/null 2>&1; then
        as_pg "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w -o \
            "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300" \
            start >&2
    fi
    echo "export REGIOCAL_TEST_POSTGRES_URL=postgres://postgres@127.0.0.1:$PORT/postgres"
    ;;
stop)
    BIN=$(bindir)
    as_pg "$BIN/pg_ctl" -D "$DIR" -m fast stop >&2 || true
    ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac

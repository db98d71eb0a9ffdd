#!/usr/bin/env bash
# A throwaway PostgreSQL server for the meta-suite (and CI): 127.0.0.1, a free port, data dir
# under /tmp, fsync off, run as an unprivileged user (the server refuses to run as root).
#
#   eval "$(bash scripts/postgres.sh start)"   # starts it, prints `export META_POSTGRES_URL=...`
#   bash scripts/postgres.sh stop              # stops it and deletes the data dir
#
# META_POSTGRES_URL is a superuser URL; the meta-tests create and drop *_test databases with it.
set -euo pipefail

STATE_DIR="${POSTGRES_STATE_DIR:-/tmp/meta-postgres}"
PG_BIN="${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}"
RUN_AS="${POSTGRES_OS_USER:-postgres}"

as_server_user() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$RUN_AS" -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
    if [ -z "$PG_BIN" ] || [ ! -x "$PG_BIN/pg_ctl" ]; then
        echo "postgres.sh: no PostgreSQL server binaries under /usr/lib/postgresql/*/bin" >&2
        echo "  install them with: apt-get install postgresql" >&2
        exit 1
    fi
    if [ -f "$STATE_DIR/url" ] && as_server_user "$PG_BIN/pg_ctl" -D "$STATE_DIR/data" status >/dev/null 2>&1; then
        echo "export META_POSTGRES_URL=$(cat "$STATE_DIR/url")"
        return
    fi
    if [ "$(id -u)" -eq 0 ] && ! id -u "$RUN_AS" >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin "$RUN_AS"
    fi
    rm -rf "$STATE_DIR"
    mkdir -p "$STATE_DIR"
    if [ "$(id -u)" -eq 0 ]; then
        chown "$RUN_AS" "$STATE_DIR"
    fi
    local port
    port="$(free_port)"
    as_server_user "$PG_BIN/initdb" -D "$STATE_DIR/data" -U postgres --auth=trust \
        --encoding=UTF8 --no-sync >"$STATE_DIR/initdb.log" 2>&1 \
        || { cat "$STATE_DIR/initdb.log" >&2; exit 1; }
    as_server_user "$PG_BIN/pg_ctl" -D "$STATE_DIR/data" -l "$STATE_DIR/server.log" -w -t 60 \
        -o "-h 127.0.0.1 -p $port -k $STATE_DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >/dev/null \
        || { cat "$STATE_DIR/server.log" >&2; exit 1; }
    echo "postgresql://postgres@127.0.0.1:$port/postgres" >"$STATE_DIR/url"
    echo "export META_POSTGRES_URL=$(cat "$STATE_DIR/url")"
}

stop() {
    if [ -d "$STATE_DIR/data" ] && [ -n "$PG_BIN" ]; then
        as_server_user "$PG_BIN/pg_ctl" -D "$STATE_DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$STATE_DIR"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac

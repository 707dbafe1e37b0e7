# Throwaway PostgreSQL cluster for the test suite: installed from Debian's packages when
# missing, started on a free local port as the unprivileged 'postgres' user, removed after.
# Sourced by .ci/run; also usable by hand: `source .ci/postgres.sh; start_postgres`.

pg_bindir() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

install_postgres() {
    if [ -n "$(pg_bindir)" ]; then return 0; fi
    echo "installing PostgreSQL from Debian packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_postgres() {
    install_postgres || return 1
    local bindir; bindir=$(pg_bindir)
    id postgres >/dev/null 2>&1 || useradd --system --home /var/lib/postgresql postgres
    PG_DIR=$(mktemp -d /tmp/poa-pg.XXXXXX)
    chown postgres "$PG_DIR"
    PG_PORT=$(free_port)
    runuser -u postgres -- "$bindir/initdb" -D "$PG_DIR/data" -U postgres --auth=trust \
        -E UTF8 --locale=C.UTF-8 >"$PG_DIR/initdb.log" 2>&1 || { cat "$PG_DIR/initdb.log"; return 1; }
    runuser -u postgres -- "$bindir/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
        -o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
        start >/dev/null || { cat "$PG_DIR/server.log"; return 1; }
    export PG_DIR PG_PORT
    export POA_TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
    export POA_TEST_DATABASE_URL_REDACTED="$POA_TEST_DATABASE_URL"
    # Stop the server whatever happens to the caller.
    trap stop_postgres EXIT
}

stop_postgres() {
    [ -n "${PG_DIR:-}" ] || return 0
    runuser -u postgres -- "$(pg_bindir)/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null 2>&1
    rm -rf "$PG_DIR"
    PG_DIR=
}

#!/usr/bin/env bash
# Start a throw-away PostgreSQL for the test suite and print its conninfo.
#
#   scripts/pg-test-server.sh DIR      # DIR: an empty or missing directory it may own
#   scripts/pg-test-server-stop.sh DIR # stops the server and deletes DIR
#
# The cluster lives entirely in DIR, listens on 127.0.0.1 on a free port, trusts local
# connections and skips fsync: it is for tests only and holds nothing worth keeping.
# When pg_ctl is missing, Debian's `postgresql` package is installed (root only).
# initdb refuses to run as root, so as root the server runs as the `postgres` user
# (created by the package); as any other user it runs as that user.
set -euo pipefail

dir=${1:?usage: $0 DIR}
database=${RECOVERYKIT_TEST_PG_DB:-recoverykit_test}

find_bin() {
    local found
    if command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(readlink -f "$(command -v pg_ctl)")"
        return 0
    fi
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$found" ] && [ -x "$found/pg_ctl" ]; then
        echo "$found"
        return 0
    fi
    return 1
}

if ! bin=$(find_bin); then
    if [ "$(id -u)" -ne 0 ]; then
        echo "pg-test-server: pg_ctl not found; install PostgreSQL (Debian: apt-get install postgresql)" >&2
        exit 1
    fi
    echo "pg-test-server: installing Debian's postgresql package" >&2
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -q --no-install-recommends postgresql >&2; then
        apt-get update -q >&2
        apt-get install -y -q --no-install-recommends postgresql >&2
    fi
    bin=$(find_bin) || { echo "pg-test-server: pg_ctl still missing after install" >&2; exit 1; }
fi

mkdir -p "$dir"
as_owner=()
if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || useradd --system --home-dir "$dir" --shell /bin/sh postgres
    chown postgres: "$dir"
    chmod 700 "$dir"
    as_owner=(runuser -u postgres --)
fi

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

"${as_owner[@]}" "$bin/initdb" --pgdata="$dir/data" --username=postgres --auth=trust \
    --encoding=UTF8 --no-locale >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    exit 1
}
"${as_owner[@]}" "$bin/pg_ctl" --pgdata="$dir/data" --log="$dir/server.log" --wait \
    --options="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir \
-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null || {
    cat "$dir/server.log" >&2
    exit 1
}
echo "$bin" >"$dir/bin"
"$bin/createdb" --host=127.0.0.1 --port="$port" --username=postgres "$database"
echo "postgresql://postgres@127.0.0.1:$port/$database"

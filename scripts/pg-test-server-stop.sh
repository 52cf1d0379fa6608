#!/usr/bin/env bash
# Stop the throw-away PostgreSQL started by scripts/pg-test-server.sh DIR and delete DIR.
set -uo pipefail

dir=${1:?usage: $0 DIR}
if [ -f "$dir/bin" ] && [ -d "$dir/data" ]; then
    bin=$(cat "$dir/bin")
    as_owner=()
    [ "$(id -u)" -eq 0 ] && as_owner=(runuser -u postgres --)
    "${as_owner[@]}" "$bin/pg_ctl" --pgdata="$dir/data" --mode=immediate --wait stop >/dev/null
fi
rm -rf "$dir"

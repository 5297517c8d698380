#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL cluster: initdb into a temporary
# folder (as the `postgres` user when run as root), start it on a free port of
# 127.0.0.1, export LATCHKEY_TEST_POSTGRES_URL, run the command, stop and delete
# the cluster whatever happens.
#   scripts/with-postgres.sh cargo nextest run
set -euo pipefail

pg_bin=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}
if [ ! -x "$pg_bin/initdb" ]; then
  echo "with-postgres: no PostgreSQL server found (set PG_BIN, or apt-get install postgresql)" >&2
  exit 1
fi

dir=$(mktemp -d /tmp/latchkey-pg.XXXXXX)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_pg=()
if [ "$(id -u)" = 0 ]; then
  chown postgres: "$dir"
  as_pg=(runuser -u postgres --)
fi

stop() {
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop EXIT

"${as_pg[@]}" "$pg_bin/initdb" --no-sync -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-instructions >"$dir/initdb.log" 2>&1 ||
  { cat "$dir/initdb.log" >&2; exit 1; }
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
  -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300" start >/dev/null ||
  { cat "$dir/server.log" >&2; exit 1; }
echo "==> PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (throwaway, in $dir)"

export LATCHKEY_TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port"
"$@"

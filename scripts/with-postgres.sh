#!/usr/bin/env bash
# Run a command with TEST_DATABASE_URL pointing at a throwaway PostgreSQL cluster on loopback.
# Installs Debian's postgresql when it is missing; the cluster is removed on exit.
set -euo pipefail

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
if [ -z "$(pg_bin)" ]; then
  $SUDO apt-get update -q
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql
fi
BIN="$(pg_bin)"

DATA="$(mktemp -d /tmp/espace-pg.XXXXXX)"
PORT="${PGPORT_TEST:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
# PostgreSQL refuses to run as root: use the postgres account then.
AS=(); if [ "$(id -u)" = 0 ]; then chown postgres "$DATA"; AS=(runuser -u postgres --); fi

cleanup() {
  "${AS[@]}" "$BIN/pg_ctl" -D "$DATA" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$DATA"
}
trap cleanup EXIT

"${AS[@]}" "$BIN/initdb" -D "$DATA" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
"${AS[@]}" "$BIN/pg_ctl" -D "$DATA" -w -l "$DATA/server.log" \
  -o "-p $PORT -k $DATA -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
"$BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres espace_test

echo "PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT"
TEST_DATABASE_URL="postgresql://postgres@127.0.0.1:$PORT/espace_test" "$@"

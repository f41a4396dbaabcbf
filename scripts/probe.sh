#!/usr/bin/env bash
# The security probes of scripts/probe.py against gunicorn with 4 workers in production
# mode, on a throwaway PostgreSQL cluster (or TEST_DATABASE_URL when set). Exits 1 when a
# probe fails, or unless 100 concurrent redemptions of one code give one success
# (scripts/redeem_race.py).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  exec ./scripts/with-postgres.sh "$0" "$@"
fi

export ESPACE_ENV=production DATABASE_URL="$TEST_DATABASE_URL"
export SECRET_KEY="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
export ESPACE_INSTANCE_DIR="$(mktemp -d /tmp/espace-probe.XXXXXX)"
PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
FLASK=(.venv/bin/flask --app app)

"${FLASK[@]}" init-db >/dev/null
"${FLASK[@]}" seed-demo >/dev/null
LOG="$ESPACE_INSTANCE_DIR/gunicorn.log"  # the JSON request lines, which the probes check
WORKERS=4 BIND="127.0.0.1:$PORT" .venv/bin/gunicorn -c gunicorn.conf.py --log-level warning 'app:create_app()' 2>"$LOG" &
SERVER=$!
# What is not a request line (a warning, a traceback) is shown when the server stops.
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; grep -v "^{" "$LOG" >&2 || true; rm -rf "$ESPACE_INSTANCE_DIR"' EXIT
for _ in $(seq 50); do
  python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$PORT/healthz', timeout=2)" 2>/dev/null && break
  sleep 0.2
done
echo "gunicorn (4 workers, production) on 127.0.0.1:$PORT"
.venv/bin/python scripts/probe.py --log "$LOG" "http://127.0.0.1:$PORT"
.venv/bin/python scripts/redeem_race.py "http://127.0.0.1:$PORT"

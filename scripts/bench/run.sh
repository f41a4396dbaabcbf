#!/usr/bin/env bash
# make bench: the pages of the scale dataset under load on PostgreSQL, against a reference page
# in the same run (SPEC §11). On a throwaway PostgreSQL cluster (or TEST_DATABASE_URL): init-db,
# seed-demo, load-scale, then the app and the reference app under gunicorn (4 workers each,
# gunicorn.conf.py), the 100 concurrent redemptions of one code, 20 concurrent logins and
# signatures (scripts/bench/signatures.py), and wrk against each page (scripts/bench/bench.py),
# which prints the table and writes docs/benchmarks.md.
# BENCH_DURATION (seconds per page, default 10) and BENCH_CONNECTIONS (default 20).
set -euo pipefail
cd "$(dirname "$0")/../.."
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  exec ./scripts/with-postgres.sh "$0" "$@"
fi

WORK="$(mktemp -d /tmp/espace-bench.XXXXXX)"
export ESPACE_ENV=production DATABASE_URL="$TEST_DATABASE_URL" ESPACE_INSTANCE_DIR="$WORK/instance"
export SECRET_KEY="$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
export WORKERS=4
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
APP_PORT="$(free_port)"
REFERENCE_PORT="$(free_port)"
FLASK=(.venv/bin/flask --app app)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

"${FLASK[@]}" init-db >/dev/null
"${FLASK[@]}" seed-demo >/dev/null
echo "load-scale…"
SECONDS=0
"${FLASK[@]}" load-scale | tee "$WORK/scale.txt" | grep -v -i -E "password|secret"
echo "(load-scale: ${SECONDS} s)"
.venv/bin/python scripts/bench/reference_app.py "$WORK/reference.db"

.venv/bin/gunicorn -c gunicorn.conf.py --bind "127.0.0.1:$APP_PORT" 'app:create_app()' 2>"$WORK/app.log" &
PIDS+=($!)
REFERENCE_DB="$WORK/reference.db" .venv/bin/gunicorn -c gunicorn.conf.py --bind "127.0.0.1:$REFERENCE_PORT" \
  --chdir scripts/bench 'reference_app:create_app()' 2>"$WORK/reference.log" &
PIDS+=($!)
for url in "http://127.0.0.1:$APP_PORT/healthz" "http://127.0.0.1:$REFERENCE_PORT/bare"; do
  for _ in $(seq 100); do
    python3 -c "import urllib.request as u; u.urlopen('$url', timeout=2)" 2>/dev/null && break
    sleep 0.2
  done
done
echo "gunicorn: the app on 127.0.0.1:$APP_PORT, the reference on 127.0.0.1:$REFERENCE_PORT (4 workers each)"

.venv/bin/python scripts/redeem_race.py "http://127.0.0.1:$APP_PORT" | tee "$WORK/race.txt"
.venv/bin/python scripts/bench/signatures.py "http://127.0.0.1:$APP_PORT" | tee "$WORK/signatures.txt"
.venv/bin/python scripts/bench/bench.py --app "http://127.0.0.1:$APP_PORT" \
  --reference "http://127.0.0.1:$REFERENCE_PORT" --scale "$WORK/scale.txt" \
  --race "$WORK/race.txt" --signatures "$WORK/signatures.txt" \
  --duration "${BENCH_DURATION:-10}" --connections "${BENCH_CONNECTIONS:-20}" --out docs/benchmarks.md

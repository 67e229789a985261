#!/usr/bin/env bash
# HTTP load test: starts `troth serve --demo` (release build, SQLite, or PostgreSQL
# with --database-url) on loopback and drives it with wrk (installed from Debian if
# missing), each run bounded in time. Prints requests/s, decisions/s and p50/p99.
#
#   benches/load.sh                 # 15 s per run
#   benches/load.sh --short         # 2 s per run (CI)
#   LOAD_SECONDS=30 LOAD_CONNECTIONS=32 benches/load.sh   # connections for the throughput run
#   benches/load.sh --database-url postgres://…
#
# The generator shares the machine (2 cores here) with the server, so the figures
# are a floor for what the server does with a core of its own.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN="${LOAD_SECONDS:-15}"
CONNECTIONS="${LOAD_CONNECTIONS:-16}"
SUBJECTS="${LOAD_SUBJECTS_N:-400}"
DB_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --short) SECONDS_PER_RUN=2; SUBJECTS=50 ;;
    --database-url) DB_ARGS=(--database-url "$2"); shift ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
  shift
done

if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk
fi
command -v curl >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq curl; }

cargo build --release --locked -p troth -q
BIN="${CARGO_TARGET_DIR:-target}/release/troth"

WORK="$(mktemp -d)"
SERVER_PID=""
cleanup() {
  if [ -n "$SERVER_PID" ]; then kill -TERM "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# The per-key rate limit would cap the load generator; lift it for this run only.
TROTH_RATE_LIMIT__PER_SECOND=10000000 TROTH_RATE_LIMIT__BURST=10000000 TROTH_LOG=warn \
  "$BIN" serve --demo --listen 127.0.0.1:0 --data-dir "$WORK/data" "${DB_ARGS[@]}" \
  >"$WORK/server.out" 2>"$WORK/server.err" &
SERVER_PID=$!
for _ in $(seq 1 100); do
  grep -q "admin API key" "$WORK/server.out" 2>/dev/null && break
  sleep 0.1
done
ADDR="$(sed -n 's/^troth is listening on //p' "$WORK/server.out")"
KEY="$(sed -n 's/^ *admin API key: *//p' "$WORK/server.out")"
[ -n "$ADDR" ] && [ -n "$KEY" ] || { cat "$WORK/server.out" "$WORK/server.err" >&2; exit 1; }

# Subjects: half consent to photo-access (allowed decisions), half do not (denied).
: >"$WORK/subjects"
for i in $(seq 1 "$SUBJECTS"); do
  sid="$(curl -fsS -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
        -d '{}' "$ADDR/v1/subjects" | sed -n 's/.*"subject_id":"\([^"]*\)".*/\1/p')"
  echo "$sid" >>"$WORK/subjects"
  if [ $((i % 2)) -eq 0 ]; then
    curl -fsS -o /dev/null -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
      -d "{\"subject\":\"$sid\",\"purpose\":\"photo-access\",\"status\":\"given\"}" "$ADDR/v1/consents"
  fi
done

export LOAD_KEY="$KEY" LOAD_SUBJECTS="$WORK/subjects" LOAD_DIR="$PWD/benches/load"
run() { # name script multiplier connections
  local out
  out="$(wrk -t1 -c"$4" -d"${SECONDS_PER_RUN}s" --latency -s "benches/load/$2" "$ADDR")"
  local rps p50 p99 errors
  rps="$(echo "$out" | sed -n 's/^Requests\/sec: *//p')"
  p50="$(echo "$out" | awk '$1=="50%"{print $2}')"
  p99="$(echo "$out" | awk '$1=="99%"{print $2}')"
  errors="$(echo "$out" | sed -n 's/^non-2xx: *//p')"
  if [ "${errors:-0}" != "0" ] || echo "$out" | grep -q "Socket errors"; then
    echo "$out" >&2
    echo "error: $1 saw failed requests" >&2
    exit 1
  fi
  printf '%-34s %12.0f req/s %14.0f decisions-or-writes/s   p50 %-9s p99 %s\n' \
    "$1" "$rps" "$(awk -v r="$rps" -v m="$3" 'BEGIN { printf "%.0f", r * m }')" "$p50" "$p99"
}

echo "troth load test: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), ${SECONDS_PER_RUN}s per run, $SUBJECTS subjects, store: ${DB_ARGS[1]:-SQLite}"
# wrk is closed-loop: the paced run offers about 10,000 requests/s (1 ms pause between
# requests on each of 14 connections, ≈ 0.7 per connection per ms with the answer time)
# to show latency at that rate; the others show
# the ceiling. Group commit needs many writers in flight, so consents get the most.
run "POST /v1/decisions (paced, 14 conn)" decisions_paced.lua 1 14
run "POST /v1/decisions ($CONNECTIONS conn)" decisions.lua 1 "$CONNECTIONS"
run "POST /v1/decisions/batch (8 conn)" batch.lua 100 8
run "POST /v1/consents (24 conn)" consents.lua 1 24
run "POST /v1/consents (64 conn)" consents.lua 1 64

#!/usr/bin/env bash
# Scale-out load test (#12): N `troth serve` replicas (release build) on one
# PostgreSQL database, each driven by its own wrk with a share of the connections;
# the figures are the sums. Runs 1 replica, then N, on the same database, and prints
# decisions/s and consent writes/s for each, with the connection-pool settings.
#
#   benches/load-replicas.sh                       # 1 vs 3 replicas, 15 s per run
#   benches/load-replicas.sh --short               # 2 s per run (CI)
#   LOAD_REPLICAS=4 LOAD_SECONDS=30 benches/load-replicas.sh
#   benches/load-replicas.sh --database-url postgres://…   # an existing server
#   LOAD_LOG=info LOAD_KEEP_LOGS=/tmp/logs benches/load-replicas.sh   # keep the replicas' logs
#
# Without --database-url a throwaway PostgreSQL cluster is started from
# /usr/lib/postgresql/*/bin in a temporary directory (as the postgres user when run
# as root) and removed afterwards. Everything (server, replicas, wrk) shares this
# machine's cores: with 2 cores more replicas add contention, not capacity. The
# point is to show the replicas stay correct and where the ceiling is.
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_RUN="${LOAD_SECONDS:-15}"
REPLICAS="${LOAD_REPLICAS:-3}"
SUBJECTS="${LOAD_SUBJECTS_N:-400}"
DEC_CONN="${LOAD_CONNECTIONS:-18}"
CONS_CONN="${LOAD_CONSENT_CONNECTIONS:-48}"
DB_URL=""
while [ $# -gt 0 ]; do
  case "$1" in
    --short) SECONDS_PER_RUN=2; SUBJECTS=30 ;;
    --database-url) DB_URL="$2"; shift ;;
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
chmod 755 "$WORK"
PIDS=()
PG_BIN=""
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
stop_replicas() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  PIDS=()
}
cleanup() {
  stop_replicas
  if [ -n "${LOAD_KEEP_LOGS:-}" ]; then
    mkdir -p "$LOAD_KEEP_LOGS" && cp "$WORK"/server*.err "$WORK"/server*.out "$LOAD_KEEP_LOGS"/ 2>/dev/null || true
  fi
  if [ -n "$PG_BIN" ] && [ -f "$WORK/pg/postmaster.pid" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg" -m fast -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

if [ -z "$DB_URL" ]; then
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && PG_BIN=$d; done
  [ -n "$PG_BIN" ] || { echo "error: no PostgreSQL under /usr/lib/postgresql/*/bin (apt-get install postgresql) and no --database-url" >&2; exit 2; }
  mkdir -p "$WORK/pg" "$WORK/run"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$WORK/pg" "$WORK/run"
  as_pg "$PG_BIN/initdb" -D "$WORK/pg" -U postgres --auth=trust -E UTF8 --no-instructions >/dev/null
  PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
  as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg" -l "$WORK/run/pg.log" -w -o \
    "-p $PORT -k $WORK/run -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
  as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres troth
  DB_URL="postgres://postgres@127.0.0.1:$PORT/troth"
fi

# Every replica: same database, same key files (one data directory), own port.
start_replicas() { # count
  : >"$WORK/addrs"
  local i
  for i in $(seq 1 "$1"); do
    TROTH_RATE_LIMIT__PER_SECOND=10000000 TROTH_RATE_LIMIT__BURST=10000000 TROTH_LOG="${LOAD_LOG:-warn}" \
      "$BIN" serve --demo --listen 127.0.0.1:0 --data-dir "$WORK/data" --database-url "$DB_URL" \
      >"$WORK/server$i.out" 2>"$WORK/server.$1.$i.err" &
    PIDS+=($!)
    for _ in $(seq 1 200); do
      grep -q "admin API key" "$WORK/server$i.out" 2>/dev/null && break
      sleep 0.1
    done
    local addr key
    addr="$(sed -n 's/^troth is listening on //p' "$WORK/server$i.out")"
    key="$(sed -n 's/^ *admin API key: *//p' "$WORK/server$i.out")"
    [ -n "$addr" ] && [ -n "$key" ] || { cat "$WORK/server$i.out" "$WORK/server.$1.$i.err" >&2; exit 1; }
    echo "$addr $key" >>"$WORK/addrs"
  done
}

# Subjects (once, through the first replica): half consent to photo-access.
seed() {
  read -r addr key <"$WORK/addrs"
  : >"$WORK/subjects"
  local i sid
  for i in $(seq 1 "$SUBJECTS"); do
    sid="$(curl -fsS -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
          -d '{}' "$addr/v1/subjects" | sed -n 's/.*"subject_id":"\([^"]*\)".*/\1/p')"
    echo "$sid" >>"$WORK/subjects"
    if [ $((i % 2)) -eq 0 ]; then
      curl -fsS -o /dev/null -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
        -d "{\"subject\":\"$sid\",\"purpose\":\"photo-access\",\"status\":\"given\"}" "$addr/v1/consents"
    fi
  done
}

# A replica loads a tenant's decision cache on the tenant's first request: with a
# large ledger (after the consent runs) and three replicas loading at once on two
# cores that takes seconds, longer than wrk's 2 s timeout. Measure the steady state:
# wait until every replica has answered one decision.
warm() {
  local sid addr key
  sid="$(head -n1 "$WORK/subjects")"
  while read -r addr key; do
    curl -fsS -m 120 -o /dev/null -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
      -d "{\"subject\":\"$sid\",\"purpose\":\"photo-access\",\"categories\":[\"photos\"]}" \
      -w "  $addr: first decision (tenant cache loaded) after %{time_total} s\n" "$addr/v1/decisions"
  done <"$WORK/addrs"
}

run() { # name script connections(total) replicas
  local n=$4 per=$(( $3 / $4 )) i=0
  [ "$per" -ge 1 ] || per=1
  # Warm-up, not counted: a replica's first requests load the tenant and build its
  # decision cache, which under full load can take longer than wrk's 2 s timeout.
  while read -r addr key; do
    LOAD_KEY="$key" LOAD_SUBJECTS="$WORK/subjects" LOAD_DIR="$PWD/benches/load" \
      wrk -t1 -c"$per" -d2s -s "benches/load/$2" "$addr" >/dev/null 2>&1 &
  done <"$WORK/addrs"
  wait_wrk "$n"
  while read -r addr key; do
    i=$((i + 1))
    LOAD_KEY="$key" LOAD_SUBJECTS="$WORK/subjects" LOAD_DIR="$PWD/benches/load" \
      wrk -t1 -c"$per" -d"${SECONDS_PER_RUN}s" --latency -s "benches/load/$2" "$addr" \
      >"$WORK/wrk$i.out" 2>&1 &
  done <"$WORK/addrs"
  wait_wrk "$n"
  local total=0 worst_p99="" errors=0 f rps p99
  for i in $(seq 1 "$n"); do
    f="$WORK/wrk$i.out"
    if grep -q "Socket errors" "$f" || [ "$(sed -n 's/^non-2xx: *//p' "$f")" != "0" ]; then
      cat "$f" >&2; errors=1
    fi
    rps="$(sed -n 's/^Requests\/sec: *//p' "$f")"
    p99="$(awk '$1=="99%"{print $2}' "$f")"
    total="$(awk -v a="$total" -v b="$rps" 'BEGIN { printf "%.0f", a + b }')"
    worst_p99="$worst_p99 $p99"
  done
  [ "$errors" = 0 ] || { echo "error: $1 saw failed requests" >&2; exit 1; }
  printf '%-44s %10s/s   p99 per replica:%s\n' "$1 ($n replica(s), $3 conn)" "$total" "$worst_p99"
  # A dropped decision cache (listener lost, policy change) means a tenant reload:
  # a stall. Show how many each replica had so far.
  local drops=""
  while read -r addr key; do
    drops="$drops $(curl -fsS "$addr/metrics" | awk '$1 ~ /^troth_cache_resyncs_total/ {s+=$2} END {print s+0}')"
  done <"$WORK/addrs"
  echo "  decision caches dropped per replica so far:$drops"
}
wait_wrk() { # wait for the wrk jobs only (the replicas are background jobs too)
  while [ "$(jobs -r | grep -c wrk || true)" -gt 0 ]; do sleep 0.2; done
}

echo "troth replica load test: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), ${SECONDS_PER_RUN}s per run"
echo "pools per replica: data 8 connections (writes and reads), keys 4, 1 listener (LISTEN troth_changes)"
echo "PostgreSQL: ${DB_URL#*@}"
start_replicas 1
seed
for n in 1 "$REPLICAS"; do
  if [ "$n" != 1 ]; then stop_replicas; start_replicas "$n"; fi
  warm
  run "POST /v1/decisions" decisions.lua "$DEC_CONN" "$n"
  run "POST /v1/consents" consents.lua "$CONS_CONN" "$n"
done

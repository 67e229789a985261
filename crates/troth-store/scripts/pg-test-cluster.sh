#!/usr/bin/env bash
# The throwaway PostgreSQL server that troth-store's tests start (see src/testing.rs)
# keeps running after the test processes exit, so every test process of a run can
# share it. Run this after the tests to stop it and delete its files.
#
#   crates/troth-store/scripts/pg-test-cluster.sh stop     # stop + remove (default)
#   crates/troth-store/scripts/pg-test-cluster.sh status   # list clusters
set -euo pipefail
cmd=${1:-stop}
shopt -s nullglob

bin=""
for d in /usr/lib/postgresql/*/bin; do bin=$d; done # glob sorts; keep the last
if [ -n "${TROTH_PG_BIN:-}" ]; then bin=$TROTH_PG_BIN; fi

pg_ctl() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$bin/pg_ctl" "$@"; else "$bin/pg_ctl" "$@"; fi
}

dirs=("${TMPDIR:-/tmp}"/troth-pg-test-*)
if [ -n "${TROTH_PG_TEST_DIR:-}" ]; then dirs+=("$TROTH_PG_TEST_DIR"); fi

for base in "${dirs[@]}"; do
  [ -d "$base/data" ] || continue
  case $cmd in
    status)
      echo "$base: port $(cat "$base/port" 2>/dev/null || echo '?')"
      [ -n "$bin" ] && pg_ctl -D "$base/data" status || true
      ;;
    stop)
      if [ -n "$bin" ] && [ -f "$base/data/postmaster.pid" ]; then
        pg_ctl -D "$base/data" -m fast -w stop >/dev/null || true
      fi
      rm -rf "$base"
      echo "stopped and removed $base"
      ;;
    *)
      echo "usage: $0 [stop|status]" >&2
      exit 2
      ;;
  esac
done

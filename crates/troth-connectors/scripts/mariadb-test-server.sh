#!/usr/bin/env bash
# The throwaway MariaDB server that troth-connectors' tests start (see
# src/testing.rs) keeps running after the test processes exit, so every test
# process of a run can share it. Run this after the tests to stop it and delete
# its files.
#
#   crates/troth-connectors/scripts/mariadb-test-server.sh stop     # stop + remove (default)
#   crates/troth-connectors/scripts/mariadb-test-server.sh status   # list servers
set -euo pipefail
cmd=${1:-stop}
shopt -s nullglob

dirs=("${TMPDIR:-/tmp}"/troth-mariadb-test-*)
if [ -n "${TROTH_MARIADB_TEST_DIR:-}" ]; then dirs+=("$TROTH_MARIADB_TEST_DIR"); fi

for base in "${dirs[@]}"; do
  [ -d "$base" ] || continue
  pid=$(cat "$base/mysqld.pid" 2>/dev/null || true)
  case $cmd in
    status)
      echo "$base: port $(cat "$base/port" 2>/dev/null || echo '?') pid ${pid:-?}"
      ;;
    stop)
      if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill "$pid" || true
        for _ in $(seq 1 100); do
          kill -0 "$pid" 2>/dev/null || break
          sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
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

#!/usr/bin/env bash
# The two stores side by side, PostgreSQL on loopback: start-up (opening the store and
# reading totals() and the open requests, what the daemon does before it is ready) with
# 1,000,000 stored requests; observations recorded per second by one exporter with 1,000
# open requests (4 at a time, as max_concurrent_requests), and the CPU that costs the
# exporter's process and the server; the day report over the 1,000,000 requests.
#
#   make bench-tools && bench/store.sh
#   REQUESTS=1000000 ROUNDS=20 REPS=3 bench/store.sh
#
# PostgreSQL 15 runs with its defaults (fsync and synchronous_commit on) in a cluster
# this script creates in a temporary directory and removes; SQLite is the store's own
# settings (WAL, synchronous=NORMAL). Start-up and report are medians of REPS runs, each
# a new process; observations the run of median rate. Results: bench/out/store.md.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build-bench/release/acs-bench-store}
REQUESTS=${REQUESTS:-1000000}
ROUNDS=${ROUNDS:-20}
REPS=${REPS:-3}
PGBIN=/usr/lib/postgresql/15/bin
OUT=bench/out
mkdir -p "$OUT"

[ -x "$BIN" ] || { echo "run: make bench-tools" >&2; exit 1; }
[ -x "$PGBIN/initdb" ] || { echo "PostgreSQL 15 is missing: apt-get install postgresql" >&2; exit 1; }

# The server refuses to run as root: then it runs as Debian's postgres user.
as_server() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

work=$(mktemp -d /tmp/acs-bench-store-XXXXXX)
chmod 755 "$work"
cleanup() {
  as_server "$PGBIN/pg_ctl" -D "$work/data" stop -m fast >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

password=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
echo "$password" > "$work/password"
mkdir "$work/sockets"
[ "$(id -u)" = 0 ] && chown -R postgres:postgres "$work"
as_server "$PGBIN/initdb" -D "$work/data" -U postgres -E UTF8 --locale=C.UTF-8 --auth-local=trust \
  --auth-host=scram-sha-256 --pwfile="$work/password" >"$work/initdb.log"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
as_server "$PGBIN/pg_ctl" -D "$work/data" -l "$work/server.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -k $work/sockets" start >/dev/null
psql_super() { "$PGBIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h "$work/sockets" -p "$port" -U postgres -d postgres -c "$1"; }
psql_super "CREATE ROLE acs_bench LOGIN PASSWORD '$password'"
psql_super "CREATE DATABASE acs_bench OWNER acs_bench"
postmaster=$(head -1 "$work/data/postmaster.pid")

sqlite=(--sqlite "$work/bench.sqlite")
postgres=(--postgres "postgres://acs_bench@127.0.0.1:$port/acs_bench?sslmode=disable" --password-file "$work/password")

field() { tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
repeat() {  # field, command…: the median of REPS runs
  local name=$1; shift
  for _ in $(seq 1 "$REPS"); do "$@" | field "$name"; done | median
}

load=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A seed startup report observe
for store in sqlite postgres; do
  declare -n args=$store
  echo "$store: seeding $REQUESTS requests" >&2
  seed[$store]=$("$BIN" seed "${args[@]}" --requests "$REQUESTS" | field seconds)
  [ "$store" = postgres ] && psql_super "VACUUM ANALYZE" >/dev/null
  echo "$store: start-up, report" >&2
  startup[$store]=$(repeat startup_seconds "$BIN" startup "${args[@]}")
  report[$store]=$(repeat report_seconds "$BIN" report "${args[@]}" --period day)
  echo "$store: observations" >&2
  server=()
  [ "$store" = postgres ] && server=(--server-pid "$postmaster")
  # The run with the median rate of REPS runs (each adds its 1,000 open requests).
  observe[$store]=$(for _ in $(seq 1 "$REPS"); do
      line=$("$BIN" observe "${args[@]}" --open 1000 --rounds "$ROUNDS" --concurrency 4 "${server[@]}")
      echo "$(echo "$line" | field per_second) $line"
    done | sort -g | awk '{a[NR]=$0} END {print a[int((NR+1)/2)]}' | cut -d' ' -f2-)
done

obs() { echo "${observe[$1]}" | field "$2"; }
{
  echo "$(date -u +%F), $(nproc) cores, load average before: $load"
  echo
  echo "| store | seed $REQUESTS requests s | start-up s | report (day) s | observations/s | exporter CPU s | server CPU s | observations |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for store in sqlite postgres; do
    echo "| $store | ${seed[$store]} | ${startup[$store]} | ${report[$store]} | $(obs "$store" per_second) |" \
      "$(obs "$store" process_cpu_seconds) | $(obs "$store" server_cpu_seconds) | $(obs "$store" observations) |"
  done
} | tee "$OUT/store.md"

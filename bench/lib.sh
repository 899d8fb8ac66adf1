# Shared by the bench scripts (sourced): readiness, one wrk run, medians, and an
# exporter started on a seeded store. Only loopback addresses are used. Every server
# and directory started here is in `pids` and `dirs`, removed when the script exits.

OPENMETRICS="application/openmetrics-text; version=1.0.0"

pids=(); dirs=()
cleanup() {  # under set -e its status would become the script's: it always returns 0
  local p d
  for p in "${pids[@]:-}"; do if [ -n "$p" ]; then kill "$p" 2>/dev/null || true; fi; done
  for d in "${dirs[@]:-}"; do if [ -n "$d" ]; then rm -rf "$d"; fi; done
  return 0
}
trap cleanup EXIT

# The reference server (REF_SRC) built into $OUT/mhdserve.
build_reference() {
  gcc -O2 -o "$OUT/mhdserve" "$REF_SRC" $(pkg-config --cflags --libs libmicrohttpd)
}

wait_ready() {  # url, then prints seconds waited
  local start=$(date +%s.%N)
  for _ in $(seq 1 2000); do
    curl -sf -o /dev/null "$1" && { echo "$(date +%s.%N) - $start" | bc; return 0; }
    sleep 0.005
  done
  echo "not ready: $1" >&2; return 1
}

# wrk once; prints "req_per_s p99_ms"
measure() {  # url, gzip(0|1), connections, openmetrics(0|1)
  local header=() report
  [ "$2" = 1 ] && header=(-H "Accept-Encoding: gzip")
  [ "${4:-0}" = 1 ] && header+=(-H "Accept: $OPENMETRICS")
  report=$(wrk -t1 -c"$3" -d"${DURATION}s" --timeout 10s --latency "${header[@]}" "$1") || return 1
  awk '/Requests\/sec/ {rps=$2}
       $1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; p99=v}
       END {if (rps + 0 <= 0 || p99 == "") {print "wrk measured nothing" > "/dev/stderr"; exit 1}; print rps, p99}' <<< "$report"
}

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Seeds a store of `mappings` mappings and `history` stored requests (20 a mapping
# unless given) in a new directory
# and starts `bin` on it, its Adobe URL a closed port; waits until it is ready and its
# first poll cycle (connection refused) has changed the series it changes once.
# Sets STARTED_PID, STARTED_DIR and STARTUP_SECONDS, and adds them to the caller's
# `pids` and `dirs`, which its exit trap cleans up, before waiting.
start_exporter() {  # bin, seed, mappings, port, log file[, history]
  STARTED_DIR=$(mktemp -d); dirs+=("$STARTED_DIR")
  "$2" --dir "$STARTED_DIR" --mappings "$3" --history "${6:-$(($3 * 20))}" --api-url http://127.0.0.1:9 >/dev/null
  "$1" --config.file "$STARTED_DIR/config.yml" --web.listen-address "127.0.0.1:$4" --log.level error \
    >/dev/null 2>"$5" &
  STARTED_PID=$!; pids+=("$STARTED_PID")
  STARTUP_SECONDS=$(wait_ready "http://127.0.0.1:$4/-/ready")
  for _ in $(seq 1 500); do
    curl -s "http://127.0.0.1:$4/metrics" | grep -q '^acs_ingestion_last_poll_timestamp_seconds{.*} 0$' || break
    sleep 0.02
  done
}

# Starts the reference server on `port` serving `body` and its gzip -6 (made here), in
# its `pool 2` mode; sets STARTED_PID and adds it to the caller's `pids`.
start_reference() {  # reference binary, port, body file
  gzip -6 -kf "$3"
  "$1" "$2" "$3" "$3.gz" pool 2 >/dev/null &
  STARTED_PID=$!; pids+=("$STARTED_PID")
  wait_ready "http://127.0.0.1:$2/metrics" >/dev/null
}

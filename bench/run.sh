#!/usr/bin/env bash
# /metrics throughput and p99 at ~1k, ~10k and ~100k series, in text 0.0.4 and
# OpenMetrics, plain and gzip, against the libmicrohttpd reference server
# (../shared/bench/mhd-reference) serving the same bytes of each; start-up time and
# resident memory at each size; start-up with 1M stored requests; the renderer's CPU
# per model change.
#
#   make bench            (builds release, then runs this; about 25 minutes)
#   DURATION=8 REPS=3 CONNS="4 128 256" bench/run.sh
#   BIN=/other/acs-ingestion-exporter SEED=/other/acs-bench-seed bench/run.sh   (another build, same script)
#
# The reference runs in its `pool 2` mode (epoll in a pool of two threads), which the
# reference README names as the one to compare against on this machine kind. Every size
# is measured with 4 connections; the middle size also with each count in CONNS.
#
# Results: bench/out/results.md. Only loopback addresses are used.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
DURATION=${DURATION:-8}
REPS=${REPS:-3}
SIZES=${SIZES:-"15 157 1250"}          # mappings: ~1k, ~10k and ~100k series (~80 each, plus per-tenant series)
CONNS=${CONNS:-"4 128 256"}            # connection counts measured at the middle size
BIG_HISTORY=${BIG_HISTORY:-1000000}
BIN=${BIN:-.build/release/acs-ingestion-exporter}
SEED=${SEED:-.build-bench/release/acs-bench-seed}
REF_SRC=${REF_SRC:-../shared/bench/mhd-reference/mhdserve.c}
OUT=${OUT:-bench/out}
mkdir -p "$OUT"
EXPORTER_PORT=19191
REF_PORT=19093          # the reference serving the text body
REF_OM_PORT=19094       # the reference serving the OpenMetrics body

[ -x "$BIN" ] && [ -x "$SEED" ] || { echo "run: make bench-tools" >&2; exit 1; }
build_reference


results="$OUT/results.md"
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
{
  echo "| series | mode | connections | exporter req/s | reference req/s | ratio | exporter p99 ms | reference p99 ms | p99 ratio |"
  echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
} > "$results.table"
: > "$results.startup"

for mappings in $SIZES; do
  start_exporter "$BIN" "$SEED" "$mappings" $EXPORTER_PORT "$OUT/exporter.log"
  epid=$STARTED_PID; dir=$STARTED_DIR; startup=$STARTUP_SECONDS
  # The reference serves the very bytes the exporter serves in each format (and their
  # gzip -6): text 0.0.4 without an Accept header, OpenMetrics when asked for it.
  curl -s http://127.0.0.1:$EXPORTER_PORT/metrics > "$OUT/body.prom"
  curl -s -H "Accept: $OPENMETRICS" http://127.0.0.1:$EXPORTER_PORT/metrics > "$OUT/body.om"
  series=$(grep -vc '^#' "$OUT/body.prom")
  start_reference "$OUT/mhdserve" $REF_PORT "$OUT/body.prom"; rpid=$STARTED_PID
  start_reference "$OUT/mhdserve" $REF_OM_PORT "$OUT/body.om"; rompid=$STARTED_PID
  conns=4
  [ "$mappings" = "$(echo $SIZES | awk '{print $2}')" ] && conns=$CONNS
  for c in $conns; do
  for om in 0 1; do
  for gz in 0 1; do
    : > "$OUT/e.txt"; : > "$OUT/r.txt"
    ref_port=$([ $om = 1 ] && echo $REF_OM_PORT || echo $REF_PORT)
    for _ in $(seq 1 "$REPS"); do   # interleaved, as the reference README asks
      measure http://127.0.0.1:$EXPORTER_PORT/metrics $gz $c $om >> "$OUT/e.txt"
      measure http://127.0.0.1:$ref_port/metrics $gz $c >> "$OUT/r.txt"
    done
    e_rps=$(awk '{print $1}' "$OUT/e.txt" | median); r_rps=$(awk '{print $1}' "$OUT/r.txt" | median)
    e_p99=$(awk '{print $2}' "$OUT/e.txt" | median); r_p99=$(awk '{print $2}' "$OUT/r.txt" | median)
    mode=$([ $om = 1 ] && echo "OpenMetrics " || echo "text ")$([ $gz = 1 ] && echo gzip || echo plain)
    printf "| %s | %s | %s | %s | %s | %.2f | %s | %s | %.2f |\n" "$series" "$mode" "$c" "$e_rps" "$r_rps" \
      "$(echo "$e_rps / $r_rps" | bc -l)" "$e_p99" "$r_p99" "$(echo "$e_p99 / $r_p99" | bc -l)" >> "$results.table"
  done
  done
  done
  rss_kib=$(awk '/VmRSS/ {print $2}' /proc/$epid/status)
  hwm_kib=$(awk '/VmHWM/ {print $2}' /proc/$epid/status)
  printf "| %s | %s | %.3f s | %.1f MiB | %.1f MiB |\n" "$series" "$((mappings * 20))" "$startup" \
    "$(echo "$rss_kib / 1024" | bc -l)" "$(echo "$hwm_kib / 1024" | bc -l)" >> "$results.startup"
  kill "$epid" "$rpid" "$rompid"; wait "$epid" "$rpid" "$rompid" 2>/dev/null || true
  rm -rf "$dir"
done

# Start-up with a large history.
start_exporter "$BIN" "$SEED" 100 $EXPORTER_PORT "$OUT/exporter.log" "$BIG_HISTORY"
epid=$STARTED_PID; dir=$STARTED_DIR; startup=$STARTUP_SECONDS
series=$(curl -s http://127.0.0.1:$EXPORTER_PORT/metrics | grep -vc '^#')
rss_kib=$(awk '/VmRSS/ {print $2}' /proc/$epid/status)
hwm_kib=$(awk '/VmHWM/ {print $2}' /proc/$epid/status)
printf "| %s | %s | %.3f s | %.1f MiB | %.1f MiB |\n" "$series" "$BIG_HISTORY" "$startup" \
  "$(echo "$rss_kib / 1024" | bc -l)" "$(echo "$hwm_kib / 1024" | bc -l)" >> "$results.startup"
kill "$epid"; wait "$epid" 2>/dev/null || true
rm -rf "$dir"

# The renderer's CPU per model change (a request that ends), when the seeder can tell.
: > "$results.render"
for mappings in $SIZES; do
  "$SEED" render --mappings "$mappings" --changes 50 >> "$results.render" 2>/dev/null || true
done

{
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end;"
  echo "$BIN; wrk -t1 -d${DURATION}s, medians of $REPS interleaved runs; reference in pool 2 mode."
  echo
  cat "$results.table"
  echo
  echo "| series | stored requests | start-up to /-/ready | resident memory after the runs | peak resident memory |"
  echo "| ---: | ---: | ---: | ---: | ---: |"
  cat "$results.startup"
  if [ -s "$results.render" ]; then
    echo
    echo "| mappings | body MiB text / OpenMetrics | gzip MiB text / OpenMetrics | first render ms | ms per change, segmented | the same, text body spliced too | ms per change, whole body |"
    echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    cat "$results.render"
  fi
} > "$results"
rm -f "$results.table" "$results.startup" "$results.render"
cat "$results"

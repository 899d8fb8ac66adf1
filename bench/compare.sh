#!/usr/bin/env bash
# This build against another build (by default the first version), each as a ratio to
# the reference server serving that build's own bytes: /metrics in text 0.0.4, plain and
# gzip, 4 connections, at each size. Every repetition measures the four servers back to
# back (this build, its reference, the other build, its reference), and each row gives
# the median of the per-repetition ratios with their range.
#
#   make bench-compare                    (builds the first version in .build-base; ~15 min)
#   BASE_BIN=… BASE_SEED=… bench/compare.sh
#   SIZES="157" REPS=9 DURATION=5 bench/compare.sh
#
# Why this exists: on two cores shared with wrk, libmicrohttpd's pool of two threads
# sometimes takes all four connections on one thread and sometimes splits them, so one
# server's rate moves by up to 1.5x from run to run; a ratio taken within one repetition,
# over many repetitions, is what can tell two builds apart. Results: bench/out/compare.md.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
DURATION=${DURATION:-5}
REPS=${REPS:-7}
SIZES=${SIZES:-"15 157 1580"}   # mappings: the first version writes ~64 series each (~100k at 1,580), this build ~80
BIN=${BIN:-.build/release/acs-ingestion-exporter}
SEED=${SEED:-.build-bench/release/acs-bench-seed}
BASE_BIN=${BASE_BIN:-.build-base/build/release/acs-ingestion-exporter}
BASE_SEED=${BASE_SEED:-.build-base/build/release/acs-bench-seed}
REF_SRC=${REF_SRC:-../shared/bench/mhd-reference/mhdserve.c}
OUT=${OUT:-bench/out}
mkdir -p "$OUT"
PORT=19191; BASE_PORT=19192; REF_PORT=19093; BASE_REF_PORT=19095

for binary in "$BIN" "$SEED" "$BASE_BIN" "$BASE_SEED"; do
  [ -x "$binary" ] || { echo "missing $binary (make bench-tools; make bench-compare builds the other one)" >&2; exit 1; }
done
build_reference


ratio_stats() {  # column of ratios.txt: prints "median (lowest–highest)"
  awk -v c="$1" '{print $c}' "$OUT/ratios.txt" | sort -g |
    awk '{a[NR]=$1} END {printf "%.2f (%.2f–%.2f)", a[int((NR+1)/2)], a[1], a[NR]}'
}

results="$OUT/compare.md"
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
{
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores; wrk -t1 -c4 -d${DURATION}s; $REPS repetitions;"
  echo "this build: $BIN; other build: $BASE_BIN. Ratios to the reference serving each build's bytes:"
  echo "median of the repetitions (lowest–highest)."
  echo
  echo "| mappings | series this / other | encoding | this build req/s ratio | other build req/s ratio | this build p99 ratio | other build p99 ratio |"
  echo "| ---: | --- | --- | --- | --- | --- | --- |"
} > "$results"

for mappings in $SIZES; do
  start_exporter "$BIN" "$SEED" "$mappings" $PORT "$OUT/exporter.log"
  start_exporter "$BASE_BIN" "$BASE_SEED" "$mappings" $BASE_PORT "$OUT/exporter-base.log"
  curl -s http://127.0.0.1:$PORT/metrics > "$OUT/body.prom"
  curl -s http://127.0.0.1:$BASE_PORT/metrics > "$OUT/body-base.prom"
  start_reference "$OUT/mhdserve" $REF_PORT "$OUT/body.prom"
  start_reference "$OUT/mhdserve" $BASE_REF_PORT "$OUT/body-base.prom"
  series="$(grep -vc '^#' "$OUT/body.prom") / $(grep -vc '^#' "$OUT/body-base.prom")"
  for gz in 0 1; do
    : > "$OUT/ratios.txt"
    for rep in $(seq 1 "$REPS"); do
      # Four servers back to back; each measure prints "req/s p99" or ends the run.
      line=""
      for port in $PORT $REF_PORT $BASE_PORT $BASE_REF_PORT; do
        m=$(measure http://127.0.0.1:$port/metrics $gz 4) || exit 1
        line+="$m "
      done
      # this/reference and other/reference, for req/s and for p99
      awk '{printf "%.4f %.4f %.4f %.4f\n", $1/$3, $5/$7, $2/$4, $6/$8}' <<< "$line" >> "$OUT/ratios.txt"
      echo "  $mappings mappings, gzip=$gz, repetition $rep: $(tail -1 "$OUT/ratios.txt")" >&2
    done
    printf "| %s | %s | %s | %s | %s | %s | %s |\n" "$mappings" "$series" "$([ $gz = 1 ] && echo gzip || echo plain)" \
      "$(ratio_stats 1)" "$(ratio_stats 2)" "$(ratio_stats 3)" "$(ratio_stats 4)" >> "$results"
  done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  for d in "${dirs[@]}"; do rm -rf "$d"; done
  pids=(); dirs=()
done
echo >> "$results"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$results"
cat "$results"

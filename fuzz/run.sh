#!/usr/bin/env bash
# Builds every libFuzzer target with AddressSanitizer and runs each for
# FUZZ_SECONDS (default 60), starting from the committed corpus. Fails on the
# first crash, leak or sanitizer report; the crashing input is left in
# .build-fuzz/artifacts/ (turn it into a regression test, then add it to the corpus).
#   fuzz/run.sh                 # every target
#   fuzz/run.sh fuzz-web-config # one target
set -euo pipefail
cd "$(dirname "$0")"
seconds=${FUZZ_SECONDS:-60}
scratch=${FUZZ_SCRATCH:-../.build-fuzz}
swift build -c debug -Xswiftc -sanitize=fuzzer,address --scratch-path "$scratch" >&2
bin=$(swift build -c debug -Xswiftc -sanitize=fuzzer,address --scratch-path "$scratch" --show-bin-path)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then targets=($(ls Targets)); fi
mkdir -p "$scratch/artifacts" "$scratch/logs"
printf '%-24s %10s %12s %8s %s\n' target seconds executions corpus result
for target in "${targets[@]}"; do
  work="$scratch/corpus/$target"   # new inputs land here; the committed corpus is read only
  mkdir -p "$work"
  log="$scratch/logs/$target.log"
  status=0
  "$bin/$target" "$work" "corpus/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="$scratch/artifacts/$target-" -print_final_stats=1 >"$log" 2>&1 || status=$?
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
  corpus=$(ls "$work" | wc -l)
  if [ "$status" -eq 0 ]; then result=ok; else result="FAILED (see $log)"; fi
  printf '%-24s %10s %12s %8s %s\n' "$target" "$seconds" "$runs" "$corpus" "$result"
  if [ "$status" -ne 0 ]; then tail -40 "$log" >&2; exit "$status"; fi
done

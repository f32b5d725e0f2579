#!/usr/bin/env bash
# Runs the readers' fuzz targets built by scripts/fuzz/build.sh (docs/FUZZING.md).
#
#   scripts/fuzz/run.sh [SECONDS] [TARGET...]              each target for SECONDS (default 20; what CI runs); stops
#                                                          at the first finding and exits 1
#   scripts/fuzz/run.sh --campaign [SECONDS] [TARGET...]   a long campaign: each target for SECONDS (default 3600) at
#                                                          nice 19; a finding is saved and the target goes on
#
# Each target's corpus grows in $FUZZ_BUILD/fuzz/corpus/TARGET (kept between runs), seeded with the shipped files of
# scripts/fuzz/seeds.txt; findings go to $FUZZ_BUILD/fuzz/findings/. Prints executions and coverage per target
# (libFuzzer's stat::number_of_executed_units and its last cov:/ft: line) and writes them to $FUZZ_BUILD/fuzz/summary.tsv.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${FUZZ_BUILD:-.build-fuzz}
out="$build/fuzz"

campaign=0
if [ "${1:-}" = "--campaign" ]; then campaign=1; shift; fi
seconds=20
[ "$campaign" = 1 ] && seconds=3600
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then seconds=$1; shift; fi
targets=("$@")
[ ${#targets[@]} -eq 0 ] && mapfile -t targets < <(awk '!/^#/ && NF { print $1 }' scripts/fuzz/seeds.txt | uniq)

for t in "${targets[@]}"; do
  [ -x "$out/bin/fuzz-$t" ] || { echo "run.sh: no fuzz target '$t' in $out/bin (run scripts/fuzz/build.sh)" >&2; exit 2; }
done

# A slow input is a finding too (issue #19: no input runs unbounded); the limits are generous for a loaded machine.
flags=(-print_final_stats=1 -timeout=30 -rss_limit_mb=3072 -max_len=65536 -len_control=1000)
nice_cmd=()
[ "$campaign" = 1 ] && nice_cmd=(nice -n 19)

mkdir -p "$out/logs" "$out/findings"
summary="$out/summary.tsv"
printf 'target\tseconds\texecutions\texec_per_s\tcov\tft\tcorpus\tfindings\n' > "$summary"
failed=0
for t in "${targets[@]}"; do
  corpus="$out/corpus/$t"
  seeds="$out/seeds/$t"
  rm -rf "$seeds"
  mkdir -p "$corpus" "$seeds"
  while read -r target glob; do
    [ "$target" = "$t" ] || continue
    for f in $glob; do [ -f "$f" ] && cp "$f" "$seeds/"; done
  done < <(awk '!/^#/ && NF' scripts/fuzz/seeds.txt)

  executions=0 findings=0 start=$SECONDS
  log="$out/logs/$t.log"
  : > "$log"
  while :; do
    left=$((seconds - (SECONDS - start)))
    [ "$left" -gt 0 ] || break
    rc=0
    "${nice_cmd[@]}" "$out/bin/fuzz-$t" "${flags[@]}" -max_total_time="$left" -dict="$out/dict/$t.dict" \
      -artifact_prefix="$out/findings/$t-" "$corpus" "$seeds" >> "$log" 2>&1 || rc=$?
    n=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | awk '{ print $2 }')
    # libFuzzer prints its final stats only when it ends cleanly; after a finding, count the last progress line.
    [ "$rc" = 0 ] || n=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#')
    executions=$((executions + ${n:-0}))
    [ "$rc" = 0 ] && break
    findings=$((findings + 1))
    echo "run.sh: $t: finding (exit $rc); see $log and $out/findings/" >&2
    grep -m1 -A12 'ERROR: libFuzzer\|ERROR: AddressSanitizer\|Fatal error\|==ERROR' "$log" | head -20 >&2 || true
    [ "$campaign" = 1 ] || break
    echo "=== restarting after a finding ===" >> "$log.all"
    cat "$log" >> "$log.all"; : > "$log"
  done
  [ -f "$log.all" ] && { cat "$log" >> "$log.all"; mv "$log.all" "$log"; }
  elapsed=$((SECONDS - start))
  cov_line=$(grep -E '(INITED|NEW|pulse|REDUCE|DONE|RELOAD).*cov: ' "$log" | tail -1)
  cov=$(sed -E 's/.*cov: ([0-9]+).*/\1/' <<<"$cov_line")
  ft=$(sed -E 's/.*ft: ([0-9]+).*/\1/' <<<"$cov_line")
  units=$(find "$corpus" -type f | wc -l)
  rate=$((executions / (elapsed > 0 ? elapsed : 1)))
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$elapsed" "$executions" "$rate" "${cov:-?}" "${ft:-?}" "$units" "$findings" >> "$summary"
  printf 'fuzz %-12s %5ss %10s executions %6s/s  cov: %-5s ft: %-6s corpus: %-5s findings: %s\n' \
    "$t" "$elapsed" "$executions" "$rate" "${cov:-?}" "${ft:-?}" "$units" "$findings"
  [ "$findings" = 0 ] || failed=1
done
total=$(awk -F'\t' 'NR > 1 { s += $3 } END { print s + 0 }' "$summary")
echo "fuzz: $total executions over ${#targets[@]} targets; summary in $summary"
exit $failed

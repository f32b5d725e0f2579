#!/usr/bin/env bash
# Runs the readers' fuzz targets built by scripts/fuzz/build.sh (docs/SECURITY.md, Fuzzing).
#
#   scripts/fuzz/run.sh [SECONDS] [TARGET...]             each target once for SECONDS (default 20; what CI runs);
#                                                         stops at the first finding and exits 1
#   scripts/fuzz/run.sh --campaign [SECONDS] [TARGET...]  a long campaign at nice 19: rounds over the targets, each
#                                                         for SECONDS (default 600) a round, until the executions summed
#                                                         over the targets reach FUZZ_CAMPAIGN_EXECUTIONS (default 10
#                                                         million); a finding is saved and the target goes on
#
# Each target's corpus grows in $FUZZ_BUILD/fuzz/corpus/TARGET (kept between runs), seeded with the shipped files of
# scripts/fuzz/seeds.txt; findings go to $FUZZ_BUILD/fuzz/findings/. Prints executions and coverage per target
# (libFuzzer's stat::number_of_executed_units and its last cov:/ft: line); $FUZZ_BUILD/fuzz/summary.tsv has them,
# rewritten after every run of a target.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${FUZZ_BUILD:-.build-fuzz}
out="$build/fuzz"

campaign=0
if [ "${1:-}" = "--campaign" ]; then campaign=1; shift; fi
seconds=20
[ "$campaign" = 1 ] && seconds=600
if [[ "${1:-}" =~ ^[0-9]+$ ]]; then seconds=$1; shift; fi
goal=${FUZZ_CAMPAIGN_EXECUTIONS:-10000000}
targets=("$@")
[ ${#targets[@]} -eq 0 ] && mapfile -t targets < <(awk '!/^#/ && NF { print $1 }' scripts/fuzz/seeds.txt | uniq)

for t in "${targets[@]}"; do
  [ -x "$out/bin/fuzz-$t" ] || { echo "run.sh: no fuzz target '$t' in $out/bin (run scripts/fuzz/build.sh)" >&2; exit 2; }
done

# A slow input is a finding too (issue #19: no input runs unbounded); the limits are generous for a loaded machine.
flags=(-print_final_stats=1 -timeout=30 -rss_limit_mb=3072 -max_len=65536)
# Swift's own crash backtracer would take the trap before libFuzzer, which then saves no input: turn it off.
export SWIFT_BACKTRACE=enable=no
nice_cmd=()
[ "$campaign" = 1 ] && nice_cmd=(nice -n 19)

declare -A executions=() elapsed=() findings=() cov=() ft=()
summary="$out/summary.tsv"
write_summary() {
  printf 'target\tseconds\texecutions\texec_per_s\tcov\tft\tcorpus\tfindings\n' > "$summary.tmp"
  for t in "${targets[@]}"; do
    [ -n "${executions[$t]:-}" ] || continue
    local s=${elapsed[$t]} n=${executions[$t]}
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$s" "$n" $((n / (s > 0 ? s : 1))) "${cov[$t]}" "${ft[$t]}" \
      "$(find "$out/corpus/$t" -type f | wc -l)" "${findings[$t]}" >> "$summary.tmp"
  done
  mv "$summary.tmp" "$summary"
}

# One run of target $1 for $2 seconds; adds to its totals. Returns 1 after a finding (CI stops there).
fuzz_once() {
  local t=$1 budget=$2 corpus="$out/corpus/$t" seeds="$out/seeds/$t" log="$out/logs/$t.log" start=$SECONDS
  mkdir -p "$corpus" "$seeds" "$out/logs" "$out/findings"
  while read -r target glob; do
    [ "$target" = "$t" ] || continue
    for f in $glob; do [ -f "$f" ] && cp "$f" "$seeds/"; done
  done < <(awk '!/^#/ && NF' scripts/fuzz/seeds.txt)
  local found=0 left rc n line
  while left=$((budget - (SECONDS - start))); [ "$left" -gt 0 ]; do
    rc=0
    "${nice_cmd[@]}" "$out/bin/fuzz-$t" "${flags[@]}" -max_total_time="$left" -dict="$out/dict/$t.dict" \
      -artifact_prefix="$out/findings/$t-" "$corpus" "$seeds" > "$log" 2>&1 || rc=$?
    n=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | awk '{ print $2 }' || true)
    # After a finding libFuzzer prints no final stats: count up to its last progress line.
    [ "$rc" = 0 ] || n=$(grep -o '^#[0-9]*' "$log" | tail -1 | tr -d '#' || true)
    executions[$t]=$(( ${executions[$t]:-0} + ${n:-0} ))
    line=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)
    if [ -n "$line" ]; then
      cov[$t]=$(sed -E 's/.*cov: ([0-9]+).*/\1/' <<<"$line")
      ft[$t]=$(sed -E 's/.*ft: ([0-9]+).*/\1/' <<<"$line")
    fi
    [ "$rc" = 0 ] && break
    found=1
    findings[$t]=$(( ${findings[$t]:-0} + 1 ))
    cp "$log" "$out/logs/$t-finding-${findings[$t]}.log"
    echo "run.sh: $t: finding (exit $rc); log: $out/logs/$t-finding-${findings[$t]}.log" >&2
    grep -m1 -A14 'ERROR: libFuzzer\|==ERROR\|Fatal error' "$log" >&2 || true
    [ "$campaign" = 1 ] || break
  done
  elapsed[$t]=$(( ${elapsed[$t]:-0} + SECONDS - start ))
  findings[$t]=${findings[$t]:-0}
  cov[$t]=${cov[$t]:-?}
  ft[$t]=${ft[$t]:-?}
  write_summary
  return $found
}

total() { local s=0 t; for t in "${targets[@]}"; do s=$((s + ${executions[$t]:-0})); done; echo $s; }

failed=0 round=0
while :; do
  round=$((round + 1))
  for t in "${targets[@]}"; do
    fuzz_once "$t" "$seconds" || failed=1
    [ "$campaign" = 1 ] && echo "campaign round $round: $t done; $(total) executions in all ($(date -u +%H:%M:%S))"
    [ "$campaign" = 0 ] && [ "$failed" = 1 ] && break
  done
  [ "$campaign" = 1 ] && [ "$(total)" -lt "$goal" ] || break
done

awk -F'\t' 'NR > 1 { printf "fuzz %-12s %6ss %11s executions %6s/s  cov: %-5s ft: %-6s corpus: %-5s findings: %s\n", $1, $2, $3, $4, $5, $6, $7, $8 }' "$summary"
echo "fuzz: $(total) executions over ${#targets[@]} targets; summary in $summary"
exit $failed

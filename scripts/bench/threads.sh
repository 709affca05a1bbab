#!/usr/bin/env bash
# Speed-up with cores: `plan -t split_name` and `convert` on the same
# generated export with --threads 1 and --threads 2 (or the counts given),
# alternating, RUNS runs each; prints each run, the medians and the
# speed-up of the last count over the first.
#
#   scripts/bench/threads.sh [ITEMS] [RUNS] [THREADS...]
#
# Needs a release build (cargo build --release).
set -euo pipefail
items=${1:-2000000}
runs=${2:-3}
shift $(($# > 2 ? 2 : $#))
counts=("${@:-1}")
[ $# -gt 0 ] || counts=(1 2)
# shellcheck source=scripts/bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
declare -A walls
for r in $(seq "$runs"); do
  for t in "${counts[@]}"; do
    rm -rf "$out/plan" "$out/parquet"
    line=$(run "plan-$t" "$bin" --threads "$t" plan -q -t split_name "$data" --out "$out/plan")
    echo "run $r: $line"
    walls[plan-$t]+="$(awk '{print $2}' <<<"$line") "
    line=$(run "convert-$t" "$bin" --threads "$t" convert -q "$data" --to "$out/parquet")
    echo "run $r: $line"
    walls[convert-$t]+="$(awk '{print $2}' <<<"$line") "
  done
done
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{a[NR]=$1} END{print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
first=${counts[0]}; last=${counts[-1]}
for job in plan convert; do
  for t in "${counts[@]}"; do printf '%-8s --threads %-3s median %7.2f s (%s)\n' "$job" "$t" "$(median "${walls[$job-$t]}")" "${walls[$job-$t]% }"; done
  awk -v a="$(median "${walls[$job-$first]}")" -v b="$(median "${walls[$job-$last]}")" -v j="$job" -v f="$first" -v l="$last" \
    'BEGIN{printf "%-8s speed-up from %s to %s threads: %.2fx\n", j, f, l, a/b}'
done

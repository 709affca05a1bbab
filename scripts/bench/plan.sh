#!/usr/bin/env bash
# Planning against reading: the same generated export, the same run. Prints
# wall time, CPU time and peak RSS of `sql` (read and answer one question)
# and of `plan -t RECIPE` (read, plan every row, build the after-state, run
# the checks before and after, write the plan), with the plan's size.
#
#   scripts/bench/plan.sh [ITEMS] [RECIPE]
#
# Needs a release build (cargo build --release).
set -euo pipefail
items=${1:-2000000}
recipe=${2:-split_name}
target=${CARGO_TARGET_DIR:-$HOME/.cache/ddbsnap-target}
bin=$target/release/ddbsnap
data=${DDBSNAP_BENCH_DATA:-$HOME/.cache/ddbsnap-bench}/contacts-$items
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
if [ ! -f "$data/ddbsnap-generate.json" ]; then
  echo "generating $items items into $data" >&2
  rm -rf "$data"
  "$bin" generate --out "$data" --items "$items" --files 8 --seed 7 --drift-rate 0.001 >/dev/null
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
run() { # label, command...
  local label=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$out/time" "$@" > "$out/stdout" 2> "$out/stderr" || { cat "$out/stderr" >&2; exit 1; }
  read -r wall user sys rss < "$out/time"
  printf '%-6s %7.2f s wall %7.2f CPU-s %6d MB peak\n' "$label" "$wall" "$(awk "BEGIN{print $user + $sys}")" $((rss / 1024))
}
run read "$bin" sql -q -e "$data" "SELECT count(*) FROM Contact WHERE name IS NULL"
run plan "$bin" plan -q -t "$recipe" "$data" --out "$out/plan"
head -6 "$out/stdout"
du -sh "$out/plan" | awk '{print "plan size: " $1}'

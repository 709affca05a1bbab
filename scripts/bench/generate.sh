#!/usr/bin/env bash
# Generating throughput: `generate --amplify testdata/models/shop.json` (three
# models: Company, Contact with every scalar kind and a nested custom type,
# Note) with ITEMS items per model, on 1 and then 2 threads. Prints items/s
# (items of all models' full exports over wall time), wall time, CPU time,
# peak RSS and the bytes written.
#
#   scripts/bench/generate.sh [ITEMS] [FORMAT]
#
# Needs a release build (cargo build --release). Writes into a temporary
# folder (DDBSNAP_BENCH_TMP, default /tmp) that is removed at the end.
set -euo pipefail
items=${1:-2000000}
format=${2:-json}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
target=${CARGO_TARGET_DIR:-$HOME/.cache/ddbsnap-target}
bin=$target/release/ddbsnap
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
work=$(mktemp -d "${DDBSNAP_BENCH_TMP:-/tmp}/ddbsnap-bench-generate.XXXXXX")
trap 'rm -rf "$work"' EXIT
defects=missing_required=0.001,wrong_type=0.001,dangling_ref=0.001,bad_format=0.001
for threads in 1 2; do
  out=$work/out-$threads
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" \
    "$bin" -q --threads "$threads" generate --amplify "$here/testdata/models/shop.json" --out "$out" \
      --items "$items" --format "$format" --defects "$defects" --seed 3 > "$work/truth.json" 2> "$work/stderr" \
    || { cat "$work/stderr" >&2; exit 1; }
  read -r wall user sys rss < "$work/time"
  total=$(jq '[.models[].full_items] | add' "$work/truth.json")
  bytes=$(du -sb "$out" | cut -f1)
  awk -v t="$threads" -v n="$total" -v w="$wall" -v u="$user" -v s="$sys" -v r="$rss" -v b="$bytes" 'BEGIN {
    printf "threads %d: %d items in %.2f s wall = %.0f items/s, %.2f CPU-s, %d MB peak RSS, %.0f MB written\n",
      t, n, w, n / w, u + s, r / 1024, b / 1e6 }'
  rm -rf "$out"
done

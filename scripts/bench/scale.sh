#!/usr/bin/env bash
# The scale run: generate ITEMS Contact items from a data model, check the
# export directly against the model with --memory-limit (a table estimated
# beyond the limit goes through the Parquet cache: the first check converts,
# the second reuses it), and compare the check's counts with the generator's
# ground truth. Prints each stage's wall time, CPU time and peak RSS; exits
# 1 if a count differs.
#
#   scripts/bench/scale.sh [ITEMS] [MEMORY_LIMIT] [DIR]
#
# ITEMS defaults to 100000000 (about 10 GB of gzip in DIR, default
# $HOME/.cache/ddbsnap-scale, and the cache beside it, kept for reruns: the
# export is generated once). MEMORY_LIMIT (default 4G) is `check
# --memory-limit`. Needs a release build (cargo build --release).
set -euo pipefail
items=${1:-100000000}
limit=${2:-4G}
dir=${3:-$HOME/.cache/ddbsnap-scale}/contacts-$items
here=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
bin=${DDBSNAP_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/ddbsnap-target}/release/ddbsnap}
model=$here/testdata/models/contact-v2.json
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
mkdir -p "$dir"
stage() { # label, command... (stdout to $dir/LABEL.out)
  local label=$1; shift
  /usr/bin/time -f "%e %U %S %M" -o "$dir/$label.time" "$@" > "$dir/$label.out" 2> "$dir/$label.err" \
    || [ "$label" = check ] || { cat "$dir/$label.err" >&2; exit 2; }
  read -r wall user sys rss < <(tail -1 "$dir/$label.time")
  printf '%-9s %8.1f s wall %8.1f CPU-s %7d MB peak\n' "$label" "$wall" "$(awk "BEGIN{print $user + $sys}")" $((rss / 1024))
}
[ -f "$dir/generate.out" ] || stage generate "$bin" -q generate --amplify "$model" --items "Contact=$items" --seed 100 \
  --defects missing_required=0.001,wrong_type=0.001,bad_format=0.001 --out "$dir/export"
rm -rf "$dir/cache"
stage check "$bin" -q check --amplify "$model" "$dir/export" --memory-limit "$limit" --cache-dir "$dir/cache" --format json
[ -d "$dir/cache" ] && echo "check went through the Parquet cache ($(du -sh "$dir/cache" | cut -f1))" || echo "check read the export into memory"
cp "$dir/check.out" "$dir/check-first.out"
stage check "$bin" -q check --amplify "$model" "$dir/export" --memory-limit "$limit" --cache-dir "$dir/cache" --format json
counts() { jq -c '[.checks[] | [.name, .status, .violations]]' "$1"; }  # samples may differ: any violating items
[ "$(counts "$dir/check.out")" = "$(counts "$dir/check-first.out")" ] || { echo "scale.sh: the check from the reused cache differs" >&2; exit 1; }
# Every check counts exactly the defects the generator planted (0 where none).
jq -e --slurpfile truth "$dir/generate.out" '
  ([$truth[0].models[].defects] | add) as $want
  | [.checks[] | select(.violations != ($want[.name] // 0)) | "\(.name): planted \($want[.name] // 0), counted \(.violations)"]
  | if length == 0 then true else (join("\n") + "\n" | halt_error(1)) end' "$dir/check.out" > /dev/null \
  || { echo "scale.sh: the check's counts differ from the ground truth" >&2; exit 1; }
echo "every check counted exactly the planted defects ($(jq '.checks | length' "$dir/check.out") checks)"

#!/usr/bin/env bash
# Profiling against reading: the same generated export, the same run. Prints
# wall time, CPU time and peak RSS of `sql` (read and answer one question)
# and of `profile` (read, then profile every column), with the profile's size.
#
#   scripts/bench/profile.sh [ITEMS] [RUNS]
#
# Needs a release build (cargo build --release); DDBSNAP_BIN overrides the binary.
set -euo pipefail
items=${1:-2000000}
runs=${2:-1}
target=${CARGO_TARGET_DIR:-$HOME/.cache/ddbsnap-target}
bin=${DDBSNAP_BIN:-$target/release/ddbsnap}
data=${DDBSNAP_BENCH_DATA:-$HOME/.cache/ddbsnap-bench}/contacts-$items
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
"$bin" profile --help >/dev/null 2>&1 || { echo "$bin has no profile command: rebuild it" >&2; exit 2; }
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
  printf '%-8s %7.2f s wall %7.2f CPU-s %6d MB peak\n' "$label" "$wall" "$(awk "BEGIN{print $user + $sys}")" $((rss / 1024))
}
for _ in $(seq "$runs"); do
  run read "$bin" sql -q -e "$data" "SELECT count(*) FROM Contact WHERE name IS NULL"
  run profile "$bin" profile -q "$data" --out "$out/profile.json"
done
ls -l "$out/profile.json" | awk '{print "profile size: " $5 " bytes"}'

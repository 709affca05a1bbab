#!/usr/bin/env bash
# The distribution build against the release build: binary size, and the
# whole-process time of reading every item of a generated export and
# counting it (`ddbsnap sql`), alternating the two binaries, RUNS runs each,
# medians printed. Both must give the same answer.
#
#   scripts/bench/dist.sh [ITEMS] [RUNS]
#
# Needs both builds:
#   cargo build --release
#   cargo install --locked --path . --profile dist --root DIR   (or cargo build --profile dist)
# DDBSNAP_DIST_BIN points at the dist binary (default: the target folder's dist/ddbsnap).
set -euo pipefail
items=${1:-1000000}
runs=${2:-5}
target=${CARGO_TARGET_DIR:-$HOME/.cache/ddbsnap-target}
release=$target/release/ddbsnap
dist=${DDBSNAP_DIST_BIN:-$target/dist/ddbsnap}
for b in "$release" "$dist"; do [ -x "$b" ] || { echo "missing $b: build it first (see the header)" >&2; exit 2; }; done
data=${DDBSNAP_BENCH_DATA:-$HOME/.cache/ddbsnap-bench}/contacts-$items
if [ ! -f "$data/ddbsnap-generate.json" ]; then
  echo "generating $items items into $data" >&2
  rm -rf "$data"
  "$release" generate --out "$data" --items "$items" --files 8 --seed 7 --drift-rate 0.001 >/dev/null
fi
sql='SELECT count(*) AS n FROM "Contact"'
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf 'size: release %s MB, dist %s MB\n' "$(( $(stat -c %s "$release") / 1048576 ))" "$(( $(stat -c %s "$dist") / 1048576 ))"
for i in $(seq "$runs"); do
  for kind in release dist; do
    bin=$release; [ "$kind" = dist ] && bin=$dist
    /usr/bin/time -f "%e %M" -o "$out/time" "$bin" sql -e "$data" "$sql" --format csv > "$out/$kind.answer" 2>/dev/null
    read -r wall rss < "$out/time"
    echo "$wall $rss" >> "$out/$kind.times"
    printf 'run %d %-7s %6.2f s %6d MB\n' "$i" "$kind" "$wall" $((rss / 1024))
  done
done
cmp -s "$out/release.answer" "$out/dist.answer" || { echo "the answers differ" >&2; exit 1; }
for kind in release dist; do
  median=$(sort -n "$out/$kind.times" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  printf 'median %-7s %6.2f s (answer %s)\n' "$kind" "$median" "$(tail -1 "$out/$kind.answer")"
done

#!/usr/bin/env bash
# What reading maps and lists as Arrow structs and lists costs (issue 16):
# the whole process reading the generated Contact export and answering one
# count, with maps and lists as structs and lists (the default) and as
# DynamoDB JSON text (DDBSNAP_NESTED=json), alternating, RUNS runs each,
# medians. Then one query on a map field both ways (`address.city` against
# `ddb_get(address, 'city')`), to show what the struct form buys.
#
#   scripts/bench/nested.sh [ITEMS] [RUNS]
#
# With DDBSNAP_BIN_BEFORE=path/to/ddbsnap (a release build from before maps
# became structs, e.g. commit ed9aa84), that binary's read is timed in the
# same alternation, as "read-before".
#
# Needs a release build (cargo build --release).
set -euo pipefail
items=${1:-2000000}
runs=${2:-3}
. "$(dirname "$0")/common.sh"
count='SELECT count(*) FROM Contact'
field_struct="SELECT address.city AS city, count(*) AS n FROM Contact GROUP BY address.city ORDER BY city"
field_text="SELECT ddb_get(address, 'city') AS city, count(*) AS n FROM Contact GROUP BY ddb_get(address, 'city') ORDER BY city"
declare -A walls
time_one() { # label, env value, sql[, binary]
  local label=$1 nested=$2 sql=$3 exe=${4:-$bin}
  DDBSNAP_NESTED=$nested /usr/bin/time -f "%e %M" -o "$out/time" "$exe" -q sql --cache never --format csv -e "$data" "$sql" > "$out/stdout" 2> "$out/stderr" \
    || { cat "$out/stderr" >&2; exit 1; }
  read -r wall rss < "$out/time"
  walls[$label]="${walls[$label]:-} $wall"
  printf '%-14s %6.2f s wall %6d MB peak  answer: %s\n' "$label" "$wall" $((rss / 1024)) "$(tail -n +2 "$out/stdout" | tr '\n' ' ' | cut -c1-60)"
}
before=${DDBSNAP_BIN_BEFORE:-}
for i in $(seq "$runs"); do
  time_one read-struct arrow "$count"
  time_one read-text json "$count"
  [ -z "$before" ] || time_one read-before "" "$count" "$before"
done
for i in $(seq "$runs"); do
  time_one city-struct arrow "$field_struct"
  time_one city-text json "$field_text"
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
echo "medians of $runs runs, $items items, $(nproc) cores:"
for label in read-struct read-text ${before:+read-before} city-struct city-text; do
  printf '  %-14s %6.2f s\n' "$label" "$(echo "${walls[$label]}" | median)"
done
rs=$(echo "${walls[read-struct]}" | median); rt=$(echo "${walls[read-text]}" | median)
awk -v s="$rs" -v t="$rt" 'BEGIN { printf "  structs cost %+.1f%% on the read against text in the same build\n", (s / t - 1) * 100 }'
if [ -n "$before" ]; then
  rb=$(echo "${walls[read-before]}" | median)
  awk -v s="$rs" -v b="$rb" 'BEGIN { printf "  structs cost %+.1f%% on the read against the build before them\n", (s / b - 1) * 100 }'
fi

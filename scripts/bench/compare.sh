#!/usr/bin/env bash
# Side-by-side: ddbsnap vs DuckDB on the same generated export, same machine,
# same run, the two alternating run by run (so that a slow minute of a shared
# machine falls on both). Prints wall time and peak RSS of each whole process
# (medians of RUNS runs) and the answers, which must agree.
#
#   scripts/bench/compare.sh [ITEMS] [RUNS] [DRIFT]
#
# DRIFT is the generator's --drift-rate (default 0.001): the fraction of
# items whose `age` is written as a string instead of a number.
#
# Needs a release build (cargo build --release) and installs DuckDB into a
# virtualenv under the tools cache (DuckDB is no dependency of ddbsnap).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
items=${1:-2000000}
runs=${2:-3}
drift=${3:-0.001}
target=${CARGO_TARGET_DIR:-$HOME/.cache/ddbsnap-target}
bin=${DDBSNAP_BIN:-$target/release/ddbsnap}
tools=${DDBSNAP_TOOLS:-$HOME/.cache/ddbsnap-tools}
data=${DDBSNAP_BENCH_DATA:-$HOME/.cache/ddbsnap-bench}/contacts-$items
[ "$drift" = 0.001 ] || data=$data-drift-$drift
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }

if [ ! -x "$tools/duckdb-venv/bin/python" ]; then
  python3 -m venv "$tools/duckdb-venv"
  "$tools/duckdb-venv/bin/pip" install -q duckdb==2.0.1
fi
if [ ! -f "$data/ddbsnap-generate.json" ]; then
  echo "generating $items items into $data" >&2
  rm -rf "$data"
  "$bin" generate --out "$data" --items "$items" --files 8 --seed 7 --drift-rate "$drift" >/dev/null
fi
export_dir=$(dirname "$(find "$data" -name manifest-summary.json | head -1)")
glob="$export_dir/data/*.json.gz"
du -sb "$export_dir/data" | awk '{printf "export: %s items, %.1f MB compressed\n", '"$items"', $1/1e6}'

# run_once LABEL COMMAND...: one timed run, appended to $out/LABEL.
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
run_once() {
  local label=$1; shift
  sync
  /usr/bin/time -f "%e %M" -o "$out/time" "$@" > "$out/$label.out" 2>"$out/err" || { cat "$out/err" >&2; exit 1; }
  cat "$out/time" >> "$out/$label"
}
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
report() { # label, title
  local mt mr
  mt=$(awk '{print $1}' "$out/$1" | median)
  mr=$(awk '{print $2}' "$out/$1" | median)
  printf '%-28s median %6.2f s  (runs: %s)  peak RSS %6.0f MB  answer: %s\n' "$2" "$mt" "$(awk '{print $1}' "$out/$1" | tr '\n' ' ')" "$((mr / 1024))" "$(tr '\n' ' ' < "$out/$1.out" | cut -c1-80)"
}

[ -x /usr/bin/time ] || apt-get install -y -q time >/dev/null
for _ in $(seq "$runs"); do
  run_once duckdb "$tools/duckdb-venv/bin/python" "$here/scripts/bench/duckdb_job.py" "$glob" --threads 2
  run_once ddbsnap "$bin" -q sql --format csv -e "$data" "SELECT count(*) AS null_names FROM Contact WHERE name IS NULL"
done
report duckdb "duckdb (threads=2)"
report ddbsnap "ddbsnap sql"

#!/usr/bin/env bash
# Side-by-side: ddbsnap vs DuckDB on the same generated export, same machine,
# same run. Prints wall time and peak RSS of each whole process (medians of
# RUNS runs) and the answers, which must agree.
#
#   scripts/bench/compare.sh [ITEMS] [RUNS]
#
# Needs a release build (cargo build --release) and installs DuckDB into a
# virtualenv under the tools cache (DuckDB is no dependency of ddbsnap).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
items=${1:-2000000}
runs=${2:-3}
target=${CARGO_TARGET_DIR:-$HOME/.cache/ddbsnap-target}
bin=$target/release/ddbsnap
tools=${DDBSNAP_TOOLS:-$HOME/.cache/ddbsnap-tools}
data=${DDBSNAP_BENCH_DATA:-$HOME/.cache/ddbsnap-bench}/contacts-$items
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }

if [ ! -x "$tools/duckdb-venv/bin/python" ]; then
  python3 -m venv "$tools/duckdb-venv"
  "$tools/duckdb-venv/bin/pip" install -q duckdb==2.0.1
fi
if [ ! -f "$data/ddbsnap-generate.json" ]; then
  echo "generating $items items into $data" >&2
  rm -rf "$data"
  "$bin" generate --out "$data" --items "$items" --files 8 --seed 7 --drift-rate 0.001 >/dev/null
fi
export_dir=$(dirname "$(find "$data" -name manifest-summary.json | head -1)")
glob="$export_dir/data/*.json.gz"
du -sb "$export_dir/data" | awk '{printf "export: %s items, %.1f MB compressed\n", '"$items"', $1/1e6}'

measure() { # label, command...
  local label=$1; shift
  local times=() rss=()
  for _ in $(seq "$runs"); do
    sync
    /usr/bin/time -f "%e %M" -o /tmp/ddbsnap-bench-time "$@" > /tmp/ddbsnap-bench-out 2>/tmp/ddbsnap-bench-err || { cat /tmp/ddbsnap-bench-err >&2; exit 1; }
    read -r t m < /tmp/ddbsnap-bench-time
    times+=("$t"); rss+=("$m")
  done
  local mt mr
  mt=$(printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
  mr=$(printf '%s\n' "${rss[@]}" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')
  printf '%-28s median %6.2f s  (runs: %s)  peak RSS %6.0f MB  answer: %s\n' "$label" "$mt" "${times[*]}" "$((mr / 1024))" "$(tr '\n' ' ' < /tmp/ddbsnap-bench-out | cut -c1-80)"
}

[ -x /usr/bin/time ] || apt-get install -y -q time >/dev/null
measure "duckdb (threads=2)" "$tools/duckdb-venv/bin/python" "$here/scripts/bench/duckdb_job.py" "$glob" --threads 2
measure "ddbsnap sql" "$bin" -q sql --format csv -e "$data" "SELECT count(*) AS null_names FROM Contact WHERE name IS NULL"

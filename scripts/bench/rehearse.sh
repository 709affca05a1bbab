#!/usr/bin/env bash
# A rehearsal's time and memory at ITEMS items: `rehearse -t split_name`
# of a generated Contact export against DynamoDB Local (started by
# scripts/servers.sh), with peak RSS taken over the rehearsal and every
# process it runs (GNU time reports the largest). Prints each step's time
# and status, the projection, and the peak.
#
#   scripts/bench/rehearse.sh [ITEMS] [EXTRA REHEARSE FLAGS...]
#
# Needs a release build (cargo build --release).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
items=${1:-100000}
shift $(($# > 0 ? 1 : 0))
target=${CARGO_TARGET_DIR:-$HOME/.cache/ddbsnap-target}
bin=${DDBSNAP_BIN:-$target/release/ddbsnap}
[ -x "$bin" ] || { echo "build first: cargo build --release" >&2; exit 2; }
"$here/scripts/servers.sh" start >/dev/null
eval "$("$here/scripts/servers.sh" env)"
data=${DDBSNAP_BENCH_DATA:-$HOME/.cache/ddbsnap-bench}/contacts-rehearse-$items
[ -f "$data/ddbsnap-generate.json" ] || "$bin" generate --out "$data" --items "$items" --files 8 --seed 21 >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
code=0
/usr/bin/time -f "%e %U %S %M" -o "$work/time" "$bin" rehearse "$data" --amplify "$here/testdata/models/contact-v2.json" \
  -t split_name --dynamodb-endpoint-url "$DDBSNAP_TEST_DYNAMODB_ENDPOINT" --work-dir "$work/rh" --table-prefix "bench$$-" \
  --concurrency 16 --load-concurrency 16 --allow-failing-checks --format json -q "$@" > "$work/report.json" 2> "$work/err" || code=$?
[ "$code" -le 1 ] || { cat "$work/err" >&2; exit 2; }
read -r wall user sys rss < <(tail -1 "$work/time")
python3 - "$work/report.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for s in r["steps"]:
    print(f'{s["number"]}. {s["name"]:24} {s["status"]:9} {s["seconds"]:8.1f} s  {s["lines"][0] if s["lines"] else ""}')
p = r["projection"]
print(f'projection: {p["write_units"]} write units, {p["seconds_at_production_rate"]:.1f} s at {p["production_wcu_per_sec"]} WCU/s (computed); '
      f'measured: apply {p["rehearsal_ops_per_sec"]:.0f} operations/s, {p["rehearsal_wcu_per_sec"]:.0f} WCU/s, limited by {p["limited_by"]}')
PY
printf 'rehearsal of %s items: %.1f s wall, %.1f CPU-s (ddbsnap processes), exit %s, peak RSS %d MB (the largest process)\n' \
  "$items" "$wall" "$(awk "BEGIN{print $user + $sys}")" "$code" $((rss / 1024))

#!/usr/bin/env bash
# Apply throughput against DynamoDB Local on loopback, side by side with a
# plain sequential BatchWriteItem loop (examples/batch_write_loop.rs), and
# how closely --max-wcu-per-sec holds its rate.
#
#   scripts/bench/apply.sh [ITEMS] [RATE]
#
# Needs: cargo build --release --features bench-tools
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
items=${1:-20000}
rate=${2:-500}  # below what DynamoDB Local sustains here (about 960 conditional writes/s), so the limit is what is measured
target=${CARGO_TARGET_DIR:-$HOME/.cache/ddbsnap-target}
bin=$target/release/ddbsnap
loop=$target/release/batch_write_loop
[ -x "$bin" ] && [ -x "$loop" ] || { echo "build first: cargo build --release --features bench-tools" >&2; exit 2; }
"$here/scripts/servers.sh" start >/dev/null
eval "$("$here/scripts/servers.sh" env)"
ep=$DDBSNAP_TEST_DYNAMODB_ENDPOINT
data=${DDBSNAP_BENCH_DATA:-$HOME/.cache/ddbsnap-bench}/contacts-apply-$items
[ -f "$data/ddbsnap-generate.json" ] || "$bin" generate --out "$data" --items "$items" --files 4 --seed 5 >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run=$$
sha() { "$bin" plan show "$1" | head -1 | cut -d' ' -f2; }

echo "== $items items, DynamoDB Local at $ep"
printf 'baseline, sequential BatchWriteItem loop: '
"$loop" "$data" "$ep" "Base-$run" --create

"$bin" plan -q -t blue_green_copy "$data" --amplify "$here/testdata/models/contact-v2.json" --out "$work/puts" >/dev/null || true  # exit 1: the new model's checks fail on the generated data
"$bin" plan -q -t split_name "$data" --out "$work/updates" >/dev/null || true
for c in 1 4 16; do
  "$loop" "$data" "$ep" "Put-$c-$run" --create-only
  "$bin" apply "$work/puts" --approve "$(sha "$work/puts")" --dynamodb-endpoint-url "$ep" --table "ContactV2=Put-$c-$run" \
    --allow-failing-checks --concurrency "$c" --format json -q > "$work/r.json"
  rm -f "$work/puts.journal"
  python3 -c "import json;r=json.load(open('$work/r.json'));print(f'PUT (BatchWriteItem), {$c:>2} in flight: {r[\"written\"]} items in {r[\"seconds\"]:.2f} s: {r[\"written\"]/r[\"seconds\"]:.0f} items/s')"
done
for c in 1 4 16; do
  "$loop" "$data" "$ep" "Upd-$c-$run" --create > /dev/null
  "$bin" apply "$work/updates" --approve "$(sha "$work/updates")" --dynamodb-endpoint-url "$ep" --table "Contact=Upd-$c-$run" \
    --concurrency "$c" --format json -q > "$work/r.json"
  rm -f "$work/updates.journal"
  python3 -c "import json;r=json.load(open('$work/r.json'));print(f'conditional UpdateItem, {$c:>2} in flight: {r[\"written\"]} items in {r[\"seconds\"]:.2f} s: {r[\"written\"]/r[\"seconds\"]:.0f} items/s')"
done
"$loop" "$data" "$ep" "Rate-$run" --create > /dev/null
"$bin" apply "$work/updates" --approve "$(sha "$work/updates")" --dynamodb-endpoint-url "$ep" --table "Contact=Rate-$run" \
  --concurrency 16 --max-wcu-per-sec "$rate" --format json -q > "$work/r.json"
python3 -c "
import json
r = json.load(open('$work/r.json'))
planned = json.load(open('$work/updates/plan.json'))['cost']['write_units']
u = r['consumed_write_units'] or planned  # DynamoDB Local may not report consumed capacity
s = r['seconds']
print(f'rate limit {$rate} WCU/s: {u:.0f} write units ({\"consumed\" if r[\"consumed_write_units\"] else \"planned\"}) in {s:.2f} s = {u/s:.0f} WCU/s ({(u/s/$rate-1)*100:+.1f}%)')
"

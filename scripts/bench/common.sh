# Shared by the benchmark scripts that time a job against reading the same
# generated Contact export (plan.sh, profile.sh). Source it after setting
# `items`; it sets `bin`, `data` and a temporary `out`, generates the export
# once under DDBSNAP_BENCH_DATA, and defines `run LABEL COMMAND...`, which
# prints wall time, CPU time and peak RSS (the command's stdout is kept in
# "$out/stdout").
target=${CARGO_TARGET_DIR:-$HOME/.cache/ddbsnap-target}
bin=${DDBSNAP_BIN:-$target/release/ddbsnap}
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
  printf '%-8s %7.2f s wall %7.2f CPU-s %6d MB peak\n' "$label" "$wall" "$(awk "BEGIN{print $user + $sys}")" $((rss / 1024))
}

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
# shellcheck source=scripts/bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
"$bin" profile --help >/dev/null 2>&1 || { echo "$bin has no profile command: rebuild it" >&2; exit 2; }
for _ in $(seq "$runs"); do
  run read "$bin" sql -q -e "$data" "SELECT count(*) FROM Contact WHERE name IS NULL"
  run profile "$bin" profile -q "$data" --out "$out/profile.json"
done
ls -l "$out/profile.json" | awk '{print "profile size: " $5 " bytes"}'

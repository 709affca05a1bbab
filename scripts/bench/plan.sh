#!/usr/bin/env bash
# Planning against reading: the same generated export, the same run. Prints
# wall time, CPU time and peak RSS of `sql` (read and answer one question)
# and of `plan -t RECIPE` (read, plan every row, build the after-state, run
# the checks before and after, write the plan), with the plan's size.
#
#   scripts/bench/plan.sh [ITEMS] [RECIPE]
#
# Needs a release build (cargo build --release).
set -euo pipefail
items=${1:-2000000}
recipe=${2:-split_name}
# shellcheck source=scripts/bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
run read "$bin" sql -q -e "$data" "SELECT count(*) FROM Contact WHERE name IS NULL"
run plan "$bin" plan -q -t "$recipe" "$data" --out "$out/plan"
head -6 "$out/stdout"
du -sh "$out/plan" | awk '{print "plan size: " $1}'

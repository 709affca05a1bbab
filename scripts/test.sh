#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs and starts the local
# servers the tests talk to (moto's S3 and DynamoDB Local, on 127.0.0.1
# only), runs every test, and stops the servers again.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/ddbsnap-target}
scripts/servers.sh start
trap 'scripts/servers.sh stop' EXIT
eval "$(scripts/servers.sh env)"
# Tests that need a server fail (rather than skip) when it is missing.
export DDBSNAP_REQUIRE_SERVERS=1
cargo test --all-targets "$@"

#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs and starts the local
# servers the tests talk to (moto's S3 and DynamoDB Local, on 127.0.0.1
# only), runs every test, and stops the servers again.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/ddbsnap-target}
# The HTML report is tested in a real headless browser: Debian's chromium.
if ! command -v chromium >/dev/null 2>&1; then
  echo "test.sh: installing chromium for the HTML report test" >&2
  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
fi
scripts/servers.sh start
trap 'scripts/servers.sh stop' EXIT
eval "$(scripts/servers.sh env)"
# Tests that need a server or the browser fail (rather than skip) when it is missing.
export DDBSNAP_REQUIRE_SERVERS=1
cargo test --all-targets "$@"

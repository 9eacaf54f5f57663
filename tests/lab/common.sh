# common.sh - sourced by the lab scripts (not run on its own): messages, prerequisites, the state
# directory and stopping a process we started.
#
# Every script names itself in its messages, fails with one line on stderr, and stops only processes
# whose PID it recorded when it started them and that still live in the lab's namespace.

me=${0##*/}

say() { echo "$me: $*"; }
fail() { echo "$me: $*" >&2; exit 1; }

# need PROGRAM PACKAGE: a program this script runs, with the Debian package that provides it.
need() {
    if [[ $1 == /* ]]; then [[ -x $1 ]] && return 0; else command -v "$1" >/dev/null 2>&1 && return 0; fi
    fail "$1 not found: install the Debian package $2 (tests/install-deps.sh installs everything the tests run)"
}

# Where an instance keeps its files; one directory per lab (the tests give each lab its own).
state_root() { echo "${IKE_INTEROP_DIR:-/tmp/ike-interop}"; }

ns_exists() { ip netns list 2>/dev/null | awk '{ print $1 }' | grep -qxF -- "$1"; }

# running PID: true while PID is a live process (a zombie not yet reaped by its parent counts as gone).
running() {
    local state
    [[ $1 =~ ^[0-9]+$ ]] || return 1
    state=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [[ -n $state && $state != Z ]]
}

# in_ns PID NS: PID is one of the processes of namespace NS (guards against a recycled PID).
in_ns() { ip netns pids "$2" 2>/dev/null | grep -qx -- "$1"; }

# end_process PID [SIGNAL]: SIGNAL (TERM by default), up to 5 s to exit, then SIGKILL.
end_process() {
    local pid=$1 signal=${2:-TERM} i
    running "$pid" || return 0
    kill -s "$signal" "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do running "$pid" || return 0; sleep 0.1; done
    kill -s KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do running "$pid" || return 0; sleep 0.1; done
}

# wait_for SECONDS COMMAND...: polls COMMAND every 0.1 s until it succeeds; false on timeout.
wait_for() {
    local tries=$(($1 * 10)) i
    shift
    for ((i = 0; i < tries; i++)); do "$@" && return 0; sleep 0.1; done
    return 1
}

# peer_option OPTION VALUE: the options both peer starters take (strongswan-peer.sh, libreswan-peer.sh). It sets the
# caller's locals of the same names (bash locals are seen by the functions a function calls); false for any other.
peer_option() {
    case $1 in
        --local) local_ip=$2 ;;
        --remote) remote_ip=$2 ;;
        --local-id) local_id=$2 ;;
        --remote-id) remote_id=$2 ;;
        --local-ts) local_ts=$2 ;;
        --remote-ts) remote_ts=$2 ;;
        --psk) psk=$2 ;;
        --ike) ike=$2 ;;
        --esp) esp=$2 ;;
        --ike-lifetime) ike_life=$2 ;;
        --esp-lifetime) esp_life=$2 ;;
        --role) role=$2 ;;
        --name) name=$2 ;;
        --log-level) log_level=$2 ;;
        *) return 1 ;;
    esac
}

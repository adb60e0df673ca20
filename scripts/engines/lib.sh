# scripts/engines/lib.sh: helpers shared by scripts/engines/{podman,docker-tcp,docker-ssh}.
# Sourced, not run. POSIX sh. Everything it prints goes to stderr; the scripts print their one
# `DOCKER_HOST=...` line on stdout themselves.
#
# Environment common to the engine scripts:
#   CAI_ENGINE_IMAGES   images copied from the first engine when the new one lacks them
#                       (space-separated; default containai-test/busybox:latest)
#   CAI_FIRST_ENGINE    the engine they are copied from (default unix:///var/run/docker.sock)
#   CAI_ENGINE_LOG_DIR  where the daemons log (default /var/log)

export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1

CAI_ENGINE_IMAGES=${CAI_ENGINE_IMAGES:-containai-test/busybox:latest}
CAI_FIRST_ENGINE=${CAI_FIRST_ENGINE:-unix:///var/run/docker.sock}
CAI_ENGINE_LOG_DIR=${CAI_ENGINE_LOG_DIR:-/var/log}

say() { printf '%s: %s\n' "$ME" "$*" >&2; }
die() {
    say "ERROR: $*"
    exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }

now() {
    t=$(date +%s.%N)
    case $t in *N*) date +%s ;; *) printf '%s\n' "$t" ;; esac
}
T_START=$(now)
T_PHASE=$T_START
# phase NAME [NOTE]: print the time since the previous phase ended, then start a new one.
phase() {
    t=$(now)
    awk -v a="$T_PHASE" -v b="$t" -v n="$1" -v m="${2:-}" -v me="$ME" \
        'BEGIN { printf "%s: %-8s %6.2fs%s\n", me, n ":", b - a, (m == "" ? "" : "  (" m ")") }' >&2
    T_PHASE=$t
}
total() {
    awk -v a="$T_START" -v b="$(now)" -v me="$ME" 'BEGIN { printf "%s: total:   %6.2fs\n", me, b - a }' >&2
}

need_root() { [ "$(id -u)" -eq 0 ] || die "must run as root"; }

deb_installed() { dpkg-query -W -f '${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }

# apt_install PKG...: install what is missing, without recommends and without starting any
# service (a policy-rc.d that denies starts is put in place for the install when none exists).
apt_install() {
    missing=
    for p in "$@"; do deb_installed "$p" || missing="$missing $p"; done
    [ -n "$missing" ] || return 0
    have apt-get || die "no apt-get; install these yourself:$missing"
    log=$CAI_ENGINE_LOG_DIR/containai-engines-apt.log
    say "apt-get install$missing (log: $log)"
    made_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\n# containai scripts/engines: no service starts during install\nexit 101\n' \
            >/usr/sbin/policy-rc.d
        chmod 0755 /usr/sbin/policy-rc.d
        made_policy=1
    fi
    # shellcheck disable=SC2086
    set -- -y --no-install-recommends -o DPkg::Lock::Timeout=120 install $missing
    rc=0
    if ! apt-get "$@" >>"$log" 2>&1; then
        say "apt-get install failed; running apt-get update and retrying"
        { apt-get -o DPkg::Lock::Timeout=120 update && apt-get "$@"; } >>"$log" 2>&1 || rc=1
    fi
    [ "$made_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
    if [ "$rc" != 0 ]; then
        tail -n 20 "$log" >&2
        die "apt-get install failed (see $log)"
    fi
}

pid_alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null; }

# pid_is PIDFILE COMM: print the pid in PIDFILE when that process lives and is named COMM.
pid_is() {
    p=$(cat "$1" 2>/dev/null || true)
    if pid_alive "$p" && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$2" ]; then
        printf '%s\n' "$p"
    fi
}

# stop_pid PID [SECONDS]: SIGTERM, wait (default 30 s), then SIGKILL.
stop_pid() {
    pid_alive "$1" || return 0
    kill "$1" 2>/dev/null || true
    n=$((${2:-30} * 10))
    i=0
    while pid_alive "$1" && [ "$i" -lt "$n" ]; do
        i=$((i + 1))
        sleep 0.1
    done
    if pid_alive "$1"; then
        say "pid $1 still alive after ${2:-30} s; SIGKILL"
        kill -9 "$1" 2>/dev/null || true
        sleep 0.2
    fi
}

# unix_ping SOCKET: the engine behind SOCKET answers /_ping.
unix_ping() {
    [ -S "$1" ] || return 1
    if have curl; then
        [ "$(curl -s --max-time 3 --unix-socket "$1" http://localhost/_ping 2>/dev/null)" = OK ]
    else
        timeout 5 docker -H "unix://$1" version >/dev/null 2>&1
    fi
}

# wait_until SECONDS PID CMD...: poll CMD every 0.1 s while PID lives (PID may be empty).
wait_until() {
    n=$(($1 * 10))
    p=$2
    shift 2
    i=0
    while ! "$@"; do
        if [ -n "$p" ] && ! pid_alive "$p"; then return 1; fi
        i=$((i + 1))
        [ "$i" -ge "$n" ] && return 1
        sleep 0.1
    done
}

# mount_tmpfs DIR SIZE: a tmpfs on DIR unless one is there already.
mount_tmpfs() {
    mkdir -p "$1"
    if ! mountpoint -q "$1"; then
        mount -t tmpfs -o "size=$2,mode=0711" tmpfs "$1"
        say "mounted a tmpfs ($2) on $1"
    fi
}

# umount_tree DIR: unmount DIR and everything mounted below it (deepest first).
umount_tree() {
    mountpoint -q "$1" || return 0
    findmnt -R -n -l -o TARGET "$1" | sort -r | while read -r m; do
        umount "$m" 2>/dev/null || umount -l "$m" || say "WARNING: cannot unmount $m"
    done
    ! mountpoint -q "$1" || say "WARNING: $1 is still mounted"
}

# copy_images HOST [LOADER...]: copy each image of $CAI_ENGINE_IMAGES missing on HOST from the
# first engine (`docker save | LOADER`, LOADER default `docker -H HOST load`).
copy_images() {
    host=$1
    shift
    copied=
    for img in $CAI_ENGINE_IMAGES; do
        docker -H "$host" image inspect "$img" >/dev/null 2>&1 && continue
        if ! docker -H "$CAI_FIRST_ENGINE" image inspect "$img" >/dev/null 2>&1; then
            say "WARNING: $img is not on the first engine ($CAI_FIRST_ENGINE); not copied"
            say "         (scripts/docker-up builds the containai-test images there)"
            continue
        fi
        if [ $# -gt 0 ]; then
            out=$(docker -H "$CAI_FIRST_ENGINE" save "$img" | "$@" 2>&1) || true
        else
            out=$(docker -H "$CAI_FIRST_ENGINE" save "$img" | docker -H "$host" load 2>&1) || true
        fi
        say "$out"
        docker -H "$host" image inspect "$img" >/dev/null 2>&1 || die "copying $img to $host failed"
        copied="$copied $img"
    done
    [ -z "$copied" ] || phase images "copied$copied"
}

# bridge_up NAME CIDR: a bridge of our own with CIDR (e.g. 172.31.250.1/24) on it.
bridge_up() {
    if ! ip link show "$1" >/dev/null 2>&1; then
        ip link add "$1" type bridge
        say "created bridge $1"
    fi
    ip -4 addr show dev "$1" | grep -q "inet $2 " || ip addr add "$2" dev "$1"
    ip link set "$1" up
}

bridge_down() {
    if ip link show "$1" >/dev/null 2>&1; then
        ip link del "$1" && say "deleted bridge $1"
    fi
}

# start_detached PIDFILE LOG CMD...: run CMD in a session of its own (setsid), from /, with no
# inherited stdin or extra fds, so it survives the caller; PIDFILE gets the pid CMD runs as.
start_detached() {
    pf=$1
    lg=$2
    shift 2
    rm -f "$pf"
    mkdir -p "$(dirname "$lg")"
    # shellcheck disable=SC2016  # $$ and $0 belong to the inner shell
    (cd / && exec setsid sh -c 'echo $$ >"$0"; exec "$@"' "$pf" "$@" \
        </dev/null >>"$lg" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&-) &
    i=0
    while [ ! -s "$pf" ] && [ "$i" -lt 50 ]; do
        i=$((i + 1))
        sleep 0.1
    done
    STARTED_PID=$(cat "$pf" 2>/dev/null || true)
    [ -n "$STARTED_PID" ] || die "could not start $1"
}

# usage_mode "$@": set MODE (for the sourcing script) from the first argument.
# shellcheck disable=SC2034
usage_mode() {
    case ${1:-up} in
    up | down | status) MODE=${1:-up} ;;
    -h | --help)
        sed -n '/^set -eu$/q; 2,$p' "$0" | sed 's/^# \{0,1\}//' >&2
        exit 0
        ;;
    *) die "usage: $0 [up|down|status]" ;;
    esac
}

# Boots a throw-away systemd as PID 1 with this build installed, for system
# tests and tools/demo (sourced). Recipe: SYSTEMD-IN-TESTS.md, pivot_root
# variant: tmpfs + overlay of the host root, `meson install` into it, then
# systemd in private pid/mount/uts/ipc/net namespaces. One boot per test file.
#
#   . tests/system/lib/boot.sh
#   boot_start "$MESON_BUILD_ROOT"     # skips (77) if not root / no systemd
#   sys_exec systemctl start mcrd.socket
#   (cleanup on EXIT is installed by boot_start)
#
# After boot_start: BOOT_DIR (scratch tmpfs), BOOT_ROOT (overlay root),
# BOOT_PID1 (host pid of the container's PID 1), E (the nsenter prefix).

boot_lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
boot_source_root=$(cd "$boot_lib_dir/../../.." && pwd)

BOOT_DIR=
BOOT_ROOT=
BOOT_PID1=
BOOT_UNSHARE_PID=
BOOT_DEADLINE_SEC=${BOOT_DEADLINE_SEC:-120}
boot_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
E=

boot_log() { echo "# boot: $*"; }

# Exit 77 unless this machine can boot the container at all.
boot_require() {
    [[ $(id -u) -eq 0 ]] || skip "system tests need root (namespaces, mounts)"
    local tool
    for tool in unshare nsenter pivot_root setpriv meson systemd-sysusers useradd mountpoint; do
        command -v "$tool" >/dev/null || skip "$tool not installed"
    done
    [[ -x /lib/systemd/systemd ]] || skip "systemd not installed"
    [[ -x /usr/bin/dbus-daemon || -x /usr/bin/dbus-broker ]] || skip "dbus not installed"
    [[ -x /usr/lib/polkit-1/polkitd ]] || skip "polkitd not installed"
}

# D-Bus and polkit only read their files under /usr/share and /etc: a build
# with another prefix would install policy files where nobody looks, so such a
# build skips this tier (77) rather than failing it. tools/test configures
# ./build with --prefix=/usr, so CI always runs it.
boot_require_prefix() {
    local build=$1 prefix
    prefix=$(meson introspect --buildoptions "$build" 2>/dev/null |
        python3 -c 'import json,sys; print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "prefix"))')
    [[ "$prefix" == /usr ]] || skip "$build is configured with prefix '$prefix'; the system tests need" \
        "--prefix=/usr (dbus-daemon and polkitd read only /usr/share and /etc)"
}

# Units of the host image that would change state shared with the host (the
# container shares the kernel, /dev and /sys): global sysctls (kernel.pid_max
# from Debian's 50-pid-max.conf), binfmt_misc, udev events for host devices,
# gettys on the host's consoles. smcroute could forward test multicast with
# the kernel and spoil exact counts. Masked in the overlay only.
boot_masked_units=(
    systemd-sysctl.service systemd-binfmt.service proc-sys-fs-binfmt_misc.automount
    systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket
    systemd-udev-trigger.service systemd-udev-settle.service
    getty@.service serial-getty@.service console-getty.service container-getty@.service
    smcroute.service smcroute-helper.service
)

# Installs the build and the test accounts into the overlay root.
boot_prepare_image() {
    local build=$1 unit
    DESTDIR="$BOOT_ROOT" meson install -C "$build" --no-rebuild --quiet >"$BOOT_DIR/install.log" 2>&1 || {
        cat "$BOOT_DIR/install.log" >&2
        die "meson install into the overlay failed"
    }
    for unit in "${boot_masked_units[@]}"; do
        ln -sf /dev/null "$BOOT_ROOT/etc/systemd/system/$unit"
    done
    # What a package's postinst does: create the accounts from sysusers.d
    # (systemd-sysusers.service only runs at boot when /usr is newer than /etc).
    systemd-sysusers --root="$BOOT_ROOT" >/dev/null
    # alice: unprivileged. bob: operator (group mcr + the example rule).
    useradd --root "$BOOT_ROOT" --no-create-home --shell /bin/sh alice
    useradd --root "$BOOT_ROOT" --no-create-home --shell /bin/sh --groups mcr bob
    install -D -m 0644 "$boot_source_root/polkit/mcrd-operators.rules.example" \
        "$BOOT_ROOT/etc/polkit-1/rules.d/60-mcrd-operators.rules"
}

# The container's PID 1 is the child of the unshare process we started.
boot_find_pid1() {
    local deadline=$((SECONDS + 10)) pid
    while ((SECONDS < deadline)); do
        pid=$(pgrep -P "$BOOT_UNSHARE_PID" | head -n 1)
        if [[ -n "$pid" && "$(cat "/proc/$pid/comm" 2>/dev/null)" == systemd ]]; then
            BOOT_PID1=$pid
            return 0
        fi
        sleep 0.2
    done
    return 1
}

boot_wait_running() {
    local deadline=$((SECONDS + BOOT_DEADLINE_SEC)) state=
    while ((SECONDS < deadline)); do
        state=$($E systemctl is-system-running 2>/dev/null)
        [[ "$state" == running || "$state" == degraded ]] && { boot_log "system is $state"; return 0; }
        sleep 1
    done
    $E systemctl list-jobs --no-pager 2>&1 | head -20 >&2
    die "container did not finish booting within ${BOOT_DEADLINE_SEC}s (state '$state')"
}

# boot_start BUILD_DIR: everything up to a running system; dies on failure
# (log, skip, die: tests/lib/check.sh, sourced first).
# One container at a time on a machine (they share the host's cgroup tree,
# SYSTEMD-IN-TESTS.md): a second test run, e.g. a developer's beside CI's,
# waits for the first instead of disturbing it. The lock is this shell's open
# file: it goes when the test ends, however it ends. The container's systemd
# must not inherit it (it would hold the lock past the test).
boot_lock() {
    exec {boot_lock_fd}>>/run/mcrd-system-tests.lock
    if ! flock -n "$boot_lock_fd"; then
        boot_log "another system test holds /run/mcrd-system-tests.lock; waiting (at most ${BOOT_LOCK_WAIT_SEC:-1800} s)"
        flock -w "${BOOT_LOCK_WAIT_SEC:-1800}" "$boot_lock_fd" ||
            die "another system test kept the container lock for ${BOOT_LOCK_WAIT_SEC:-1800} s"
    fi
}

boot_start() {
    local build=$1
    boot_require
    boot_require_prefix "$build"
    trap boot_cleanup EXIT
    trap 'exit 130' INT TERM
    boot_lock
    BOOT_DIR=$(mktemp -d /tmp/mcrt-boot-$$.XXXXXX)
    mount -t tmpfs -o mode=0755 tmpfs "$BOOT_DIR"
    mkdir -p "$BOOT_DIR"/{up,work,root}
    BOOT_ROOT=$BOOT_DIR/root
    mount -t overlay overlay -o lowerdir=/,upperdir="$BOOT_DIR/up",workdir="$BOOT_DIR/work" "$BOOT_ROOT"
    boot_log "installing $build into $BOOT_ROOT"
    boot_prepare_image "$build"

    boot_log "booting systemd"
    local R=$BOOT_ROOT
    setsid unshare --pid --fork --mount --uts --ipc --net --propagation private sh -c "
      mount --rbind /dev $R/dev && mount --rbind /sys $R/sys && mount -t proc proc $R/proc &&
      mkdir -p $R/.oldroot && cd $R && pivot_root . .oldroot && umount -l /.oldroot &&
      exec env container=other /lib/systemd/systemd --unit=multi-user.target" \
      </dev/null >"$BOOT_DIR/boot.log" 2>&1 {boot_lock_fd}>&- &
    BOOT_UNSHARE_PID=$!
    boot_find_pid1 || { cat "$BOOT_DIR/boot.log" >&2; die "systemd did not start"; }
    # A clean environment: the caller's PATH may point at tools (pyenv shims
    # under /root) that the test users cannot run.
    E="nsenter -t $BOOT_PID1 -m -p -u -i -n -r -w env -i PATH=$boot_path LC_ALL=C.UTF-8"
    boot_wait_running
}

# Power off, wait (bounded) for PID 1 to go, kill it by pid if it does not,
# then unmount the overlay and the scratch tmpfs. Safe to call twice.
boot_cleanup() {
    local rc=$? deadline
    rc=$(check_exit_status "$rc")   # a recorded failed check fails the test
    trap - EXIT
    if [[ -n "$BOOT_PID1" ]] && kill -0 "$BOOT_PID1" 2>/dev/null; then
        # SIGRTMIN+4 asks systemd to power off, even when systemctl cannot run.
        $E systemctl poweroff --no-block >/dev/null 2>&1 || kill -s SIGRTMIN+4 "$BOOT_PID1" 2>/dev/null
        deadline=$((SECONDS + 30))
        while kill -0 "$BOOT_PID1" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.5; done
        if kill -0 "$BOOT_PID1" 2>/dev/null; then
            boot_log "PID 1 ($BOOT_PID1) still there after 30 s; killing it"
            kill -9 "$BOOT_PID1" 2>/dev/null
        fi
    fi
    if [[ -n "$BOOT_UNSHARE_PID" ]]; then
        deadline=$((SECONDS + 10))
        while kill -0 "$BOOT_UNSHARE_PID" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.2; done
        kill -9 "$BOOT_UNSHARE_PID" 2>/dev/null
        wait "$BOOT_UNSHARE_PID" 2>/dev/null
    fi
    if [[ -n "$BOOT_DIR" ]]; then
        mountpoint -q "$BOOT_ROOT" && { umount "$BOOT_ROOT" || umount -l "$BOOT_ROOT"; }
        mountpoint -q "$BOOT_DIR" && { umount "$BOOT_DIR" || umount -l "$BOOT_DIR"; }
        rmdir "$BOOT_DIR" 2>/dev/null
    fi
    BOOT_PID1= BOOT_DIR= BOOT_UNSHARE_PID=
    exit "$rc"
}

. "$boot_lib_dir/system_helpers.sh"
